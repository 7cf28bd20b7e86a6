/**
 * The time rule of the consent ledger (consent-fold.ts: countedFrom), against adversarial times:
 * events carrying times in the future (minutes, a day, the year 2100), in the past (a second, a
 * day, 2020), equal to their arrival or to each other, none at all, arriving out of order, in
 * batches, replayed. Properties checked after every arrival, on both stores:
 *   1. a withdrawal wins over everything recorded before it: an arrival whose last event is a
 *      withdrawal leaves the key withdrawn, whatever time it or anything before it carried;
 *   2. nothing counts from after it was recorded: the state's time is never after the arrival;
 *   3. a grant made now (dated at its arrival) after everything else stands;
 *   4. an event that changed nothing because of its time says so (supersededBy), and only then;
 *   5. the state kept is the whole ledger folded again (the incremental path and a refold agree).
 * Arrivals run on a clock where only Date is fake (timers and I/O stay real): each batch arrives
 * at the time the case gives it.
 */
import fc from 'fast-check';

import { backends, useStore } from './helpers';
import {
	foldConsent,
	groupLedgerRows,
	LEDGER_FOLD_COLUMNS,
} from '../../nodes/shared/store/consent-fold';
import { consentKeyString, type ConsentEventInput } from '../../nodes/shared/store/types';

type Action = ConsentEventInput['action'];
const DAY = 86400_000;
const START = Date.UTC(2026, 11, 1, 9, 0, 0);

/** What an event carries, relative to its arrival (or an absolute year). */
const CARRIED = [
	'none',
	'now',
	'-1s',
	'-1d',
	'2020',
	'+2m',
	'+1d',
	'2100',
	'same-as-previous',
] as const;
type Carried = (typeof CARRIED)[number];

interface GenEvent {
	action: Action;
	keyword: boolean;
	carried: Carried;
}

const eventArb = fc.record({
	action: fc.constantFrom<Action>('grant', 'withdraw', 'restore', 'confirm', 'request'),
	keyword: fc.boolean(),
	carried: fc.constantFrom<Carried>(...CARRIED),
});
/** Arrivals: a gap before each (ms) and the batch that arrives. */
const caseArb = fc.array(
	fc.record({
		gap: fc.constantFrom(0, 1, 400, 1000, 60_000, DAY),
		batch: fc.array(eventArb, { minLength: 1, maxLength: 3 }),
	}),
	{ minLength: 1, maxLength: 6 },
);

function timeOf(
	carried: Carried,
	arrival: number,
	previous: number | undefined,
): number | undefined {
	switch (carried) {
		case 'none':
			return undefined;
		case 'now':
			return arrival;
		case '-1s':
			return arrival - 1000;
		case '-1d':
			return arrival - DAY;
		case '2020':
			return Date.UTC(2020, 0, 1);
		case '+2m':
			return arrival + 120_000;
		case '+1d':
			return arrival + DAY;
		case '2100':
			return Date.UTC(2100, 0, 1);
		case 'same-as-previous':
			return previous ?? arrival;
	}
}

/** Runs `body` with Date.now() at `t` (only Date is faked). */
async function arriving<T>(t: number, body: () => Promise<T>): Promise<T> {
	jest.useFakeTimers({
		now: t,
		doNotFake: [
			'hrtime',
			'nextTick',
			'performance',
			'queueMicrotask',
			'setImmediate',
			'clearImmediate',
			'setInterval',
			'clearInterval',
			'setTimeout',
			'clearTimeout',
		],
	});
	try {
		return await body();
	} finally {
		jest.useRealTimers();
	}
}

