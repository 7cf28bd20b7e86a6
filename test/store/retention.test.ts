/**
 * Retention: sends older than the kept detail are rolled up into the report's daily counts and
 * their rows reduced to what keeps the rules exact. The reports read the same totals before and
 * after, a rolled-up send is never sent again, a long cap still counts it, and Export and Erase
 * reach what is kept.
 */
import { insertRows } from '../../nodes/shared/store/db';
import type { SqlStore } from '../../nodes/shared/store/sql-store';
import { backends, useStore } from './helpers';

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 11, 8, 12);
const KEEP = 396 * DAY; // 13 months
const OLD = NOW - 500 * DAY;
const RECENT = NOW - 10 * DAY;
const WINDOWS = { replyWindowMs: 48 * 3_600_000, conversionWindowMs: 7 * DAY, journey: 'Shop' };

/** A campaign's sends, old and recent alike: statuses, arms, deliveries, replies, failures. */
function sends(at: number, tag: string): Array<Array<string | number | null>> {
	const rows: Array<Array<string | number | null>> = [];
	for (let i = 0; i < 24; i++) {
		const person = `r${i % 8}`;
		const failed = i % 6 === 5;
		const delivery = failed ? null : [null, 'delivered', 'read', 'clicked', 'bounced'][i % 5];
		const replied = !failed && i % 4 === 0 ? at + 3_600_000 * (i % 3 === 0 ? 10 : 60) : null;
		rows.push([
			`${tag}-${i}`,
			person,
			i % 3 === 0 ? 'email' : 'sms',
			'marketing',
			i % 5 === 4 ? null : 'spring',
			failed ? 'failed' : 'sent',
			failed ? (i % 2 ? '21610' : '30007') : null,
			delivery,
			i % 2 ? 'A' : 'B',
			at + i * 60_000,
			at + i * 60_000,
			failed ? null : at + i * 60_000,
			replied,
			delivery === 'bounced' ? at + DAY : null,
		]);
	}
	return rows;
}

async function seed(store: SqlStore): Promise<void> {
	await insertRows(
		store.db,
		'INSERT INTO touches (idempotency_key, contact_id, channel, purpose, campaign, status, error_code, delivery_status, variant, created_at, updated_at, sent_at, replied_at, bounced_at)',
		14,
		[...sends(OLD, 'old'), ...sends(RECENT, 'new')],
	);
	// Goals within a week of some sends (old and recent), an opt-out within a week of an old one.
	for (const [person, at] of [
		['r0', OLD + 2 * DAY],
		['r3', OLD + 20 * DAY],
		['r1', RECENT + DAY],
	] as const)
		await store.db.run(
			'INSERT INTO journey_state (journey, contact_id, stage, entered_at, goal_reached_at) VALUES ($1, $2, $3, $4, $5)',
			['Shop', person, 'Customer', at, at],
		);
	// Two withdrawals on the channel within the week (two purposes): still one opt-out per send.
	await store.recordConsent(
		(['marketing', 'service'] as const).map((purpose, k) => ({
			contactId: 'r2',
			channel: 'sms' as const,
			purpose,
			action: 'withdraw' as const,
			evidence: { source: 'test' },
			occurredAt: OLD + (3 + k) * DAY,
		})),
	);
}

async function reports(store: SqlStore) {
	const year = NOW - 600 * DAY;
	const all = await store.campaignReport({ since: year, ...WINDOWS });
	const spring = await store.campaignReport({ since: year, campaign: 'spring', ...WINDOWS });
	const none = await store.campaignReport({ since: year, campaign: '', ...WINDOWS });
	const month = await store.campaignReport({ since: NOW - 30 * DAY, ...WINDOWS });
	const arms: Record<string, unknown> = {};
	for (const metric of ['delivered', 'read', 'clicked', 'replied', 'converted'] as const)
		arms[metric] = await store.abTestResults('spring', metric, {
			windowMs: 7 * DAY,
			journey: 'Shop',
		});
	return { all: all.rows, spring: spring.rows, none: none.rows, month, arms };
}

