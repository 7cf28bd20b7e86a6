/**
 * Consent Guard through the harness: every reason code, the ledger, double opt-in, bad input,
 * and two executions racing for one contact under a cap of 1 (SQLite and PostgreSQL).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { DateTime } from 'luxon';
import type { ICredentialDataDecryptedObject, IDataObject } from 'n8n-workflow';
import { NodeHelpers } from 'n8n-workflow';

import { ConsentGuard } from '../../nodes/ConsentGuard/ConsentGuard.node';
import { openStore } from '../../nodes/shared/store';
import { manualWorkflow, runWorkflow } from '../harness';
import { PG_AVAILABLE, PG_BASE, dropSchema } from '../store/helpers';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-guard-'));
let n = 0;
/** A fresh embedded store per test: the credential points at its own file. */
function freshStore() {
	const databasePath = path.join(dir, `store-${++n}.sqlite`);
	return {
		credentials: { convergentStoreApi: { storageType: 'embedded', databasePath } },
		databasePath,
	};
}
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const guard = (operation: string, parameters: IDataObject = {}, extra: IDataObject = {}) => ({
	type: 'consentGuard',
	name: 'Guard',
	parameters: { operation, ...parameters },
	credentials: { convergentStoreApi: 'Store' },
	...extra,
});

async function run(
	items: IDataObject[],
	operation: string,
	parameters: IDataObject,
	creds: ReturnType<typeof freshStore>,
	extra: IDataObject = {},
) {
	const result = await runWorkflow(
		manualWorkflow({ items, node: guard(operation, parameters, extra) as never }),
		{
			credentials: creds.credentials,
		},
	);
	if (result.error) throw result.error;
	return result;
}

const ana = {
	contact: { id: 'ana', phone: '+34600111222', email: 'Ana@Example.com', timeZone: 'UTC' },
};
const ben = {
	contact: { id: 'ben', phone: '+34600333444', email: 'ben@example.com', timeZone: 'UTC' },
};
const noQuiet = { quietHours: { enabled: false } };