describe.each(backends())('Consent time rule on %s', (_name, makeBackend) => {
	const opened = useStore(makeBackend);

	let caseNo = 0;
	it('adversarial times: a withdrawal wins over all before it, nothing counts from the future, an honest grant now stands, what changed nothing says so, the state is the ledger refolded', async () => {
		const { store } = opened();
		await fc.assert(
			fc.asyncProperty(caseArb, async (arrivals) => {
				const key = {
					contactId: `time-${caseNo++}-${Date.now()}`,
					channel: 'sms' as const,
					purpose: 'marketing',
				};
				const k = consentKeyString(key);
				let clock = START;
				let previous: number | undefined;
				for (const { gap, batch } of arrivals) {
					clock += gap;
					const events: ConsentEventInput[] = batch.map((e: GenEvent) => {
						const at = timeOf(e.carried, clock, previous);
						previous = at ?? previous;
						return {
							...key,
							action: e.action,
							evidence: { source: 'property' },
							...(e.keyword && (e.action === 'withdraw' || e.action === 'restore')
								? { keyword: e.action === 'withdraw' ? ('stop' as const) : ('start' as const) }
								: {}),
							...(at === undefined ? {} : { occurredAt: at }),
						};
					});
					const entries = await arriving(clock, () => store.recordConsent(events));
					const state = (await store.getConsentStates([key])).get(k);
					// 1. The arrival's last event a withdrawal: withdrawn.
					if (batch[batch.length - 1].action === 'withdraw')
						expect(state?.status).toBe('withdrawn');
					// 2. Nothing counts from after its arrival.
					if (state) expect(state.updatedAt).toBeLessThanOrEqual(clock);
					for (const entry of entries) expect(entry.occurredAt).toBeLessThanOrEqual(clock);
					// 4. Said so exactly when the event means a status the key does not have, decided later.
					entries.forEach((entry, n) => {
						const means = { grant: 'granted', confirm: 'granted', withdraw: 'withdrawn' }[
							entry.action as string
						];
						if (entry.supersededBy) {
							expect(state?.status).not.toBe(means);
							expect(entry.supersededBy.at).toBeLessThanOrEqual(clock);
						} else if (means && n === entries.length - 1) {
							expect(state?.status).toBe(means);
						}
					});
				}
				// 3. A grant made now, after everything: it stands.
				clock += 1000;
				const [grant] = await arriving(clock, () =>
					store.recordConsent([
						{ ...key, action: 'grant', evidence: { source: 'property' }, occurredAt: clock },
					]),
				);
				expect(grant.supersededBy).toBeUndefined();
				expect((await store.getConsentStates([key])).get(k)?.status).toBe('granted');
				// 5. The state kept is the ledger folded again.
				const rows = await store.db.query<Record<string, unknown>>(
					`SELECT ${LEDGER_FOLD_COLUMNS} FROM consent_events WHERE contact_id = $1`,
					[key.contactId],
				);
				const refolded = foldConsent(groupLedgerRows(rows).get(k)!.events);
				const kept = (await store.getConsentStates([key])).get(k)!;
				expect({ status: kept.status, updatedAt: kept.updatedAt }).toEqual({
					status: refolded.status,
					updatedAt: refolded.updatedAt,
				});
			}),
			{ numRuns: 150, seed: 20261207 },
		);
	}, 120_000);

	it('a withdrawal wins over everything recorded before it: an old-dated STOP after a grant, an unsubscribe dated 2100 that a real re-grant still beats, a grant stamped minutes ahead', async () => {
		const { store } = opened();
		const key = (id: string) => ({
			contactId: `rule-${id}-${Date.now()}`,
			channel: 'sms' as const,
			purpose: 'marketing',
		});
		const status = async (k: ReturnType<typeof key>) =>
			(await store.getConsentStates([k])).get(consentKeyString(k));
		// A STOP dated 2020 reaching the store after a grant of 2026: withdrawn (before, the grant stood).
		const old = key('old-stop');
		await arriving(START, () =>
			store.recordConsent([
				{ ...old, action: 'grant', evidence: { source: 'web' }, occurredAt: START },
			]),
		);
		const [stop] = await arriving(START + 60_000, () =>
			store.recordConsent([
				{
					...old,
					action: 'withdraw',
					keyword: 'stop',
					evidence: { source: 'inbox' },
					occurredAt: Date.UTC(2020, 0, 1),
				},
			]),
		);
		expect(await status(old)).toMatchObject({ status: 'withdrawn' });
		expect(stop.supersededBy).toBeUndefined();
		// The ledger keeps the time the STOP carried (evidence); it counts from the grant's.
		expect(stop.occurredAt).toBe(Date.UTC(2020, 0, 1));
		// An unsubscribe dated 2100 counts from its arrival: a real grant a day later stands.
		const future = key('2100');
		await arriving(START, () =>
			store.recordConsent([
				{
					...future,
					action: 'withdraw',
					evidence: { source: 'esp' },
					occurredAt: Date.UTC(2100, 0, 1),
				},
			]),
		);
		await arriving(START + DAY, () =>
			store.recordConsent([
				{ ...future, action: 'grant', evidence: { source: 'web' }, occurredAt: START + DAY },
			]),
		);
		expect(await status(future)).toMatchObject({ status: 'granted', updatedAt: START + DAY });
		// A grant stamped 4 minutes ahead, then the person unsubscribes a minute later: withdrawn
		// (before, the grant's time beat the withdrawal for good).
		const ahead = key('ahead');
		await arriving(START, () =>
			store.recordConsent([
				{ ...ahead, action: 'grant', evidence: { source: 'form' }, occurredAt: START + 4 * 60_000 },
			]),
		);
		await arriving(START + 60_000, () =>
			store.recordConsent([
				{
					...ahead,
					action: 'withdraw',
					evidence: { source: 'unsubscribe' },
					occurredAt: START + 60_000,
				},
			]),
		);
		expect(await status(ahead)).toMatchObject({ status: 'withdrawn' });
		// A START re-delivered with its old time after a later STOP restores nothing, and says so.
		const redelivered = key('redelivered');
		await arriving(START, () =>
			store.recordConsent([
				{ ...redelivered, action: 'grant', evidence: { source: 'web' }, occurredAt: START },
			]),
		);
		await arriving(START + 10_000, () =>
			store.recordConsent([
				{
					...redelivered,
					action: 'withdraw',
					keyword: 'stop',
					evidence: { source: 'sms' },
					occurredAt: START + 10_000,
				},
			]),
		);
		await arriving(START + 20_000, () =>
			store.recordConsent([
				{
					...redelivered,
					action: 'restore',
					keyword: 'start',
					evidence: { source: 'sms' },
					occurredAt: START + 20_000,
				},
			]),
		);
		await arriving(START + 30_000, () =>
			store.recordConsent([
				{
					...redelivered,
					action: 'withdraw',
					keyword: 'stop',
					evidence: { source: 'sms' },
					occurredAt: START + 30_000,
				},
			]),
		);
		const [late] = await arriving(START + 40_000, () =>
			store.recordConsent([
				{
					...redelivered,
					action: 'restore',
					keyword: 'start',
					evidence: { source: 'sms' },
					occurredAt: START + 20_000,
				},
			]),
		);
		expect(await status(redelivered)).toMatchObject({
			status: 'withdrawn',
			updatedAt: START + 30_000,
		});
		expect(late.supersededBy).toEqual({ action: 'withdraw', at: START + 30_000 });
		// A STOP then a START ten seconds later, each delivered 30 s late: the START stands (the
		// STOP counts from its own time, not its arrival, when nothing recorded before is later).
		const slow = key('slow');
		await arriving(START, () =>
			store.recordConsent([
				{ ...slow, action: 'grant', evidence: { source: 'web' }, occurredAt: START },
			]),
		);
		await arriving(START + 60_000 + 30_000, () =>
			store.recordConsent([
				{
					...slow,
					action: 'withdraw',
					keyword: 'stop',
					evidence: { source: 'sms' },
					occurredAt: START + 60_000,
				},
			]),
		);
		await arriving(START + 70_000 + 30_000, () =>
			store.recordConsent([
				{
					...slow,
					action: 'restore',
					keyword: 'start',
					evidence: { source: 'sms' },
					occurredAt: START + 70_000,
				},
			]),
		);
		expect(await status(slow)).toMatchObject({ status: 'granted', updatedAt: START + 70_000 });
	});
});