describe.each(backends())('retention on %s', (_name, makeBackend) => {
	const s = useStore(makeBackend);

	it('rolls up old sends: the reports read the same, nothing goes twice, caps and Erase still reach them', async () => {
		const { store } = s();
		await seed(store);
		const before = await reports(store);
		expect(before.all.reduce((n, r) => n + r.sent, 0)).toBe(40);
		expect(before.all.reduce((n, r) => n + r.replied + r.converted + r.optOuts, 0)).toBeGreaterThan(
			3,
		);

		expect(await store.applyRetention({ keepMs: KEEP, now: NOW })).toBe(24);
		// A second pass finds nothing more: no send is counted twice.
		expect(await store.applyRetention({ keepMs: KEEP, now: NOW })).toBe(0);

		const after = await reports(store);
		expect(after.all).toEqual(before.all);
		expect(after.spring).toEqual(before.spring);
		expect(after.none).toEqual(before.none);
		expect(after.arms).toEqual(before.arms);
		// The last 30 days hold only detail: the same report, and it says nothing was rolled up.
		expect(after.month).toEqual(before.month);
		expect(after.month.rolledUp).toBeUndefined();
		expect((await store.campaignReport({ since: NOW - 600 * DAY, ...WINDOWS })).rolledUp).toEqual({
			replyWindowMs: 48 * 3_600_000,
			conversionWindowMs: 7 * DAY,
		});

		// A window between the kept ones counts rolled-up replies within the kept one under it, and says so.
		const wider = await store.campaignReport({
			since: NOW - 600 * DAY,
			...WINDOWS,
			replyWindowMs: 60 * 3_600_000,
		});
		expect(wider.rolledUp?.replyWindowMs).toBe(48 * 3_600_000);

		// The old rows' detail is gone; what is kept names no campaign, arm, provider or error.
		const left = await store.db.query<{ n: number }>(
			'SELECT COUNT(*) AS n FROM touches WHERE created_at < $1',
			[NOW - KEEP],
		);
		expect(Number(left[0].n)).toBe(0);
		const kept = await store.db.query<Record<string, unknown>>(
			'SELECT * FROM sent_keys ORDER BY idempotency_key',
		);
		expect(kept).toHaveLength(20); // the 4 failed ones may be taken again: nothing to keep
		expect(Object.keys(kept[0]).sort()).toEqual([
			'channel',
			'contact_id',
			'created_at',
			'idempotency_key',
			'purpose',
			'status',
		]);

		// Never sent twice: a rolled-up send's key is a duplicate; a rolled-up failure may go again.
		const [again, failedBefore] = await store.reserveTouches(
			[
				{
					idempotencyKey: 'old-0',
					contactId: 'r0',
					channel: 'email',
					purpose: 'marketing',
					caps: [],
				},
				{
					idempotencyKey: 'old-5',
					contactId: 'r5',
					channel: 'sms',
					purpose: 'marketing',
					caps: [],
				},
			],
			NOW,
		);
		expect(again).toMatchObject({
			outcome: 'duplicate',
			existing: { status: 'sent', contactId: 'r0' },
		});
		expect(failedBefore.outcome).toBe('reserved');

		// A cap longer than the kept detail still counts the rolled-up sends (r6 got 3 in the old batch).
		const cap = {
			id: 'three-a-year-and-a-half',
			max: 3,
			windowMs: 560 * DAY,
			purpose: 'marketing' as const,
		};
		const [capped] = await store.reserveTouches(
			[
				{
					idempotencyKey: 'cap-r6',
					contactId: 'r6',
					channel: 'sms',
					purpose: 'marketing',
					caps: [cap],
				},
			],
			NOW,
		);
		expect(capped).toMatchObject({ outcome: 'capped', capId: cap.id });

		// Export shows the kept keys; Erase removes them.
		const exported = await store.exportContact('r0');
		expect((exported as unknown as { sentKeys: unknown[] }).sentKeys.length).toBeGreaterThan(0);
		await store.eraseContact('r0', []);
		const gone = await store.db.query<{ n: number }>(
			"SELECT COUNT(*) AS n FROM sent_keys WHERE contact_id = 'r0'",
		);
		expect(Number(gone[0].n)).toBe(0);
	});

	it('keeps at least a month of detail, and a month-old send is not rolled up', async () => {
		const { store } = s();
		await insertRows(
			store.db,
			'INSERT INTO touches (idempotency_key, contact_id, channel, purpose, status, created_at, updated_at)',
			7,
			[['month-old', 'm1', 'sms', 'marketing', 'sent', NOW - 20 * DAY, NOW - 20 * DAY]],
		);
		expect(await store.applyRetention({ keepMs: DAY, now: NOW })).toBe(0);
		expect((await store.getTouches(['month-old'])).get('month-old')?.status).toBe('sent');
	});

	it('reports keep their rows in campaign, channel and arm order (a name that another begins with comes first)', async () => {
		const { store } = s();
		const at = NOW - DAY;
		await insertRows(
			store.db,
			'INSERT INTO touches (idempotency_key, contact_id, channel, purpose, campaign, status, variant, created_at, updated_at)',
			9,
			[
				['order-1', 'o1', 'sms', 'marketing', 'spring sale', 'sent', 'A', at, at],
				['order-2', 'o2', 'sms', 'marketing', 'spring', 'sent', 'B', at, at],
				['order-3', 'o3', 'email', 'marketing', 'spring', 'sent', 'A', at, at],
			],
		);
		await store.countBlocked([
			{ campaign: 'spring sale', channel: 'sms', reason: 'QUIET_HOURS', at },
			{ campaign: 'spring', channel: 'sms', reason: 'NO_CONSENT', at },
		]);
		const report = await store.campaignReport({ since: NOW - 2 * DAY, ...WINDOWS });
		// (the store is shared with the tests above: only this test's campaigns)
		const spring = report.rows.filter((r) => r.campaign.startsWith('spring'));
		expect(spring.map((r) => [r.campaign, r.channel, r.variant])).toEqual([
			['spring', 'email', 'A'],
			['spring', 'sms', 'B'],
			['spring sale', 'sms', 'A'],
		]);
		expect(report.blocked.map((b) => b.campaign)).toEqual(['spring', 'spring sale']);
	});
});
