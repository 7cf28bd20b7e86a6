/**
 * Property-based tests of the consent promise (fast-check): random sequences of consent events
 * recorded in any arrival order, suppressions, erasures, caps with history, zones, instants,
 * inbound messages (service windows) and batches with duplicate items. Invariants, checked
 * against oracles written independently of the store's fold and of luxon:
 *   1. nothing is sent to a person whose latest consent event for the purpose (by event time, a
 *      tie counting as a withdrawal) is a withdrawal, nor to one never granted;
 *   2. nothing goes to a suppressed or erased address;
 *   3. no frequency cap is exceeded;
 *   4. nothing goes out in quiet hours in the person's zone;
 *   5. nothing is sent twice per idempotency key;
 *   6. no free-form WhatsApp message outside the 24 h service window.
 * The core pipeline (Consent Guard's gate, then Touchpoint's send-time re-check and claim) runs
 * 1,000 generated cases; the Touchpoint node itself, in n8n's engine against the Twilio mock,
 * runs another 100.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import type { IDataObject } from 'n8n-workflow';

import { checkBatch, recheckStanding, type GateRequest } from '../../nodes/shared/policy';
import { openStore } from '../../nodes/shared/store';
import type { ConsentEventInput, FrequencyCapRule, Store } from '../../nodes/shared/store/types';
import { manualWorkflow, runWorkflow } from '../harness';
import { TwilioMock } from '../mocks';

const DAY = 86400_000;
const ZONES = [
	'Europe/Madrid',
	'America/New_York',
	'Asia/Tokyo',
	'Pacific/Honolulu',
	'Australia/Sydney',
	'UTC',
];
type Action = ConsentEventInput['action'];

interface GenEvent {
	action: Action;
	keyword: boolean;
	/** Seconds before "now". */
	ago: number;
}

interface Person {
	events: GenEvent[];
	shuffle: number[];
	batches: number;
	zone: string;
	suppressed: boolean;
	erased: boolean;
	history: number[];
	items: number;
	sameKey: boolean;
	stopInBetween: boolean;
	/** The channel of the message: SMS, or WhatsApp free-form (needs the 24 h service window). */
	channel: 'sms' | 'whatsapp';
	/** When the person last wrote on the channel (hours ago), or never. */
	inboundHoursAgo: number | null;
}

interface SetUp {
	id: string;
	phone: string;
	events: Array<{ action: Action; at: number; keyword: boolean }>;
}

const eventArb: fc.Arbitrary<GenEvent> = fc.record({
	action: fc.constantFrom<Action>('grant', 'withdraw', 'restore', 'request', 'confirm'),
	keyword: fc.boolean(),
	ago: fc.integer({ min: 1, max: 40 }),
});

const personArb: fc.Arbitrary<Person> = fc.record({
	events: fc.array(eventArb, { maxLength: 6 }),
	/** Arrival order: a permutation seed, and how many batches the events arrive in. */
	shuffle: fc.array(fc.nat(), { minLength: 6, maxLength: 6 }),
	batches: fc.integer({ min: 1, max: 3 }),
	zone: fc.constantFrom(...ZONES),
	suppressed: fc.boolean(),
	erased: fc.boolean(),
	/** Touches already in the cap window (hours ago). */
	history: fc.array(fc.integer({ min: 1, max: 24 * 6 }), { maxLength: 3 }),
	/** Items for this person in the batch, and how many carry the same key. */
	items: fc.integer({ min: 1, max: 3 }),
	sameKey: fc.boolean(),
	/** A STOP between the Check and the send (a Wait in between). */
	stopInBetween: fc.boolean(),
	channel: fc.constantFrom<'sms' | 'whatsapp'>('sms', 'whatsapp'),
	inboundHoursAgo: fc.option(fc.integer({ min: 0, max: 48 }), { nil: null }),
});

/** Oracle for invariant 1, independent of the store's fold. */
function consentForbids(events: Array<{ action: Action; at: number }>): boolean {
	if (!events.some((e) => e.action === 'grant' || e.action === 'confirm')) return true;
	const sec = (at: number) => Math.floor(at / 1000);
	const latest = Math.max(...events.map((e) => sec(e.at)));
	// A withdrawal in the latest second is the latest event (a tie counts as a withdrawal).
	return events.some((e) => e.action === 'withdraw' && sec(e.at) === latest);
}

