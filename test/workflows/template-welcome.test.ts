/**
 * Template "Welcome series with double opt-in" (workflows/welcome-double-opt-in.json), run in the
 * harness against the SMTP and Twilio mocks and a loopback CRM: signup -> pending consent ->
 * confirmation email (transactional) -> confirm link -> welcome on the preferred channel -> wait
 * -> capped follow-up. Blocked paths: no welcome before confirmation (PENDING_CONFIRMATION), a
 * used link, quiet hours (the run waits until morning), the follow-up frequency cap.
 */
import { DatabaseSync } from 'node:sqlite';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { IDataObject } from 'n8n-workflow';

import { openStore } from '../../nodes/shared/store';
import { runWorkflow } from '../harness';
import { SmtpMock, TwilioMock } from '../mocks';
import { JsonApi, loadLive, mailText, retarget, zoneAt } from './template-helpers';

const FILE = 'welcome-double-opt-in.json';

describe('template: Welcome series with double opt-in', () => {
	const twilio = new TwilioMock();
	const smtp = new SmtpMock();
	const databasePath = path.join(
		fs.mkdtempSync(path.join(os.tmpdir(), 'cm-tpl3-')),
		'store.sqlite',
	);
	const day = zoneAt((h) => h >= 10 && h < 19);
	const night = zoneAt((h) => h >= 1 && h < 6);
	const people: Record<string, IDataObject> = {
		w1: {
			id: 'w1',
			firstName: 'Ana',
			email: 'ana@example.com',
			phone: '+34622000011',
			preferredChannel: 'sms',
			timeZone: day,
		},
		w2: {
			id: 'w2',
			firstName: 'Ben',
			email: 'ben@example.com',
			preferredChannel: 'email',
			timeZone: night,
		},
		w3: {
			id: 'w3',
			firstName: 'Cai',
			email: 'cai@example.com',
			preferredChannel: 'email',
			timeZone: day,
		},
	};
	const crm = new JsonApi((p) => people[p.replace('/api/contacts/', '')]);
	let credentials: Record<string, IDataObject>;
	const template = () =>
		retarget(loadLive(FILE), 'Get Contact', 'https://crm.example.com', crm.baseUrl);
	const click = (token: string) => [
		{
			json: {
				query: { token },
				headers: { 'x-forwarded-for': '198.51.100.4', 'user-agent': 'Mail/1.0' },
				params: {},
				body: {},
			},
		},
	];

	beforeAll(async () => {
		await Promise.all([twilio.start(), smtp.start(), crm.start()]);
		credentials = {
			twilioMessagingApi: {
				accountSid: twilio.accountSid,
				authToken: twilio.authToken,
				from: '+15550100000',
				ratePerSecond: 20,
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
	afterAll(async () => Promise.all([twilio.stop(), smtp.stop(), crm.stop()]));

	it('confirms by link, welcomes on the preferred channel, waits, and caps the follow-up; nothing before confirmation, links work once, quiet hours wait', async () => {
		// 1. Signup: consent pending, a transactional confirmation email with a one-click link each.
		const signups = Object.values(people).map(({ preferredChannel, ...contact }) => ({
			json: {
				body: { contact, preferredChannel },
				headers: { 'x-forwarded-for': '203.0.113.7', 'user-agent': 'Mozilla/5.0' },
				query: {},
				params: {},
			},
		}));
		const signup = await runWorkflow(template(), {
			startNode: 'Signup',
			startItems: signups,
			credentials: credentials as never,
		});
		expect(signup.error).toBeUndefined();
		expect(
			signup.json('Confirmation Email').map((j) => (j.touchpoint as IDataObject).status),
		).toEqual(['sent', 'sent', 'sent']);
		const mails = await smtp.waitFor(3);
		const tokenFor = (email: string) => {
			const mail = mails.find((m) => m.to.includes(email))!;
			expect(mail.subject).toBe('Please confirm your subscription');
			return /confirm-subscription\?token=([A-Za-z0-9_-]+)/.exec(mailText(mail.body))![1];
		};
		const [t1, t2] = [tokenFor('ana@example.com'), tokenFor('ben@example.com')];
		expect(t1).not.toBe(t2);
		expect(twilio.requests).toHaveLength(0);

		// 2. Not confirmed yet: the welcome is blocked.
		const early = await runWorkflow(template(), {
			startNode: 'Get Contact',
			startItems: [{ json: people.w3 }],
			credentials: credentials as never,
		});
		expect(early.json('Check Welcome', 1).map((j) => (j.blocked as IDataObject).reason)).toEqual([
			'PENDING_CONFIRMATION',
		]);
		expect(early.json('Quiet Hours?', 1)).toHaveLength(1);
		expect(early.runData.Welcome).toBeUndefined();

		// 3a. Her mail system's link scanner opens the link (a GET): a page with a Confirm button, and
		// nothing confirmed. Before, the GET itself confirmed a signup a stranger could have made.
		const scanned = await runWorkflow(template(), {
			startNode: 'Confirm Link',
			startItems: click(t1),
			credentials: credentials as never,
		});
		expect(scanned.error).toBeUndefined();
		expect(scanned.json('Confirm Page')).toHaveLength(1);
		expect(
			String(template().nodes.find((n) => n.name === 'Confirm Page')!.parameters.responseBody),
		).toMatch(/<form method="post" action="\?token=/);
		expect(scanned.runData['Confirm Consent']).toBeUndefined();
		const pending = await openStore({ type: 'embedded', path: databasePath });
		expect(
			(
				await pending.getConsentStates([{ contactId: 'w1', channel: 'sms', purpose: 'marketing' }])
			).get('w1\u0000sms\u0000marketing')?.status,
		).toBe('pending');
		// 3b. Ana presses Confirm (a POST): thank-you page, CRM asked, welcome by SMS, then the run waits 3 days.
		const confirm = await runWorkflow(template(), {
			startNode: 'Confirm Subscription',
			startItems: click(t1),
			credentials: credentials as never,
		});
		expect(confirm.error).toBeUndefined();
		expect(confirm.json('Confirm Consent')[0].confirmation).toMatchObject({
			confirmed: true,
			contactId: 'w1',
			channel: 'sms',
			purpose: 'marketing',
		});
		expect(confirm.json('Thank-You Page')).toHaveLength(1);
		expect(confirm.runData['Link Expired Page']).toBeUndefined();
		expect(crm.hits).toContain('/api/contacts/w1');
		expect(twilio.requests).toHaveLength(1);
		expect(twilio.requests[0].body).toMatchObject({
			To: '+34622000011',
			Body: 'Welcome to Glow, Ana! Your first order ships free with code HELLO.',
		});
		expect(confirm.status).toBe('waiting');
		const waitTill = confirm.run.waitTill!.getTime();
		expect(Math.abs(waitTill - (Date.now() + 3 * 86400_000))).toBeLessThan(60_000);

		// 4. The same link again: "expired or used" page, no second welcome.
		const again = await runWorkflow(template(), {
			startNode: 'Confirm Subscription',
			startItems: click(t1),
			credentials: credentials as never,
		});
		expect(again.json('Confirm Consent')[0].confirmation).toEqual({
			outcome: 'used',
			confirmed: false,
		});
		expect(again.json('Link Expired Page')).toHaveLength(1);
		expect(again.runData['Get Contact']).toBeUndefined();
		expect(twilio.requests).toHaveLength(1);

		// 5. Ben confirms at night in his zone: no email now, the run waits until his quiet hours end.
		const nightRun = await runWorkflow(template(), {
			startNode: 'Confirm Subscription',
			startItems: click(t2),
			credentials: credentials as never,
		});
		const blocked = nightRun.json('Check Welcome', 1)[0].blocked as IDataObject;
		expect(blocked.reason).toBe('QUIET_HOURS');
		expect(nightRun.status).toBe('waiting');
		expect(nightRun.run.waitTill!.toISOString()).toBe(
			new Date(String(blocked.retryAt)).toISOString(),
		);
		expect(smtp.messages).toHaveLength(3);

		// 6. Ana's follow-up: resumed right away, the 1-per-2-days cap holds it back...
		const welcomed = confirm.items('Welcome', 0);
		const tooSoon = await runWorkflow(template(), {
			startNode: 'Wait 3 Days',
			startItems: welcomed,
			credentials: credentials as never,
		});
		expect(
			tooSoon.json('Check Follow-up', 1).map((j) => (j.blocked as IDataObject).reason),
		).toEqual(['FREQUENCY_CAP']);
		expect(twilio.requests).toHaveLength(1);
		// ...after the 3 days (the welcome's send time moved back), it goes out, once.
		const db = new DatabaseSync(databasePath);
		db.prepare(
			'UPDATE touches SET created_at = created_at - ?, updated_at = updated_at - ? WHERE contact_id = ?',
		).run(3 * 86400_000, 3 * 86400_000, 'w1');
		db.close();
		const later = await runWorkflow(template(), {
			startNode: 'Wait 3 Days',
			startItems: welcomed,
			credentials: credentials as never,
		});
		expect(later.json('Follow-up').map((j) => (j.touchpoint as IDataObject).channel)).toEqual([
			'sms',
		]);
		expect(twilio.requests).toHaveLength(2);
		expect(twilio.requests[1].body.Body).toBe(
			'Hi Ana, our best-sellers are waiting: glow.example/best',
		);

		// The ledger holds the request and the confirmation with their evidence.
		const store = await openStore({ type: 'embedded', path: databasePath });
		const exported = await store.exportContact('w1');
		expect(JSON.stringify(exported)).toContain('confirmation-link');
	});

	it('a public signup never joins an existing person: a stranger typing her email and his own phone gets an error, her contact and profile unchanged; a returning subscriber is asked to confirm again', async () => {
		const store = await openStore({ type: 'embedded', path: databasePath });
		await store.resolveContacts(
			[{ id: 'crm-vic', addresses: [{ kind: 'email', value: 'vic@example.com' }] }],
			{ create: true, link: true },
		);
		await store.upsertProfiles([
			{
				contactId: 'crm-vic',
				name: 'Victoria',
				timeZone: 'Europe/Madrid',
				preferredChannel: 'email',
			},
		]);
		const signup = (contact: IDataObject, preferredChannel: string) =>
			runWorkflow(template(), {
				startNode: 'Signup',
				startItems: [
					{
						json: {
							body: { contact, preferredChannel },
							headers: { 'x-forwarded-for': '203.0.113.66', 'user-agent': 'curl/8' },
							query: {},
							params: {},
						},
					},
				],
				credentials: credentials as never,
			});
		const mailsBefore = smtp.messages.length;
		// An ID with @ stands for whoever holds that email: before, the stranger's phone joined Victoria.
		const attack = await signup(
			{
				id: 'vic@example.com',
				email: 'vic@example.com',
				phone: '+34699000666',
				firstName: 'Mallory',
				timeZone: 'Pacific/Fiji',
			},
			'sms',
		);
		expect(String(attack.error?.message)).toBe(
			'Contact "crm-vic" already exists, and input nobody verified (a public form, a chat) cannot add phone +34699000666 to them',
		);
		expect((await store.getAddresses(['crm-vic'])).map((a) => `${a.kind}:${a.value}`)).toEqual([
			'email:vic@example.com',
		]);
		expect(await store.getTimeZones(['crm-vic'])).toEqual(new Map([['crm-vic', 'Europe/Madrid']]));
		expect((await store.exportContact('crm-vic')).profile).toMatchObject({
			name: 'Victoria',
			preferredChannel: 'email',
		});
		// The stranger's phone belongs to nobody: his WhatsApp messages will not resolve to her.
		expect(
			(await store.resolveContacts([{ addresses: [{ kind: 'phone', value: '+34699000666' }] }]))[0]
				.contactId,
		).toBe('');
		expect(smtp.messages.length).toBe(mailsBefore);
		// Victoria signs up again with what is already hers: nothing added, her profile kept, a new confirmation email to her address.
		const again = await signup(
			{ id: 'crm-vic', email: 'vic@example.com', firstName: 'Vicky', timeZone: 'Pacific/Fiji' },
			'email',
		);
		expect(again.error).toBeUndefined();
		expect(again.json('Save Contact')[0].contactBook).toMatchObject({
			id: 'crm-vic',
			unverified: true,
		});
		expect((await store.exportContact('crm-vic')).profile).toMatchObject({
			name: 'Victoria',
			timeZone: 'Europe/Madrid',
		});
		expect((await smtp.waitFor(mailsBefore + 1)).at(-1)!.to).toContain('vic@example.com');
	});
});
