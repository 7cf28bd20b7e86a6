/**
 * Click tracking end to end in the harness: Touchpoint sends an SMS and an email with Click
 * Tracking on (links replaced by signed redirects through the template's webhook); following the
 * SMS link records the click on that send and redirects to the original URL; the click adds to the
 * person's engagement; a forged link answers 400 and records nothing.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { IDataObject } from 'n8n-workflow';

import { clickKey, shortClickCode, signClick } from '../../nodes/shared/insights/clicks';
import { openStore } from '../../nodes/shared/store';
import { manualWorkflow, runWorkflow } from '../harness';
import { grantConsent } from '../helpers/people';
import { SmtpMock, TwilioMock } from '../mocks';
import { loadLive, zoneAt } from './template-helpers';

const twilio = new TwilioMock();
const smtp = new SmtpMock();
const databasePath = path.join(
	fs.mkdtempSync(path.join(os.tmpdir(), 'cm-clicks-')),
	'store.sqlite',
);
const day = zoneAt((h) => h >= 10 && h < 19);
let credentials: Record<string, IDataObject>;

beforeAll(async () => {
	await Promise.all([twilio.start(), smtp.start()]);
	credentials = {
		twilioMessagingApi: {
			accountSid: twilio.accountSid,
			authToken: twilio.authToken,
			from: '+15550100000',
			ratePerSecond: 50,
			baseUrl: twilio.baseUrl,
		},
		convergentSmtpApi: {
			host: '127.0.0.1',
			port: smtp.port,
			user: smtp.user,
			password: smtp.pass,
			fromEmail: 'Glow <hello@glow.example>',
		},
		convergentStoreApi: { storageType: 'embedded', databasePath },
	};
});
afterAll(async () => {
	await Promise.all([twilio.stop(), smtp.stop()]);
});

describe('template: Click tracking', () => {
	it('a tracked SMS link records the click on its send, redirects to the original URL and scores the click; email hrefs are tracked too; a forged link is refused', async () => {
		const store = await openStore({ type: 'embedded', path: databasePath });
		const ana = { id: 'crm-ana', phone: '+34600400001', email: 'ana@example.com', timeZone: day };
		await grantConsent(store, [ana as never], ['sms', 'email']);
		const hook = 'https://n8n.example.com/webhook/r';
		const send = (channel: string, extra: IDataObject) =>
			runWorkflow(
				manualWorkflow({
					items: [{ contact: ana }],
					node: {
						type: 'touchpoint',
						name: 'Send',
						parameters: {
							channel,
							purpose: 'marketing',
							campaign: 'spring',
							clickTracking: 'signed',
							clickWebhookUrl: hook,
							...extra,
						},
						credentials: {
							twilioMessagingApi: 'Twilio',
							convergentSmtpApi: 'SMTP',
							convergentStoreApi: 'Store',
						},
					},
				}),
				{ credentials: credentials as never },
			);
		const sms = await send('sms', {
			text: 'Spring sale: https://glow.example/spring.',
			options: { maxSegments: 3 },
		});
		expect(sms.json('Send', 1)).toEqual([]);
		const body = String(twilio.requests.at(-1)!.body.Body);
		const link = /https?:\/\/\S+?(?=\.$)/.exec(body)![0];
		expect(body).toBe(`Spring sale: ${link}.`);
		// Short: the webhook URL and a 19-character code (the store keeps what it stands for).
		expect(link).toMatch(
			new RegExp(`^${hook.replace(/[.?]/g, '\\$&')}\\?c=k2\\.[A-Za-z0-9_-]{16}$`),
		);
		expect(link.length).toBe(hook.length + 22);
		// Someone without consent is Not Sent, and no link is kept for a message that never went.
		const ben = { id: 'crm-ben', phone: '+34600400002', timeZone: day };
		const blocked = await runWorkflow(
			manualWorkflow({
				items: [{ contact: ben }],
				node: {
					type: 'touchpoint',
					name: 'Send',
					parameters: {
						channel: 'sms',
						purpose: 'marketing',
						campaign: 'spring',
						clickTracking: 'signed',
						clickWebhookUrl: hook,
						text: 'Spring sale: https://glow.example/spring.',
					},
					credentials: { twilioMessagingApi: 'Twilio', convergentStoreApi: 'Store' },
				},
			}),
			{ credentials: credentials as never },
		);
		expect(blocked.json('Send', 1)).toHaveLength(1);
		const key = clickKey(await store.linkKey());
		const codes = ['crm-ana', 'crm-ben'].map((contactId) =>
			shortClickCode(key, {
				contactId,
				channel: 'sms',
				campaign: 'spring',
				url: 'https://glow.example/spring',
			}),
		);
		expect([...(await store.findTrackedLinks(codes)).keys()]).toEqual([codes[0]]);
		expect(link.endsWith(codes[0])).toBe(true);

		const mail = await send('email', {
			subject: 'Spring',
			html: '<p><a href="https://glow.example/spring?utm=mail">Shop</a></p>',
			unsubscribeUrl: 'https://glow.example/u',
			postalAddress: 'Glow SL, Madrid',
		});
		expect(mail.json('Send', 1)).toEqual([]);
		// The HTML part as the receiver got it (quoted-printable soft breaks and =3D undone).
		const html = (await smtp.waitFor(1))[0].raw.replace(/=\r?\n/g, '').replace(/=3D/g, '=');
		expect(html).toMatch(new RegExp(`href="${hook.replace(/[.?]/g, '\\$&')}\\?c=k2\\.`));
		expect(html).toContain('href="https://glow.example/u"');

		// The person taps the SMS link (the Webhook node's item: the query string in "query"): the
		// Redirect answer goes to the shop, the send is clicked, the score grows.
		const tap = (url: string) =>
			runWorkflow(loadLive('click-tracking.json'), {
				startNode: 'Tracked Link',
				startItems: [
					{
						json: {
							headers: {},
							params: {},
							query: Object.fromEntries(new URL(url).searchParams),
							body: {},
						},
					},
				],
				credentials: credentials as never,
			});
		const clicked = await tap(link);
		expect(
			clicked.executionOrder.filter((n) => n === 'Redirect' || n === 'Link Not Valid'),
		).toEqual(['Redirect']);
		expect(clicked.json('Redirect')[0].click).toMatchObject({
			valid: true,
			contactId: 'crm-ana',
			channel: 'sms',
			campaign: 'spring',
			url: 'https://glow.example/spring',
		});
		const touch = (sms.json('Send', 0)[0].touchpoint as IDataObject).idempotencyKey as string;
		expect((await store.getTouches([touch])).get(touch)?.deliveryStatus).toBe('clicked');
		expect((await store.getEngagement(['crm-ana'])).get('crm-ana')?.score).toBeCloseTo(3, 3);

		// Forged links: a code the store never issued, and a long token carrying another URL under
		// Ana's name: no redirect, nothing recorded.
		for (const forged of [
			link.replace(/c=k2\.[A-Za-z0-9_-]{16}/, 'c=k2.AAAAAAAAAAAAAAAA'),
			`${hook}?c=k1.${Buffer.from(JSON.stringify(['crm-ana', 'sms', 'spring', 'https://evil.example/'])).toString('base64url')}.AAAAAAAAAAAAAAAAAAAAAA`,
		]) {
			const bad = await tap(forged);
			expect(bad.executionOrder.filter((n) => n === 'Redirect' || n === 'Link Not Valid')).toEqual([
				'Link Not Valid',
			]);
		}
		expect((await store.getEngagement(['crm-ana'])).get('crm-ana')?.score).toBeCloseTo(3, 3);
		// A long signed link from a message sent before short links still works.
		const earlier = `${hook}?c=${signClick(clickKey(await store.linkKey()), { contactId: 'crm-ana', channel: 'sms', campaign: 'spring', url: 'https://glow.example/old' })}`;
		expect((await tap(earlier)).json('Redirect')[0].click).toMatchObject({
			valid: true,
			url: 'https://glow.example/old',
		});
	});
});