describe('Consent Guard: Check', () => {
	it('fails closed: no consent record -> Blocked NO_CONSENT; after Record Consent (grant) -> Allowed', async () => {
		const s = freshStore();
		const before = await run([ana, ben], 'check', { channel: 'sms', ...noQuiet }, s);
		expect(before.json('Guard', 0)).toEqual([]);
		expect(before.json('Guard', 1).map((j) => (j.blocked as IDataObject).reason)).toEqual([
			'NO_CONSENT',
			'NO_CONSENT',
		]);
		expect(before.items('Guard', 1).map((i) => i.pairedItem)).toEqual([{ item: 0 }, { item: 1 }]);
		expect(String((before.json('Guard', 1)[0].blocked as IDataObject).message)).toContain(
			'Record consent first',
		);

		await run(
			[ana],
			'recordConsent',
			{
				channel: 'sms',
				consentAction: 'grant',
				source: 'https://shop.example/signup',
				evidence: { wording: 'Yes to SMS offers', ipAddressField: 'ip' },
			},
			s,
		);
		const after = await run([ana, ben], 'check', { channel: 'sms', ...noQuiet }, s);
		expect(after.json('Guard', 0).map((j) => (j.contact as IDataObject).id)).toEqual(['ana']);
		expect((after.json('Guard', 0)[0].consent as IDataObject).allowed).toBe(true);
		expect(after.items('Guard', 0)[0].pairedItem).toEqual({ item: 0 });
		expect(after.json('Guard', 1).map((j) => (j.contact as IDataObject).id)).toEqual(['ben']);
	});

	it("Action as an expression is read per item (a form's yes or no); an unknown action names the value and the allowed ones", async () => {
		const s = freshStore();
		const items = [
			{ ...ana, answer: 'grant' },
			{ ...ben, answer: 'withdraw' },
		];
		const rec = await run(
			items,
			'recordConsent',
			{ channel: 'sms', consentAction: '={{ $json.answer }}', source: 'preference-centre' },
			s,
		);
		expect(
			rec
				.json('Guard', 0)
				.map((j) => [
					(j.consentRecord as IDataObject).contactId,
					(j.consentRecord as IDataObject).action,
					(j.consentRecord as IDataObject).status,
				]),
		).toEqual([
			['ana', 'grant', 'granted'],
			['ben', 'withdraw', 'withdrawn'],
		]);
		const check = await run([ana, ben], 'check', { channel: 'sms', ...noQuiet }, s);
		expect(check.json('Guard', 0).map((j) => (j.contact as IDataObject).id)).toEqual(['ana']);
		expect(check.json('Guard', 1).map((j) => (j.blocked as IDataObject).reason)).toEqual([
			'WITHDRAWN',
		]);
		const bad = await run(
			[
				{ ...ana, answer: 'yes' },
				{ ...ben, answer: 'grant' },
			],
			'recordConsent',
			{ channel: 'sms', consentAction: '={{ $json.answer }}', source: 'preference-centre' },
			s,
			{ continueOnFail: true },
		);
		expect(bad.json('Guard', 0)[0].error).toBe('Unknown Action "yes"');
		expect((bad.json('Guard', 0)[1].consentRecord as IDataObject).action).toBe('grant');
	});

	it("Record Sends Made Elsewhere: another tool's messages count under the caps, once however often imported; a bad entry names itself", async () => {
		const s = freshStore();
		await run(
			[ana, ben],
			'recordConsent',
			{ channel: 'email', consentAction: 'grant', source: 'checkout' },
			s,
		);
		const yesterday = new Date(Date.now() - 86400_000).toISOString();
		const history = [
			{
				...ana,
				sends: [
					{ channel: 'email', sentAt: yesterday, campaign: 'crm-newsletter' },
					{ channel: 'sms', sentAt: Date.now() - 3 * 86400_000 },
				],
			},
			{ ...ben, sends: [] },
		];
		const first = await run(history, 'recordSends', {}, s);
		expect(first.json('Guard', 0).map((j) => j.sendsRecorded)).toEqual([
			{ contactId: 'ana', recorded: 2, alreadyKnown: 0 },
			{ contactId: 'ben', recorded: 0, alreadyKnown: 0 },
		]);
		const again = await run(history, 'recordSends', {}, s);
		expect(again.json('Guard', 0)[0].sendsRecorded as IDataObject).toMatchObject({
			recorded: 0,
			alreadyKnown: 2,
		});
		// The default cap is 2 marketing messages in 7 days on all channels: Ana has had hers.
		const check = await run([ana, ben], 'check', { channel: 'email', ...noQuiet }, s);
		expect(check.json('Guard', 0).map((j) => (j.contact as IDataObject).id)).toEqual(['ben']);
		expect(check.json('Guard', 1).map((j) => (j.blocked as IDataObject).reason)).toEqual([
			'FREQUENCY_CAP',
		]);
		const bad = await run(
			[
				{ ...ben, sends: [{ channel: 'fax', sentAt: yesterday }] },
				{ ...ana, sends: [{ channel: 'sms', sentAt: 'tomorrow' }] },
			],
			'recordSends',
			{},
			s,
			{ continueOnFail: true },
		);
		expect(bad.json('Guard', 0).map((j) => j.error)).toEqual([
			'sends[0]: channel "fax" is not one of whatsapp, messenger, instagram, sms, push, email',
			'sends[0]: sentAt "tomorrow" is not a past date and time',
		]);
	});

	it('Reserve Send off still blocks a person over the cap, and holds no place for the ones it allows', async () => {
		const s = freshStore();
		await run(
			[ana, ben],
			'recordConsent',
			{ channel: 'sms', consentAction: 'grant', source: 'checkout' },
			s,
		);
		await run(
			[{ ...ana, sends: [{ channel: 'sms', sentAt: Date.now() - 3600_000 }] }],
			'recordSends',
			{},
			s,
		);
		const cap = {
			frequencyCaps: {
				caps: [{ channel: 'all', maxMessages: 1, per: 1, unit: 'days', purpose: 'marketing' }],
			},
		};
		const look = { channel: 'sms', ...noQuiet, ...cap, options: { reserve: false } };
		for (const attempt of [1, 2]) {
			const res = await run([ana, ben], 'check', { ...look, campaign: `look-${attempt}` }, s);
			expect({
				attempt,
				allowed: res.json('Guard', 0).map((j) => (j.contact as IDataObject).id),
			}).toEqual({ attempt, allowed: ['ben'] });
			expect(res.json('Guard', 1).map((j) => (j.blocked as IDataObject).reason)).toEqual([
				'FREQUENCY_CAP',
			]);
		}
		// Ben's two looks held nothing: a reserving Check still lets him through once.
		const real = await run(
			[ben],
			'check',
			{ channel: 'sms', ...noQuiet, ...cap, campaign: 'real' },
			s,
		);
		expect(real.json('Guard', 0)).toHaveLength(1);
	});

	it('withdraw after grant blocks (WITHDRAWN); re-grant allows; export shows the evidence trail', async () => {
		const s = freshStore();
		const params = { channel: 'sms', ...noQuiet, frequencyCaps: { caps: [] } };
		// Consent follows event time to the second (a tie is a withdrawal): the three acts are seconds apart.
		const at = (secondsAgo: number) => [
			{ ...ana, at: new Date(Date.now() - secondsAgo * 1000).toISOString() },
		];
		const when = { recordOptions: { occurredAtField: 'at' } };
		await run(
			at(30),
			'recordConsent',
			{
				channel: 'sms',
				consentAction: 'grant',
				source: 'web-form',
				evidence: { wording: 'Yes to SMS offers', wordingVersion: 'v1' },
				...when,
			},
			s,
		);
		await run(
			at(20),
			'recordConsent',
			{
				channel: 'sms',
				consentAction: 'withdraw',
				source: 'sms-keyword',
				evidence: { wording: 'STOP' },
				...when,
			},
			s,
		);
		const blocked = await run([ana], 'check', params, s);
		expect((blocked.json('Guard', 1)[0].blocked as IDataObject).reason).toBe('WITHDRAWN');
		await run(
			at(10),
			'recordConsent',
			{
				channel: 'sms',
				consentAction: 'grant',
				source: 'web-form',
				evidence: { wording: 'Yes to SMS offers', wordingVersion: 'v1' },
				...when,
			},
			s,
		);
		const allowed = await run([ana], 'check', params, s);
		expect(allowed.json('Guard', 0)).toHaveLength(1);
		const exported = await run([ana], 'exportContact', {}, s);
		const ledger = (exported.json('Guard', 0)[0].data as IDataObject)
			.consentLedger as IDataObject[];
		expect(
			ledger.map((e) => [
				e.action,
				(e.evidence as IDataObject).source,
				(e.evidence as IDataObject).wording,
			]),
		).toEqual([
			['grant', 'web-form', 'Yes to SMS offers'],
			['withdraw', 'sms-keyword', 'STOP'],
			['grant', 'web-form', 'Yes to SMS offers'],
		]);
	});

	it('a grant stamped minutes ahead (a browser clock, a form field) never beats the withdrawal made after it; a backdated grant that changes nothing says so on its item', async () => {
		const s = freshStore();
		const params = { channel: 'sms', ...noQuiet, frequencyCaps: { caps: [] } };
		const when = { recordOptions: { occurredAtField: 'at' } };
		const grant = {
			channel: 'sms',
			consentAction: 'grant',
			source: 'web-form',
			evidence: { wording: 'Yes to SMS offers' },
			...when,
		};
		await run(
			[{ ...ana, at: new Date(Date.now() + 4 * 60_000).toISOString() }],
			'recordConsent',
			grant,
			s,
		);
		const withdrawn = await run(
			[ana],
			'recordConsent',
			{ channel: 'sms', consentAction: 'withdraw', source: 'unsubscribe-page' },
			s,
		);
		expect((withdrawn.json('Guard', 0)[0].consentRecord as IDataObject).status).toBe('withdrawn');
		// Before, the grant's time (4 minutes ahead) outranked the withdrawal: Check allowed marketing.
		expect(
			(await run([ana], 'check', params, s))
				.json('Guard', 1)
				.map((j) => (j.blocked as IDataObject).reason),
		).toEqual(['WITHDRAWN']);
		// An import of last week's grant after the withdrawal: recorded (the ledger keeps it), changes nothing, and says so.
		const imported = await run(
			[{ ...ana, at: new Date(Date.now() - 7 * 86400_000).toISOString() }],
			'recordConsent',
			grant,
			s,
		);
		const record = imported.json('Guard', 0)[0].consentRecord as IDataObject;
		expect(record.status).toBe('withdrawn');
		expect(record.supersededBy).toMatchObject({ action: 'withdraw' });
		expect(String((record.supersededBy as IDataObject).note)).toMatch(
			/changed nothing: a withdraw counted from .*, after this event's time/,
		);
		expect(
			(await run([ana], 'check', params, s))
				.json('Guard', 1)
				.map((j) => (j.blocked as IDataObject).reason),
		).toEqual(['WITHDRAWN']);
		// A grant made a second later (a tie in the same second counts as a withdrawal) stands, and says nothing more.
		await new Promise((r) => setTimeout(r, 1100));
		const now = await run(
			[ana],
			'recordConsent',
			{
				channel: 'sms',
				consentAction: 'grant',
				source: 'web-form',
				evidence: { wording: 'Yes to SMS offers' },
			},
			s,
		);
		expect(now.json('Guard', 0)[0].consentRecord).not.toHaveProperty('supersededBy');
		expect((await run([ana], 'check', params, s)).json('Guard', 0)).toHaveLength(1);
	});

	it('Record Consent from input nobody verified (Input From: Anyone): a new person may be created; an existing person is never granted nor given a new address, only asked to confirm (request) or withdrawn', async () => {
		const s = freshStore();
		const publicGrant = {
			channel: 'sms',
			consentAction: 'grant',
			source: 'public-form',
			inputFrom: 'public',
			evidence: { wording: 'Yes' },
		};
		await run([ana], 'upsertContact', { resource: 'contact' }, s);
		// Before, a public form granted an existing person's consent and linked whatever phone it was given.
		const grant = await run(
			[{ contact: { id: 'ana', phone: '+34600999888' } }, ben],
			'recordConsent',
			publicGrant,
			s,
			{ continueOnFail: true },
		);
		const [forAna, forBen] = grant.json('Guard', 0);
		expect(forAna.error).toBe(
			'Contact "ana" already exists, and input nobody verified (a public form, a chat) cannot add phone +34600999888 to them',
		);
		expect((forBen.consentRecord as IDataObject).status).toBe('granted');
		const own = await run([ana], 'recordConsent', publicGrant, s, { continueOnFail: true });
		expect(own.json('Guard', 0)[0].error).toBe(
			'Contact "ana" already exists, and input nobody verified (a public form, a chat) cannot grant their consent',
		);
		const request = await run(
			[ana],
			'recordConsent',
			{ ...publicGrant, consentAction: 'request' },
			s,
		);
		expect((request.json('Guard', 0)[0].consentRecord as IDataObject).status).toBe('pending');
		const stop = await run(
			[ana],
			'recordConsent',
			{ ...publicGrant, consentAction: 'withdraw' },
			s,
		);
		expect((stop.json('Guard', 0)[0].consentRecord as IDataObject).status).toBe('withdrawn');
	});

	it('double opt-in: pending until confirmed (PENDING_CONFIRMATION), the token works once', async () => {
		const s = freshStore();
		const req = await run(
			[ana],
			'recordConsent',
			{ channel: 'email', consentAction: 'request', source: 'newsletter-form' },
			s,
		);
		const token = (req.json('Guard', 0)[0].confirmation as IDataObject).token as string;
		expect(token.length).toBeGreaterThanOrEqual(32);
		const pending = await run([ana], 'check', { channel: 'email' }, s);
		expect((pending.json('Guard', 1)[0].blocked as IDataObject).reason).toBe(
			'PENDING_CONFIRMATION',
		);
		const confirm = await run(
			[{ query: { token } }, { query: { token } }, { query: { token: 'forged' } }],
			'confirmConsent',
			{},
			s,
		);
		expect(confirm.json('Guard', 0).map((j) => (j.confirmation as IDataObject).outcome)).toEqual([
			'confirmed',
			'used',
			'unknown',
		]);
		const ok = await run([ana], 'check', { channel: 'email' }, s);
		expect(ok.json('Guard', 0)).toHaveLength(1);
	});

	it('SUPPRESSED on the suppression list (normalised address), honoured until removed', async () => {
		const s = freshStore();
		await run(
			[ana],
			'recordConsent',
			{ channel: 'email', consentAction: 'grant', source: 'web' },
			s,
		);
		await run(
			[{ address: ' ANA@example.com ' }],
			'addSuppression',
			{ addressField: 'address', suppressionChannel: 'email', reason: 'bounced' },
			s,
		);
		const res = await run([ana], 'check', { channel: 'email' }, s);
		expect(res.json('Guard', 1)[0].blocked).toMatchObject({ reason: 'SUPPRESSED' });
		expect(String((res.json('Guard', 1)[0].blocked as IDataObject).message)).toContain('bounced');
		await run(
			[{ address: 'ana@example.com' }],
			'removeSuppression',
			{ addressField: 'address', suppressionChannel: 'email' },
			s,
		);
		expect((await run([ana], 'check', { channel: 'email' }, s)).json('Guard', 0)).toHaveLength(1);
	});

	it('FREQUENCY_CAP: with 1 push per day, the second of two items for one contact waits, with retryAt', async () => {
		const s = freshStore();
		const anaPush = { contact: { ...ana.contact, pushToken: 'tok-ana' }, campaign: 'a' };
		await run(
			[anaPush],
			'recordConsent',
			{ channel: 'push', consentAction: 'grant', source: 'app' },
			s,
		);
		const caps = {
			caps: [{ maxMessages: 1, per: 1, unit: 'days', channel: 'push', purpose: 'all' }],
		};
		const res = await run(
			[
				{ ...anaPush, campaign: 'a' },
				{ ...anaPush, campaign: 'b' },
			],
			'check',
			{ channel: 'push', campaign: '={{ $json.campaign }}', frequencyCaps: caps, ...noQuiet },
			s,
		);
		expect(res.json('Guard', 0).map((j) => j.campaign)).toEqual(['a']);
		const blocked = res.json('Guard', 1)[0].blocked as IDataObject;
		expect(blocked.reason).toBe('FREQUENCY_CAP');
		const retryAt = Date.parse(String(blocked.retryAt));
		expect(retryAt - Date.now()).toBeGreaterThan(23 * 3600_000);
		expect(retryAt - Date.now()).toBeLessThanOrEqual(24 * 3600_000);
		// Re-running the same check is idempotent: the same key is recognised, not counted twice.
		const again = await run(
			[{ ...anaPush, campaign: 'a' }],
			'check',
			{ channel: 'push', campaign: '={{ $json.campaign }}', frequencyCaps: caps, ...noQuiet },
			s,
		);
		expect((again.json('Guard', 0)[0].consent as IDataObject).deduplicated).toBe(true);
	});

	it("QUIET_HOURS in the contact's own zone, with the next allowed instant", async () => {
		const s = freshStore();
		// A fixed-offset zone where it is now between 00:00 and 06:59 local.
		const now = DateTime.utc();
		const offset = [...Array(27).keys()]
			.map((k) => k - 12)
			.find((o) => {
				const h = now.setZone(`UTC${o >= 0 ? '+' : ''}${o}`).hour;
				return h >= 0 && h < 7;
			})!;
		const zone = `Etc/GMT${offset > 0 ? '-' : '+'}${Math.abs(offset)}`; // Etc/ signs are inverted
		const night = { contact: { ...ana.contact, timeZone: zone } };
		const day = { contact: { ...ben.contact, timeZone: 'UTC' } };
		await run(
			[night, day],
			'recordConsent',
			{ channel: 'sms', consentAction: 'grant', source: 'web' },
			s,
		);
		const res = await run(
			[night, day],
			'check',
			{ channel: 'sms', frequencyCaps: { caps: [] }, quietHours: { start: '07:00', end: '23:59' } },
			s,
		);
		const blocked = res.json('Guard', 1).find((j) => (j.contact as IDataObject).id === 'ana')!
			.blocked as IDataObject;
		expect(blocked.reason).toBe('QUIET_HOURS');
		expect(DateTime.fromISO(String(blocked.retryAt)).setZone(zone).toFormat('HH:mm')).toBe('07:00');
		// Said as a marketer reads it: her clock and zone first, then UTC with the day.
		const utc = DateTime.fromISO(String(blocked.retryAt)).toUTC();
		expect(String(blocked.message)).toContain(
			`next allowed 07:00 their time (UTC${offset < 0 ? '-' : '+'}${Math.abs(offset)}, ${zone}), ${utc.toFormat('HH:mm')} UTC on ${utc.toFormat('d LLL yyyy')}`,
		);
	});

	it('WINDOW_CLOSED for free-form WhatsApp without a recent inbound message; a template passes', async () => {
		const s = freshStore();
		await run(
			[ana, ben],
			'recordConsent',
			{ channel: 'whatsapp', consentAction: 'grant', source: 'web' },
			s,
		);
		const store = await openStore({ type: 'embedded', path: s.databasePath });
		await store.recordInbound([
			{ contactId: 'ben', channel: 'whatsapp', at: Date.now() - 3600_000 },
		]);
		const res = await run(
			[ana, ben],
			'check',
			{ channel: 'whatsapp', messageKind: 'free-form', ...noQuiet },
			s,
		);
		expect(res.json('Guard', 0).map((j) => (j.contact as IDataObject).id)).toEqual(['ben']);
		const blocked = res.json('Guard', 1)[0].blocked as IDataObject;
		expect(blocked.reason).toBe('WINDOW_CLOSED');
		expect(String(blocked.message)).toContain('approved template');
		const template = await run(
			[ana],
			'check',
			{ channel: 'whatsapp', messageKind: 'template', campaign: 't', ...noQuiet },
			s,
		);
		expect(template.json('Guard', 0)).toHaveLength(1);
	});

	it('INVALID_ADDRESS when the contact has no address on the channel', async () => {
		const s = freshStore();
		const res = await run(
			[{ contact: { id: 'no-phone', email: 'x@example.com' } }],
			'check',
			{ channel: 'sms' },
			s,
		);
		expect(res.json('Guard', 1)[0].blocked).toMatchObject({ reason: 'INVALID_ADDRESS' });
	});

	it('transactional purpose needs no marketing consent but still honours suppression', async () => {
		const s = freshStore();
		await run(
			[{ address: '+34600333444' }],
			'addSuppression',
			{ addressField: 'address', reason: 'manual' },
			s,
		);
		// A transactional message goes only to an address that is the person's: before the contact
		// book links Ana's phone, it is held (ADDRESS_NOT_LINKED); after, it is allowed.
		const before = await run([ana], 'check', { channel: 'sms', purpose: 'transactional' }, s);
		expect(before.json('Guard', 1)[0].blocked).toMatchObject({ reason: 'ADDRESS_NOT_LINKED' });
		await run([ana, ben], 'upsertContact', { resource: 'contact' }, s);
		const res = await run([ana, ben], 'check', { channel: 'sms', purpose: 'transactional' }, s);
		expect(res.json('Guard', 0).map((j) => (j.contact as IDataObject).id)).toEqual(['ana']);
		expect(res.json('Guard', 1)[0].blocked).toMatchObject({ reason: 'SUPPRESSED' });
	});

	it('bad input: each bad item becomes an error naming the field and value; the others are checked', async () => {
		const s = freshStore();
		await run([ana], 'recordConsent', { channel: 'sms', consentAction: 'grant', source: 'web' }, s);
		const items = [
			{ contact: { id: 'p', phone: '12345' } },
			{ contact: { id: 'z', phone: '+34600999000', timeZone: 'Mars/Olympus' } },
			{ contact: { phone: '+34600999001' } },
			{ contact: { id: 'c', phone: '+34600999002' }, channel: 'fax' },
			ana,
		];
		const run2 = await run(
			items.map((i) => ({ channel: 'sms', ...i })),
			'check',
			{ channel: 'fromField', channelField: 'channel', ...noQuiet },
			s,
			{ continueOnFail: true },
		);
		const blockedOut = run2.json('Guard', 1);
		expect(blockedOut.find((j) => String(j.error).includes('12345'))).toBeDefined();
		expect(blockedOut.find((j) => String(j.error).includes('Mars/Olympus'))).toBeDefined();
		// A person nobody holds is not bad input: Blocked (NO_CONSENT), saying what to do.
		expect(
			blockedOut.find(
				(j) =>
					(j.blocked as IDataObject | undefined)?.reason === 'NO_CONSENT' &&
					String((j.blocked as IDataObject).message).includes('contact.id'),
			),
		).toBeDefined();
		expect(blockedOut.find((j) => String(j.error).includes('"fax"'))).toBeDefined();
		expect(run2.json('Guard', 0).map((j) => (j.contact as IDataObject).id)).toEqual(['ana']);
		expect(run2.items('Guard', 0)[0].pairedItem).toEqual({ item: 4 });
	});

	it('a person the store has never seen: Blocked NO_CONSENT for marketing, ADDRESS_NOT_LINKED for a transactional message, each saying what to do', async () => {
		const s = freshStore();
		const stranger = { contact: { email: 'new.person@example.com', timeZone: 'UTC' } };
		const marketing = await run([stranger], 'check', { channel: 'email', ...noQuiet }, s);
		expect(marketing.json('Guard', 1).map((j) => (j.blocked as IDataObject).reason)).toEqual([
			'NO_CONSENT',
		]);
		const receipt = await run(
			[stranger],
			'check',
			{ channel: 'email', purpose: 'transactional', ...noQuiet },
			s,
		);
		expect(receipt.json('Guard', 1).map((j) => j.blocked)).toEqual([
			expect.objectContaining({
				reason: 'ADDRESS_NOT_LINKED',
				message: expect.stringMatching(/Add the person first \(Consent Guard > Contact > Upsert\)/),
			}),
		]);
	});

	it('Contact > Upsert without an ID creates the person by address, and says what it did not link and why', async () => {
		const s = freshStore();
		const fromList = {
			contact: { email: 'Lena@Example.com', phone: '+447700900123', name: 'Lena' },
		};
		const saved = await run([fromList], 'upsertContact', { resource: 'contact' }, s);
		const book = saved.json('Guard', 0)[0].contactBook as IDataObject;
		// Before, a person without a contact ID was an error with no hint.
		expect(book).toMatchObject({
			id: 'lena@example.com',
			created: true,
			addresses: [{ kind: 'email', value: 'lena@example.com' }],
		});
		// Before, the number was left out silently.
		expect(book.notLinked).toEqual([
			{ kind: 'phone', value: '+447700900123', reason: expect.stringMatching(/phone/i) },
		]);
		// The same person again, by the same address: found, not a second contact.
		const again = await run([fromList], 'upsertContact', { resource: 'contact' }, s);
		expect(again.json('Guard', 0)[0].contactBook).toMatchObject({
			id: 'lena@example.com',
			created: false,
		});
	});

	it('without continueOnFail, bad input stops the node with an error naming the field and value', async () => {
		const s = freshStore();
		const res = await runWorkflow(
			manualWorkflow({
				items: [{ contact: { id: 'p', phone: '12345' } }],
				node: guard('check', { channel: 'sms' }) as never,
			}),
			{ credentials: s.credentials },
		);
		expect(res.nodeError('Guard')?.message).toContain('12345');
	});

	it('erase leaves no email or phone, and the output does not repeat them', async () => {
		const s = freshStore();
		await run(
			[ana],
			'recordConsent',
			{
				channel: 'email',
				consentAction: 'grant',
				source: 'web',
				evidence: { ipAddressField: 'ip' },
			},
			s,
		);
		const erased = await run([ana], 'eraseContact', {}, s);
		expect(JSON.stringify(erased.json('Guard', 0))).not.toMatch(/example\.com|600111222/i);
		const store = await openStore({ type: 'embedded', path: s.databasePath });
		const exported = await store.exportContact('ana');
		expect(exported.consentLedger).toEqual([]);
		const res = await run([ana], 'check', { channel: 'email' }, s);
		expect(res.json('Guard', 1)[0].blocked).toMatchObject({ reason: 'SUPPRESSED' });
	});
});