/** Oracle for invariant 4 with the platform's Intl, not luxon. */
function quietNow(now: number, zone: string): boolean {
	const parts = new Intl.DateTimeFormat('en-GB', {
		timeZone: zone,
		hour: '2-digit',
		minute: '2-digit',
		hourCycle: 'h23',
	}).formatToParts(new Date(now));
	const h = Number(parts.find((p) => p.type === 'hour')!.value);
	const m = Number(parts.find((p) => p.type === 'minute')!.value);
	const minute = h * 60 + m;
	return !(minute >= 8 * 60 && minute < 21 * 60);
}

function permute<T>(list: T[], seeds: number[]): T[] {
	const out = [...list];
	for (let i = out.length - 1; i > 0; i--) {
		const j = seeds[i % seeds.length] % (i + 1);
		[out[i], out[j]] = [out[j], out[i]];
	}
	return out;
}

function chunkInto<T>(list: T[], n: number): T[][] {
	const size = Math.max(1, Math.ceil(list.length / n));
	const out: T[][] = [];
	for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
	return out;
}

let store: Store;
const databasePath = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cm-prop-')), 'store.sqlite');
beforeAll(async () => {
	store = await openStore({ type: 'embedded', path: databasePath });
});

let caseNo = 0;

/** Writes a person's generated history into the store; returns the consent events as recorded. */
async function setUp(prefix: string, p: Person, i: number, now: number): Promise<SetUp> {
	const id = `${prefix}-p${i}`;
	const phone = `+3460${String(1_000_000 + ((caseNo * 7 + i) % 8_999_999)).padStart(7, '0')}`;
	const events = p.events.map((e) => ({
		action: e.action,
		at: now - e.ago * 1000,
		keyword: e.keyword,
	}));
	const inputs: ConsentEventInput[] = events.map((e) => ({
		contactId: id,
		channel: p.channel,
		purpose: 'marketing',
		address: phone,
		action: e.action,
		...(e.keyword && (e.action === 'withdraw' || e.action === 'restore')
			? { keyword: e.action === 'withdraw' ? ('stop' as const) : ('start' as const) }
			: {}),
		evidence: { source: 'property' },
		occurredAt: e.at,
	}));
	for (const batch of chunkInto(permute(inputs, p.shuffle), p.batches))
		await store.recordConsent(batch);
	if (p.suppressed)
		await store.addSuppressions([{ address: phone, channel: p.channel, reason: 'bounced' }]);
	if (p.inboundHoursAgo !== null && !p.erased)
		await store.recordInbound([
			{ contactId: id, channel: p.channel, at: now - p.inboundHoursAgo * 3600_000 - 1 },
		]);
	if (p.erased) await store.eraseContact(id, [phone]);
	// Earlier touches in the cap window (only for a person not erased: erasure deletes touches).
	if (!p.erased) {
		for (const [k, hours] of p.history.entries()) {
			await store.reserveTouches(
				[
					{
						idempotencyKey: `${id}-hist-${k}`,
						contactId: id,
						channel: p.channel,
						purpose: 'marketing',
						caps: [],
					},
				],
				now - hours * 3600_000,
			);
		}
	}
	return { id, phone, events };
}

