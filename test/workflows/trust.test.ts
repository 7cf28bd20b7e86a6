/**
 * The consent promise under faults, odd settings and hostile input (issue "Trust"): Consent Guard
 * and Touchpoint fail closed under every On Error setting, a reservation is trusted only for its
 * own touch and only while the person still stands where they stood, Touchpoint's own policy is
 * configurable and never decides quiet hours in UTC for a multi-zone country, and a broken
 * credential fails the node.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { IDataObject, INode } from 'n8n-workflow';

import { openStore } from '../../nodes/shared/store';
import type { Store } from '../../nodes/shared/store/types';
import { manualWorkflow, runWorkflow } from '../harness';
import { MetaGraphMock, TwilioMock } from '../mocks';
import { dropSchema, PG_AVAILABLE, PG_BASE } from '../store/helpers';
import { grantConsent } from '../helpers/people';

const meta = new MetaGraphMock();
const twilio = new TwilioMock();
let store: Store;
let credentials: Record<string, IDataObject>;
const databasePath = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cm-trust-')), 'store.sqlite');
const creds = { convergentStoreApi: 'Store', whatsAppCloudApi: 'WA', twilioMessagingApi: 'Twilio' };
const deadStore = {
	storageType: 'postgres',
	host: '127.0.0.1',
	port: 1,
	database: 'none',
	user: 'nobody',
	password: 'secret-pw-1',
	ssl: false,
};

beforeAll(async () => {
	await Promise.all([meta.start(), twilio.start()]);
	store = await openStore({ type: 'embedded', path: databasePath });
	credentials = {
		convergentStoreApi: { storageType: 'embedded', databasePath },
		whatsAppCloudApi: {
			accessToken: meta.accessToken,
			phoneNumberId: meta.phoneNumberId,
			apiVersion: 'v21.0',
			baseUrl: meta.baseUrl,
		},
		twilioMessagingApi: {
			accountSid: twilio.accountSid,
			authToken: twilio.authToken,
			from: '+15550100000',
			ratePerSecond: 50,
			baseUrl: twilio.baseUrl,
		},
	};
});
afterAll(async () => {
	await Promise.all([meta.stop(), twilio.stop()]);
});
beforeEach(() => {
	meta.reset();
	twilio.reset();
});

let seq = 0;
async function person(channels: string[], extra: IDataObject = {}) {
	const id = `trust-${++seq}`;
	const contact = {
		id,
		phone: `+3460022${String(1000 + seq).slice(-4)}`,
		timeZone: 'Pacific/Kiritimati',
		...extra,
	};
	await grantConsent(store, [contact as never], channels, {
		evidence: { source: 'test', wording: 'Yes' },
		occurredAt: Date.now() - 60_000,
	});
	return { contact };
}
// Quiet hours: allowed all day, so that these tests do not depend on the clock (except the zone test).
const allDay = { start: '00:00', end: '00:00' };
const noCaps = { caps: [] };

type OnError = INode['onError'] | undefined;
const guard = (
	items: IDataObject[],
	onError: OnError,
	storeCredential: IDataObject = credentials.convergentStoreApi,
) =>
	runWorkflow(
		manualWorkflow({
			items,
			node: {
				type: 'consentGuard',
				name: 'Guard',
				onError,
				parameters: {
					operation: 'check',
					channel: 'sms',
					quietHours: allDay,
					frequencyCaps: noCaps,
				},
				credentials: { convergentStoreApi: 'Store' },
			},
		}),
		{ credentials: { convergentStoreApi: storeCredential } as never },
	);
const touch = (
	items: IDataObject[],
	parameters: IDataObject,
	onError?: OnError,
	storeCredential: IDataObject = credentials.convergentStoreApi,
) =>
	runWorkflow(
		manualWorkflow({
			items,
			node: {
				type: 'touchpoint',
				name: 'Send',
				onError,
				parameters: { quietHours: allDay, frequencyCaps: noCaps, ...parameters },
				credentials: creds,
			},
		}),
		{ credentials: { ...credentials, convergentStoreApi: storeCredential } as never },
	);
const sms = {
	channel: 'sms',
	text: 'Spring offer: 10% off today. Reply STOP to opt out.',
	campaign: 'spring',
};

describe('Fail closed under every On Error setting', () => {
	it.each([['continueRegularOutput'], ['continueErrorOutput']] as const)(
		'Consent Guard Check, store unreachable, On Error %s: every item on Blocked with the error, none on Allowed',
		async (onError) => {
			const a = await person(['sms']);
			const b = await person(['sms']);
			const run = await guard([a, b], onError, deadStore);
			expect(run.error).toBeUndefined();
			expect(run.json('Guard', 0)).toEqual([]);
			const blocked = run.json('Guard', 1);
			expect(blocked.map((j) => (j.contact as IDataObject).id)).toEqual([
				a.contact.id,
				b.contact.id,
			]);
			expect(String(blocked[0].error)).toMatch(/Could not connect to PostgreSQL at 127\.0\.0\.1:1/);
			expect(JSON.stringify(run.runData)).not.toContain('secret-pw-1');
			expect(run.items('Guard', 1).map((i) => i.pairedItem)).toEqual([{ item: 0 }, { item: 1 }]);
		},
	);

	it('Consent Guard Check, store unreachable, no continue: the node fails (nothing reaches Allowed)', async () => {
		const run = await guard([await person(['sms'])], undefined, deadStore);
		expect(run.error?.message).toMatch(/Could not connect to PostgreSQL/);
		expect(run.json('Guard', 0)).toEqual([]);
	});

	it('Consent Guard Check with a bad setting (Default Time Zone) and continue-on-fail: Blocked, not Allowed', async () => {
		const a = await person(['sms']);
		const run = await runWorkflow(
			manualWorkflow({
				items: [a],
				node: {
					type: 'consentGuard',
					name: 'Guard',
					onError: 'continueRegularOutput',
					parameters: {
						operation: 'check',
						channel: 'sms',
						quietHours: { ...allDay, defaultTimeZone: 'Mars/Olympus' },
						frequencyCaps: noCaps,
					},
					credentials: { convergentStoreApi: 'Store' },
				},
			}),
			{ credentials: credentials as never },
		);
		expect(run.json('Guard', 0)).toEqual([]);
		expect(String(run.json('Guard', 1)[0].error)).toMatch(/Default Time Zone "Mars\/Olympus"/);
	});

	it.each([['continueRegularOutput'], ['continueErrorOutput']] as const)(
		'Touchpoint, store unreachable, On Error %s: every item Not Sent, no request leaves',
		async (onError) => {
			const a = await person(['sms']);
			const run = await touch([a, await person(['sms'])], sms, onError, deadStore);
			expect(run.json('Send', 0)).toEqual([]);
			expect(run.json('Send', 1)).toHaveLength(2);
			expect(String(run.json('Send', 1)[0].error)).toMatch(/Could not connect to PostgreSQL/);
			expect(twilio.requests).toHaveLength(0);
		},
	);

	it('Touchpoint with continue-on-fail and no credential for the channel: Not Sent, not Sent', async () => {
		const a = await person(['sms']);
		const run = await runWorkflow(
			manualWorkflow({
				items: [a],
				node: {
					type: 'touchpoint',
					name: 'Send',
					onError: 'continueRegularOutput',
					parameters: { ...sms, quietHours: allDay },
					credentials: { convergentStoreApi: 'Store' },
				},
			}),
			{ credentials: credentials as never },
		);
		expect(run.json('Send', 0)).toEqual([]);
		expect(String(run.json('Send', 1)[0].error)).toMatch(
			/No Twilio Messaging API credential selected for sms/,
		);
	});

	(PG_AVAILABLE ? it : it.skip)(
		'a NUL byte or a 100,000-character contact id is a per-item error before the store; the other items are checked (PostgreSQL)',
		async () => {
			const pg = {
				storageType: 'postgres',
				host: PG_BASE.host,
				port: PG_BASE.port,
				database: PG_BASE.database,
				user: PG_BASE.user,
				password: PG_BASE.password ?? '',
				ssl: false,
				schema: `cm_trust_${process.pid}`,
			};
			const pgStore = await openStore({ type: 'postgres', ...PG_BASE, schema: pg.schema });
			await grantConsent(pgStore, [{ id: 'ok-1', phone: '+34600111223' }], ['sms']);
			const items = [
				{ contact: { id: 'bad\u0000id', phone: '+34600111222' } },
				{ contact: { id: 'ok-1', phone: '+34600111223', timeZone: 'Pacific/Kiritimati' } },
				{ contact: { id: 'x'.repeat(100_000), phone: '+34600111224' } },
			];
			const run = await guard(items, 'continueRegularOutput', pg);
			expect(run.json('Guard', 0).map((j) => (j.contact as IDataObject).id)).toEqual(['ok-1']);
			const blocked = run.json('Guard', 1);
			expect(blocked).toHaveLength(2);
			expect(String(blocked[0].error)).toMatch(
				/contact\.id.*control characters|Invalid value at "contact\.id"/,
			);
			expect(String(blocked[1].error)).toMatch(/Invalid value at "contact\.id".*100000 characters/);
			const strict = await guard(items, undefined, pg);
			expect(strict.error?.message).toMatch(/Invalid value at "contact\.id"/);
			await pgStore.close();
			await dropSchema(pg.schema);
		},
	);
});

describe('Segment fails closed too', () => {
	it('a bad rule with continue-on-fail puts every item on No Segment with the error, none on the first segment', async () => {
		const segments = {
			values: [
				{
					name: 'VIP',
					combine: 'and',
					conditions: { condition: [{ field: 'spent', operator: 'gt', value: 'lots' }] },
				},
			],
		};
		const run = await runWorkflow(
			manualWorkflow({
				items: [{ spent: 5000 }, { spent: 1 }],
				node: {
					type: 'segment',
					name: 'Segment',
					onError: 'continueRegularOutput',
					parameters: { operation: 'routeByRules', segments },
				},
			}),
			{ credentials: credentials as never },
		);
		expect(run.json('Segment', 0)).toEqual([]);
		expect(run.json('Segment', 1).map((j) => String(j.error))).toEqual([
			expect.stringMatching(/Value "lots" is not a number/),
			expect.stringMatching(/Value "lots"/),
		]);
	});
});

describe('A reservation is trusted only for its own touch, and only while the person still stands', () => {
	const reserve = async (contactId: string, channel = 'sms', purpose = 'marketing') => {
		const key = `guard-${contactId}-${channel}-${purpose}`;
		expect(
			(
				await store.reserveTouches([
					{ idempotencyKey: key, contactId, channel: channel as never, purpose, caps: [] },
				])
			)[0].outcome,
		).toBe('reserved');
		return { idempotencyKey: key, channel, purpose, reserved: true, allowed: true };
	};

	it('a STOP, a suppression or an erasure recorded after the Check (e.g. during a Wait) stops the send', async () => {
		const stop = await person(['sms']);
		const suppressed = await person(['sms']);
		const erased = await person(['sms']);
		const fine = await person(['sms']);
		const items = [stop, suppressed, erased, fine];
		const consents = await Promise.all(items.map((p) => reserve(p.contact.id)));
		// Meanwhile: STOP by SMS, a bounce on the suppression list, an erasure request.
		await store.recordConsent([
			{
				contactId: stop.contact.id,
				channel: 'sms',
				purpose: 'marketing',
				action: 'withdraw',
				keyword: 'stop',
				evidence: { source: 'sms-keyword', wording: 'STOP' },
			},
		]);
		await store.addSuppressions([
			{ address: suppressed.contact.phone, channel: 'sms', reason: 'unsubscribed' },
		]);
		await store.eraseContact(erased.contact.id, [erased.contact.phone]);
		const run = await touch(
			items.map((p, i) => ({ ...p, consent: consents[i] })),
			sms,
		);
		expect(twilio.requests.map((r) => (r.body as IDataObject)?.To)).toEqual([fine.contact.phone]);
		const reasons = Object.fromEntries(
			run
				.json('Send', 1)
				.map((j) => [(j.contact as IDataObject).id, (j.touchpoint as IDataObject).reason]),
		);
		expect(reasons).toEqual({
			[stop.contact.id]: 'WITHDRAWN',
			[suppressed.contact.id]: 'SUPPRESSED',
			[erased.contact.id]: 'SUPPRESSED',
		});
		// The withdrawn reservation no longer holds a place under the caps.
		expect((await store.getTouches([consents[0].idempotencyKey])).size).toBe(0);
	});

	it("an item for contact B carrying contact A's reservation is not sent to B (RESERVATION_MISMATCH); nor on another channel or purpose", async () => {
		const a = await person(['sms', 'whatsapp']);
		const b = await person(['sms']);
		const aKey = await reserve(a.contact.id);
		const run = await touch([{ ...b, consent: aKey }], sms);
		expect(twilio.requests).toHaveLength(0);
		expect(run.json('Send', 1)[0].touchpoint).toMatchObject({ reason: 'RESERVATION_MISMATCH' });
		expect(String((run.json('Send', 1)[0].touchpoint as IDataObject).message)).toContain(
			a.contact.id,
		);
		const service = await reserve(a.contact.id, 'sms', 'service');
		const wrongPurpose = await touch([{ ...a, consent: service }], sms);
		expect(wrongPurpose.json('Send', 1)[0].touchpoint).toMatchObject({
			reason: 'RESERVATION_MISMATCH',
		});
		expect(twilio.requests).toHaveLength(0);
	});
});

describe("Touchpoint's own policy", () => {
	it('without a Consent Guard, a US number with no time zone is held unless it is allowed hours in every US zone (never decided in UTC)', async () => {
		// A one-hour window that is open now in UTC: the old behaviour (UTC) sent; New York and
		// Honolulu are hours behind, so the strict reading holds the message.
		const h = new Date().getUTCHours();
		const hh = (n: number) => `${String(((n % 24) + 24) % 24).padStart(2, '0')}:00`;
		const window = { start: hh(h), end: hh(h + 1) };
		const us = await person(['sms'], { phone: '+12125550142', timeZone: undefined });
		const run = await touch([us], { ...sms, quietHours: window });
		expect(twilio.requests).toHaveLength(0);
		const tp = run.json('Send', 1)[0].touchpoint as IDataObject;
		expect(tp.reason).toBe('QUIET_HOURS');
		expect(String(tp.message)).toMatch(/America\/New_York.*Pacific\/Honolulu/);
		// A Default Time Zone set on the node decides instead.
		const utc = await touch([us], {
			...sms,
			campaign: 'spring-2',
			quietHours: { ...window, defaultTimeZone: 'UTC' },
		});
		expect(utc.json('Send', 0)).toHaveLength(1);
		expect(twilio.requests).toHaveLength(1);
	});

	it('caps are configurable: a cap of 1 per day holds a second campaign the same day', async () => {
		const a = await person(['sms']);
		const cap = {
			caps: [{ channel: 'all', maxMessages: 1, per: 1, unit: 'days', purpose: 'marketing' }],
		};
		expect((await touch([a], { ...sms, frequencyCaps: cap })).json('Send', 0)).toHaveLength(1);
		const second = await touch([a], { ...sms, campaign: 'summer', frequencyCaps: cap });
		expect(second.json('Send', 1)[0].touchpoint).toMatchObject({ reason: 'FREQUENCY_CAP' });
		expect(twilio.requests).toHaveLength(1);
	});
});

describe('A broken credential fails the node', () => {
	it("WhatsApp answers 401 (code 190): the node fails with the provider code, so n8n's Error Workflow runs", async () => {
		const a = await person(['whatsapp']);
		// n8n itself repeats a request once after a 401 (credential refresh): a broken token fails both.
		meta.failNext(2, {
			status: 401,
			body: {
				error: {
					message: 'Invalid OAuth access token.',
					type: 'OAuthException',
					code: 190,
					fbtrace_id: 'x',
				},
			},
		});
		const run = await touch([a], {
			channel: 'whatsapp',
			whatsappType: 'template',
			templateName: 'offer',
			templateLanguage: 'en',
			campaign: 'c',
		});
		expect(run.error?.message).toMatch(/190/);
		expect(JSON.stringify(run.error)).not.toContain(meta.accessToken);
	});

	it('with continue-on-fail the same failure is an item on Not Sent with reason AUTH', async () => {
		const a = await person(['whatsapp']);
		meta.failNext(2, {
			status: 401,
			body: {
				error: { message: 'Invalid OAuth access token.', type: 'OAuthException', code: 190 },
			},
		});
		const run = await touch(
			[a],
			{
				channel: 'whatsapp',
				whatsappType: 'template',
				templateName: 'offer',
				templateLanguage: 'en',
				campaign: 'c2',
			},
			'continueRegularOutput',
		);
		expect(run.error).toBeUndefined();
		expect(run.json('Send', 1)[0].touchpoint).toMatchObject({
			reason: 'AUTH',
			providerError: { code: '190' },
		});
	});

	it('Twilio refuses the From number (21606): the node fails', async () => {
		const a = await person(['sms']);
		twilio.failNext(1, {
			status: 400,
			body: {
				code: 21606,
				message:
					'The From phone number +15550100000 is not a valid, SMS-capable inbound phone number or short code for your account.',
				status: 400,
			},
		});
		const run = await touch([a], sms);
		expect(run.error?.message).toMatch(/21606/);
	});
});