describe.each([
	['sqlite', () => freshStore().credentials],
	...(PG_AVAILABLE
		? [
				[
					'postgres',
					() => ({
						convergentStoreApi: {
							storageType: 'postgres',
							...(PG_BASE as ICredentialDataDecryptedObject),
							schema: `cm_race_${randomBytes(4).toString('hex')}`,
						},
					}),
				] as const,
			]
		: []),
] as Array<[string, () => Record<string, ICredentialDataDecryptedObject>]>)(
	'Consent Guard race on %s',
	(_name, makeCreds) => {
		it('two executions racing for one contact under a cap of 1 -> exactly one allowed', async () => {
			const credentials = makeCreds();
			const params = {
				channel: 'sms',
				purpose: 'transactional',
				options: { transactionalExempt: false },
				frequencyCaps: {
					caps: [{ maxMessages: 1, per: 1, unit: 'days', channel: 'all', purpose: 'all' }],
				},
				...noQuiet,
				campaign: '={{ $json.campaign }}',
			};
			await runWorkflow(
				manualWorkflow({
					items: [ana],
					node: guard('recordConsent', {
						channel: 'sms',
						purpose: 'transactional',
						consentAction: 'grant',
						source: 'web',
					}) as never,
				}),
				{ credentials },
			);
			for (let round = 0; round < 5; round++) {
				const racer = { ...ana.contact, id: `racer-${round}`, phone: `+3460011100${round}` };
				const wf = (c: string) =>
					manualWorkflow({
						items: [{ ...ana, contact: racer, campaign: c }],
						node: guard('check', params) as never,
					});
				await runWorkflow(
					manualWorkflow({
						items: [{ contact: racer }],
						node: guard('recordConsent', {
							channel: 'sms',
							purpose: 'transactional',
							consentAction: 'grant',
							source: 'web',
						}) as never,
					}),
					{ credentials },
				);
				const [a, b] = await Promise.all([
					runWorkflow(wf('x'), { credentials }),
					runWorkflow(wf('y'), { credentials }),
				]);
				expect(a.json('Guard', 0).length + b.json('Guard', 0).length).toBe(1);
				expect(
					[...a.json('Guard', 1), ...b.json('Guard', 1)].map(
						(j) => (j.blocked as IDataObject).reason,
					),
				).toEqual(['FREQUENCY_CAP']);
			}
			const pg = credentials.convergentStoreApi;
			if (pg.storageType === 'postgres') await dropSchema(String(pg.schema));
		});
	},
);