describe('consent promise, property-based', () => {
	it('the gate and the send stage, 1,000 generated cases', async () => {
		await fc.assert(
			fc.asyncProperty(
				fc.array(personArb, { minLength: 1, maxLength: 3 }),
				fc.integer({ min: 0, max: 7 * DAY }),
				fc.integer({ min: 1, max: 3 }),
				fc.integer({ min: 1, max: 7 }),
				async (people, offset, capMax, capDays) => {
					const prefix = `core${++caseNo}`;
					const now = Date.UTC(2026, 10, 2) + offset;
					const cap: FrequencyCapRule = {
						id: 'cap',
						max: capMax,
						windowMs: capDays * DAY,
						purpose: 'marketing',
					};
					const setups: SetUp[] = [];
					for (const [i, p] of people.entries()) setups.push(await setUp(prefix, p, i, now));
					const requests: GateRequest[] = [];
					const personOf: number[] = [];
					people.forEach((p, i) => {
						for (let k = 0; k < p.items; k++) {
							requests.push({
								contact: { id: setups[i].id, phone: setups[i].phone, timeZone: p.zone },
								channel: p.channel,
								purpose: 'marketing',
								campaign: 'c',
								messageKind: 'free-form',
								idempotencyKey: p.sameKey ? `${setups[i].id}-k` : `${setups[i].id}-k${k}`,
							});
							personOf.push(i);
						}
					});
					const settings = {
						now,
						caps: [cap],
						quietHours: {
							sms: { start: '08:00', end: '21:00' },
							whatsapp: { start: '08:00', end: '21:00' },
						},
					};
					// Consent Guard: check and reserve.
					const decisions = await checkBatch(store, requests, settings);
					// A STOP arrives before the send for some people.
					const stops: ConsentEventInput[] = [];
					people.forEach((p, i) => {
						if (p.stopInBetween) {
							stops.push({
								contactId: setups[i].id,
								channel: p.channel,
								purpose: 'marketing',
								action: 'withdraw',
								keyword: 'stop',
								evidence: { source: 'sms-keyword' },
								occurredAt: now + 1000,
							});
							setups[i].events.push({ action: 'withdraw', at: now + 1000, keyword: true });
						}
					});
					if (stops.length) await store.recordConsent(stops);
					// Touchpoint at send time: re-check, one claim per key, send, complete.
					const allowed = requests
						.map((r, j) => ({ r, j, d: decisions[j] }))
						.filter((x) => x.d.allowed);
					const standing = await recheckStanding(
						store,
						allowed.map((x) => x.r),
						settings,
					);
					const stillAllowed = allowed.filter((_, k) => standing[k].allowed);
					// As Touchpoint does: a reservation that no longer stands is released.
					for (const [k, x] of allowed.entries())
						if (!standing[k].allowed) await store.releaseTouches([x.d.idempotencyKey]);
					const keys = [...new Set(stillAllowed.map((x) => x.d.idempotencyKey))];
					const claims = await store.claimTouches(keys, now);
					const sentTo = new Map<number, number>();
					const sentKeys = new Map<string, number>();
					for (const key of keys) {
						if (claims.get(key) !== 'claimed') continue;
						const x = stillAllowed.find((y) => y.d.idempotencyKey === key)!;
						sentKeys.set(key, (sentKeys.get(key) ?? 0) + 1);
						sentTo.set(personOf[x.j], (sentTo.get(personOf[x.j]) ?? 0) + 1);
						await store.completeTouch(key, { status: 'sent', providerMessageId: `sid-${key}` });
					}
					// A re-run of the same batch (a retried execution) sends nothing new.
					const again = await checkBatch(store, requests, settings);
					const againKeys = [
						...new Set(
							requests
								.map((_, j) => j)
								.filter((j) => again[j].allowed)
								.map((j) => again[j].idempotencyKey),
						),
					];
					const againClaims = await store.claimTouches(againKeys, now);
					expect([...againClaims.values()].filter((c) => c === 'claimed')).toEqual([]);

					people.forEach((p, i) => {
						const sends = sentTo.get(i) ?? 0;
						const s = setups[i];
						if (consentForbids(s.events))
							expect({ case: prefix, person: i, invariant: 'consent', sends }).toEqual({
								case: prefix,
								person: i,
								invariant: 'consent',
								sends: 0,
							});
						if (p.suppressed || p.erased)
							expect({ case: prefix, person: i, invariant: 'suppression', sends }).toMatchObject({
								sends: 0,
							});
						if (quietNow(now, p.zone))
							expect({ case: prefix, person: i, invariant: 'quiet hours', sends }).toMatchObject({
								sends: 0,
							});
						if (
							p.channel === 'whatsapp' &&
							(p.inboundHoursAgo === null || p.inboundHoursAgo >= 24 || p.erased)
						)
							expect({ case: prefix, person: i, invariant: 'service window', sends }).toMatchObject(
								{ sends: 0 },
							);
						const history = p.erased
							? 0
							: p.history.filter((h) => h * 3600_000 < cap.windowMs).length;
						expect(history + sends).toBeLessThanOrEqual(Math.max(capMax, history));
						if (history >= capMax) expect(sends).toBe(0);
					});
					for (const [, n] of sentKeys) expect(n).toBe(1);
				},
			),
			{ numRuns: 1000 },
		);
	}, 600_000);
});

