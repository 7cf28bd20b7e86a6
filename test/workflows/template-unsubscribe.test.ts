/**
 * Template "One-click unsubscribe" (workflows/one-click-unsubscribe.json) with Touchpoint's signed
 * links: a marketing email reaches the SMTP mock with List-Unsubscribe pointing at the template's
 * webhook; the mail client's RFC 8058 POST runs the template and the next Check is Blocked
 * WITHDRAWN. A second POST changes nothing; an altered link changes nothing and says so.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { IDataObject } from 'n8n-workflow';

import { openStore } from '../../nodes/shared/store';
import type { Store } from '../../nodes/shared/store/types';
import { manualWorkflow, runWorkflow } from '../harness';
import { SmtpMock } from '../mocks';
import { grantConsent } from '../helpers/people';
import { loadLive } from './template-helpers';

const smtp = new SmtpMock();
const databasePath = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cm-unsub-')), 'store.sqlite');
const WEBHOOK = 'https://n8n.example.com/webhook/unsubscribe';
let store: Store;
let credentials: Record<string, IDataObject>;

beforeAll(async () => {
	await smtp.start();
	store = await openStore({ type: 'embedded', path: databasePath });
	credentials = {
		convergentStoreApi: { storageType: 'embedded', databasePath },
		convergentSmtpApi: {
			host: '127.0.0.1',
			port: smtp.port,
			user: smtp.user,
			password: smtp.pass,
			fromEmail: 'Glow <hello@glow.example>',
		},
	};
});
afterAll(() => smtp.stop());

const ana = { contact: { id: 'crm-ana', email: 'ana@example.com', timeZone: 'UTC' } };
const ben = { contact: { id: 'crm-ben', email: 'ben@example.com', timeZone: 'UTC' } };
const cai = { contact: { id: 'crm-cai', email: 'cai@example.com', timeZone: 'UTC' } };

async function mailWithLink(who: typeof ana, campaign: string) {
	const before = smtp.messages.length;
	const run = await runWorkflow(
		manualWorkflow({
			items: [who],
			node: {
				type: 'touchpoint',
				name: 'Send',
				parameters: {
					channel: 'email',
					purpose: 'marketing',
					campaign,
					subject: 'Spring',
					html: '<p>Hi</p>',
					unsubscribeLink: 'signed',
					unsubscribeWebhookUrl: WEBHOOK,
					postalAddress: 'Glow SL, Madrid',
				},
				credentials: { convergentStoreApi: 'Store', convergentSmtpApi: 'SMTP' },
			},
		}),
		{ credentials: credentials as never },
	);
	expect(run.json('Send', 0)).toHaveLength(1);
	const [mail] = (await smtp.waitFor(before + 1)).slice(before);
	const header = String(mail.headers.get('list-unsubscribe')?.[0]);
	expect(mail.headers.get('list-unsubscribe-post')).toEqual(['List-Unsubscribe=One-Click']);
	return new URL(header.replace(/^<|>$/g, ''));
}

/** What n8n's Webhook node emits for the mail client's one-click POST to that URL. */
const oneClickPost = (url: URL) => ({
	headers: {
		'content-type': 'application/x-www-form-urlencoded',
		'user-agent': 'MailClient/1.0',
		'x-forwarded-for': '203.0.113.9',
	},
	params: {},
	query: Object.fromEntries(url.searchParams),
	body: { 'List-Unsubscribe': 'One-Click' },
});
const post = (url: URL) =>
	runWorkflow(loadLive('one-click-unsubscribe.json'), {
		startNode: 'One-Click Unsubscribe',
		startItems: [{ json: oneClickPost(url) }],
		credentials: credentials as never,
	});
const check = (who: typeof ana) =>
	runWorkflow(
		manualWorkflow({
			items: [who],
			node: {
				type: 'consentGuard',
				name: 'Check',
				parameters: {
					operation: 'check',
					channel: 'email',
					purpose: 'marketing',
					campaign: `after-${Date.now()}`,
				},
				credentials: { convergentStoreApi: 'Store' },
			},
		}),
		{ credentials: credentials as never },
	);

describe('template: One-click unsubscribe', () => {
	it("the email's signed link, POSTed as RFC 8058 says, withdraws consent: the next Check is Blocked WITHDRAWN; a second POST changes nothing", async () => {
		await grantConsent(store, [ana.contact as never, ben.contact as never], ['email']);
		const url = await mailWithLink(ana, 'spring');
		expect(`${url.origin}${url.pathname}`).toBe(WEBHOOK);
		const first = await post(url);
		expect(first.error).toBeUndefined();
		expect(first.json('Unsubscribe', 0)[0].unsubscribe).toEqual({
			outcome: 'unsubscribed',
			unsubscribed: true,
			contactId: 'crm-ana',
			channel: 'email',
			purpose: 'marketing',
		});
		expect(first.runData['Unsubscribed Page']).toHaveLength(1);
		expect(
			(await check(ana)).json('Check', 1).map((j) => (j.blocked as IDataObject).reason),
		).toEqual(['WITHDRAWN']);
		// The evidence of the withdrawal: where, from which address and browser.
		const ledger = (await store.exportContact('crm-ana')).consentLedger;
		expect(ledger.at(-1)).toMatchObject({
			action: 'withdraw',
			channel: 'email',
			evidence: {
				source: 'one-click-unsubscribe',
				ipAddress: '203.0.113.9',
				userAgent: 'MailClient/1.0',
			},
		});
		const again = await post(url);
		expect(again.json('Unsubscribe', 0)[0].unsubscribe).toMatchObject({
			outcome: 'already',
			unsubscribed: true,
		});
		expect((await store.exportContact('crm-ana')).consentLedger).toHaveLength(ledger.length);
		// Ben, who got no link, is untouched.
		expect((await check(ben)).json('Check', 0)).toHaveLength(1);
	});

	it('a link altered to name someone else, or no link at all, changes nothing and answers Link Not Valid', async () => {
		await grantConsent(store, [cai.contact as never], ['email']);
		const url = await mailWithLink(cai, 'summer');
		const [v, , mac] = String(url.searchParams.get('token')).split('.');
		url.searchParams.set(
			'token',
			`${v}.${Buffer.from(JSON.stringify(['crm-ben', 'email', 'marketing'])).toString('base64url')}.${mac}`,
		);
		for (const bad of [url, new URL(WEBHOOK)]) {
			const run = await post(bad);
			expect(run.json('Unsubscribe', 0)[0].unsubscribe).toMatchObject({
				outcome: 'invalid',
				unsubscribed: false,
			});
			expect(run.runData['Link Not Valid']).toHaveLength(1);
		}
		expect((await check(ben)).json('Check', 0)).toHaveLength(1);
	});
});