describe('Consent Guard version 2: resources Consent, Suppression List, Contact', () => {
	const description = new ConsentGuard().description;
	/** What the editor shows for these values at this version: the resource and operation options. */
	const shown = (typeVersion: number, values: IDataObject) => {
		const visible = description.properties.filter((p) =>
			NodeHelpers.displayParameter(values as never, p, { typeVersion }, description),
		);
		const options = (name: string) =>
			(visible.find((p) => p.name === name)?.options ?? []).map((o) =>
				String((o as { value: string }).value),
			);
		return { resources: options('resource'), operations: options('operation') };
	};

	it("a new node is version 2; the suppression list and a person's data are no longer operations of Consent", () => {
		expect(description.defaultVersion).toBe(2);
		const v2 = shown(2, { resource: 'consent' });
		expect(v2.resources).toEqual(['consent', 'contact', 'suppression']);
		expect(v2.operations).toEqual([
			'check',
			'confirmConsent',
			'recordConsent',
			'recordSends',
			'unsubscribeLink',
		]);
		expect(shown(2, { resource: 'suppression' }).operations).toEqual([
			'addSuppression',
			'removeSuppression',
		]);
		expect(shown(2, { resource: 'contact' }).operations).toEqual(
			expect.arrayContaining(['eraseContact', 'exportContact', 'getContact']),
		);
		// Version 1 workflows open as they were saved.
		expect(shown(1, { resource: 'consent' }).resources).toEqual(['consent', 'contact']);
		expect(shown(1, { resource: 'consent' }).operations).toEqual(
			expect.arrayContaining([
				'addSuppression',
				'removeSuppression',
				'eraseContact',
				'exportContact',
				'check',
			]),
		);
	});

	it("a Contact ID Field given the ID instead of its path says so: the item's fields and what a path is", async () => {
		const s = freshStore();
		const error = await run(
			[{ name: 'Ben', city: 'Madrid' }],
			'getContact',
			{ resource: 'contact', contactFields: { idField: 'sample-ben' } },
			s,
		).catch((e: Error & { description?: string }) => e);
		expect(String((error as Error).message)).toBe(
			'Missing contact ID at "sample-ben" (found nothing; the item\'s fields: name, city)',
		);
		expect(String((error as Error & { description?: string }).description)).toContain(
			'A field path names where the value is, such as contact.id or id, not the value itself.',
		);
	});

	it('Suppression List > Add blocks the address (SUPPRESSED) and Remove lifts it; a version 1 workflow doing the same still runs', async () => {
		const s = freshStore();
		const v2 = (operation: string, parameters: IDataObject) =>
			guard(operation, parameters, { typeVersion: 2 });
		const go = async (items: IDataObject[], node: ReturnType<typeof guard>) => {
			const r = await runWorkflow(manualWorkflow({ items, node: node as never }), {
				credentials: s.credentials,
			});
			if (r.error) throw r.error;
			return r;
		};
		await go(
			[ana],
			v2('recordConsent', {
				resource: 'consent',
				channel: 'email',
				consentAction: 'grant',
				source: 'web',
			}),
		);
		await go(
			[{ address: 'ana@example.com' }],
			v2('addSuppression', {
				resource: 'suppression',
				addressField: 'address',
				suppressionChannel: 'email',
				reason: 'complained',
			}),
		);
		const blocked = await go([ana], v2('check', { resource: 'consent', channel: 'email' }));
		expect(blocked.json('Guard', 1)[0].blocked).toMatchObject({ reason: 'SUPPRESSED' });
		await go(
			[{ address: 'ana@example.com' }],
			v2('removeSuppression', {
				resource: 'suppression',
				addressField: 'address',
				suppressionChannel: 'email',
			}),
		);
		expect(
			(await go([ana], v2('check', { resource: 'consent', channel: 'email' }))).json('Guard', 0),
		).toHaveLength(1);
		// The same as a version 1 node (Consent > Add to Suppression List).
		await go(
			[{ address: 'ana@example.com' }],
			guard('addSuppression', {
				resource: 'consent',
				addressField: 'address',
				suppressionChannel: 'email',
				reason: 'bounced',
			}),
		);
		expect(
			(await go([ana], v2('check', { resource: 'consent', channel: 'email' }))).json('Guard', 1)[0]
				.blocked,
		).toMatchObject({ reason: 'SUPPRESSED' });
	});
});