describe('consent promise through the Touchpoint node, property-based', () => {
	const twilio = new TwilioMock();
	let credentials: Record<string, IDataObject>;
	beforeAll(async () => {
		await twilio.start();
		credentials = {
			convergentStoreApi: { storageType: 'embedded', databasePath },
			twilioMessagingApi: {
				accountSid: twilio.accountSid,
				authToken: twilio.authToken,
				from: '+15550100000',
				ratePerSecond: 1000,
				baseUrl: twilio.baseUrl,
			},
		};
	});
	afterAll(() => twilio.stop());

	it('no Consent Guard before it: 100 generated batches, sent (and re-sent) by the node itself', async () => {
		await fc.assert(
			fc.asyncProperty(
				fc.array(personArb, { minLength: 1, maxLength: 3 }),
				fc.integer({ min: 1, max: 3 }),
				async (people, capMax) => {
					const prefix = `node${++caseNo}`;
					const now = Date.now();
					twilio.reset();
					const setups: SetUp[] = [];
					for (const [i, p] of people.entries())
						setups.push(
							await setUp(prefix, { ...p, stopInBetween: false, channel: 'sms' }, i, now),
						);
					const items: IDataObject[] = [];
					people.forEach((p, i) => {
						for (let k = 0; k < p.items; k++)
							items.push({
								contact: { id: setups[i].id, phone: setups[i].phone, timeZone: p.zone },
								key: p.sameKey ? `${setups[i].id}-k` : `${setups[i].id}-k${k}`,
							});
					});
					const parameters = {
						channel: 'sms',
						purpose: 'marketing',
						campaign: 'prop',
						text: 'Offer: 10% off. Reply STOP to opt out.',
						frequencyCaps: {
							caps: [
								{ channel: 'all', maxMessages: capMax, per: 7, unit: 'days', purpose: 'marketing' },
							],
						},
						quietHours: { start: '08:00', end: '21:00' },
						options: { idempotencyKeyField: 'key' },
					};
					const wf = manualWorkflow({
						items,
						node: {
							type: 'touchpoint',
							name: 'Send',
							parameters,
							credentials: { convergentStoreApi: 'Store', twilioMessagingApi: 'Twilio' },
						},
					});
					const first = await runWorkflow(wf, { credentials: credentials as never });
					expect(first.error).toBeUndefined();
					const rerun = await runWorkflow(wf, { credentials: credentials as never });
					expect(rerun.error).toBeUndefined();
					const to = twilio.requests.map((r) => String((r.body as IDataObject).To));
					const keysSent = new Map<string, number>();
					for (const j of first.json('Send', 0).concat(rerun.json('Send', 0))) {
						const tp = j.touchpoint as IDataObject;
						if (tp.deduplicated === false)
							keysSent.set(String(j.key), (keysSent.get(String(j.key)) ?? 0) + 1);
					}
					people.forEach((p, i) => {
						const sends = to.filter((t) => t === setups[i].phone).length;
						const s = setups[i];
						if (
							consentForbids(s.events) ||
							p.suppressed ||
							p.erased ||
							quietNow(Date.now(), p.zone) ||
							quietNow(now, p.zone)
						) {
							// (At a quiet-hours boundary the node's own clock may differ from the test's by a moment.)
							if (!(quietNow(Date.now(), p.zone) !== quietNow(now, p.zone)))
								expect({ case: prefix, person: i, sends }).toEqual({
									case: prefix,
									person: i,
									sends: 0,
								});
						}
						const history = p.erased ? 0 : p.history.length;
						if (history >= capMax) expect(sends).toBe(0);
						else expect(history + sends).toBeLessThanOrEqual(capMax);
					});
					for (const [, n] of keysSent) expect(n).toBe(1);
					expect(twilio.requests.length).toBe([...keysSent.values()].reduce((a, b) => a + b, 0));
				},
			),
			{ numRuns: 100 },
		);
	}, 600_000);
});
