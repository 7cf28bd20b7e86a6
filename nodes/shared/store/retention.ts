/**
 * Retention: how long the store keeps each send's detail. Past that, a send is counted into the
 * daily rollups the reports read (the same counts, per day, campaign, channel and A/B arm), and its
 * row is replaced by the least that keeps the rules exact: its idempotency key, person, channel,
 * purpose, status and time (`sent_keys`: never sent twice, caps counted; reached by Export and
 * Erase). Campaign, variant, provider ids, errors, delivery, replies and complaints of that send
 * are gone (data minimisation: GDPR art. 5(1)(c) and (e)).
 */
import { chunks, inList, type SqlDb } from './db';
import { CHUNK, type Row } from './sql-rows';
import { FAILED, FAILED_WHY, LEFT_AT, METRIC_COLUMNS, touchMetrics } from './touch-metrics';

const DAY = 86_400_000;
/** The shortest retention: longer than any window the hot path reads detail for (replies are matched over 30 days). */
export const MIN_KEEP_MS = 31 * DAY;
/** Sends rolled up per call: a day of expiry in one go; a backlog (years of history on upgrade) at this pace a day. */
const BATCH = 20_000;

const DAY_OF = `(t.created_at / ${DAY}) * ${DAY}`;
const GROUP = `${DAY_OF}, COALESCE(t.campaign, ''), t.channel, COALESCE(t.variant, '')`;
const KEY = 'day, campaign, channel, variant';

/**
 * Rolls up the sends created before `now - keepMs` (whole days), at most `BATCH` per call, oldest
 * first. Returns how many were rolled up. `keepMs` under a month is taken as a month.
 */
export async function applyRetention(
	db: SqlDb,
	options: { keepMs: number; now?: number },
): Promise<number> {
	const now = options.now ?? Date.now();
	const cut = Math.floor((now - Math.max(MIN_KEEP_MS, options.keepMs)) / DAY) * DAY;
	const old = await db.query<{ idempotency_key: string }>(
		`SELECT idempotency_key FROM touches WHERE created_at < $1 ORDER BY created_at LIMIT ${BATCH}`,
		[cut],
	);
	const keys = old.map((r) => r.idempotency_key);
	for (const group of chunks(keys, CHUNK * 10))
		await db.transaction(async (tx) => {
			// Two workers rolling up at once: the second waits, then finds the rows gone (each
			// statement reads what committed before it), so no send is counted twice.
			if (tx.dialect === 'postgres')
				await tx.query("SELECT pg_advisory_xact_lock(hashtext('convergent-retention'))");
			for (const chunk of chunks(group, CHUNK)) await rollUp(tx, chunk);
		});
	return keys.length;
}

/** One chunk of sends into the rollups, their keys kept, their rows removed: all or nothing. */
async function rollUp(tx: SqlDb, keys: string[]): Promise<void> {
	const within = inList(tx, keys);
	const add = METRIC_COLUMNS.map((c) => `${c} = touch_rollups.${c} + excluded.${c}`).join(', ');
	// Replies, conversions and opt-outs are counted per window below (once per send each, however
	// many of the person's rows meet it: two withdrawals are one opt-out); here they are 0.
	await tx.run(
		`INSERT INTO touch_rollups (${KEY}, ${METRIC_COLUMNS.join(', ')})
		SELECT ${GROUP}, ${touchMetrics(null)}
		FROM touches t WHERE t.idempotency_key ${within.sql} GROUP BY ${GROUP}
		ON CONFLICT (${KEY}) DO UPDATE SET ${add}`,
		within.params,
	);
	for (const [kind, name, join, when] of OUTCOMES)
		await tx.run(
			`INSERT INTO touch_rollup_counts (${KEY}, kind, name, within_hours, n)
			SELECT ${GROUP}, '${kind}', ${name}, b.h, COUNT(DISTINCT t.idempotency_key) FROM touches t ${join}
			JOIN (${WINDOW_HOURS.map((h) => `SELECT ${h} AS h`).join(' UNION ALL ')}) b ON ${when} <= ${LEFT_AT} + b.h * CAST(3600000 AS BIGINT)
			WHERE t.status = 'sent' AND t.idempotency_key ${within.sql} GROUP BY ${GROUP}${name.startsWith("'") ? '' : `, ${name}`}, b.h
			ON CONFLICT (${KEY}, kind, name, within_hours) DO UPDATE SET n = touch_rollup_counts.n + excluded.n`,
			within.params,
		);
	await tx.run(
		`INSERT INTO touch_rollup_counts (${KEY}, kind, name, within_hours, n)
		SELECT ${GROUP}, 'failed', COALESCE(${FAILED_WHY}, 'unknown'), 0, COUNT(*) FROM touches t
		WHERE (${FAILED}) AND t.idempotency_key ${within.sql} GROUP BY ${GROUP}, COALESCE(${FAILED_WHY}, 'unknown')
		ON CONFLICT (${KEY}, kind, name, within_hours) DO UPDATE SET n = touch_rollup_counts.n + excluded.n`,
		within.params,
	);
	// A failed send may be taken again by a later run, under the caps like a new one: nothing to keep.
	await tx.run(
		`INSERT INTO sent_keys (idempotency_key, contact_id, channel, purpose, status, created_at)
		SELECT idempotency_key, contact_id, channel, purpose, status, created_at FROM touches t
		WHERE t.status <> 'failed' AND t.idempotency_key ${within.sql}
		ON CONFLICT (idempotency_key) DO NOTHING`,
		within.params,
	);
	await tx.run(`DELETE FROM touches WHERE idempotency_key ${within.sql}`, within.params);
}

/** The windows a rolled-up reply, conversion or opt-out is counted within (hours): the reports' defaults among them. */
export const WINDOW_HOURS = [1, 6, 12, 24, 48, 72, 168, 336, 720];

/** What a send led to, per window: [kind, name, join, the time it happened] over touches `t`. */
const OUTCOMES: Array<[string, string, string, string]> = [
	['replied', "''", '', `t.replied_at >= ${LEFT_AT} AND t.replied_at`],
	[
		'converted',
		'j.journey',
		'JOIN journey_state j ON j.contact_id = t.contact_id',
		`j.goal_reached_at >= ${LEFT_AT} AND j.goal_reached_at`,
	],
	[
		'opt_out',
		"''",
		"JOIN consent_events c ON c.contact_id = t.contact_id AND c.channel = t.channel AND c.action = 'withdraw'",
		`c.occurred_at >= ${LEFT_AT} AND c.occurred_at`,
	],
];

/** The longest kept window within `ms` (the report says it counted rolled-up sends within it). */
export function rolledUpWindow(ms: number): number {
	const hours = WINDOW_HOURS.filter((h) => h * 3_600_000 <= ms);
	return (hours.length ? hours[hours.length - 1] : WINDOW_HOURS[0]) * 3_600_000;
}

/**
 * The rollups a report over `since` adds to the detail it reads (whole days from `since`'s day),
 * in the report's row shape: replies, conversions and opt-outs within the kept windows closest to
 * the report's, failures by why.
 */
export async function readRollups(
	db: SqlDb,
	options: {
		since: number;
		campaign?: string;
		journey: string;
		replyWindowMs: number;
		conversionWindowMs: number;
	},
): Promise<{
	rows: Row[];
	failures: Row[];
	windows: { replyWindowMs: number; conversionWindowMs: number };
}> {
	const only = options.campaign !== undefined;
	const filter = `day >= $1${only ? ' AND campaign = $2' : ''}`;
	const params = [Math.floor(options.since / DAY) * DAY, ...(only ? [options.campaign!] : [])];
	const windows = {
		replyWindowMs: rolledUpWindow(options.replyWindowMs),
		conversionWindowMs: rolledUpWindow(options.conversionWindowMs),
	};
	const days = await db.query<Row>(`SELECT * FROM touch_rollups WHERE ${filter}`, params);
	const n = params.length;
	const counts = await db.query<Row>(
		`SELECT * FROM touch_rollup_counts WHERE ${filter} AND (kind = 'failed'
			OR (kind = 'replied' AND within_hours = $${n + 1})
			OR (kind = 'opt_out' AND within_hours = $${n + 2})
			OR (kind = 'converted' AND within_hours = $${n + 2} AND name = $${n + 3}))`,
		[
			...params,
			windows.replyWindowMs / 3_600_000,
			windows.conversionWindowMs / 3_600_000,
			options.journey,
		],
	);
	const key = (r: Row) => JSON.stringify([r.campaign, r.channel, r.variant]);
	const rows = new Map<string, Row>();
	for (const d of days) {
		const row = rows.get(key(d));
		if (!row) rows.set(key(d), { ...d });
		else for (const c of METRIC_COLUMNS) row[c] = Number(row[c]) + Number(d[c]);
	}
	const column: Record<string, string> = {
		replied: 'replied',
		opt_out: 'opt_outs',
		converted: 'converted',
	};
	const failures: Row[] = [];
	for (const c of counts) {
		if (c.kind === 'failed') failures.push({ ...c, why: c.name });
		const row = rows.get(key(c));
		if (row && column[String(c.kind)])
			row[column[String(c.kind)]] = Number(row[column[String(c.kind)]]) + Number(c.n);
	}
	return { rows: [...rows.values()], failures, windows };
}

/** Rolled-up sends of one campaign per A/B arm: how many went and how many met the metric (within the kept window closest to `windowMs`). */
export async function rollupArms(
	db: SqlDb,
	campaign: string,
	metric: 'delivered' | 'read' | 'clicked' | 'replied' | 'converted',
	options: { windowMs: number; journey?: string },
): Promise<Map<string, { sent: number; successes: number }>> {
	const arms = new Map<string, { sent: number; successes: number }>();
	const column =
		{ delivered: 'delivered', read: 'read_count', clicked: 'clicked' }[metric as string] ?? '0';
	const days = await db.query<Row>(
		`SELECT variant, SUM(sent) AS sent, SUM(${column}) AS successes FROM touch_rollups
		WHERE campaign = $1 AND variant <> '' GROUP BY variant`,
		[campaign],
	);
	for (const d of days)
		arms.set(String(d.variant), { sent: Number(d.sent), successes: Number(d.successes) });
	if (metric === 'replied' || metric === 'converted') {
		const outcomes = await db.query<Row>(
			`SELECT variant, SUM(n) AS n FROM touch_rollup_counts WHERE campaign = $1 AND variant <> '' AND kind = $2 AND name = $3 AND within_hours = $4 GROUP BY variant`,
			[
				campaign,
				metric,
				metric === 'converted' ? (options.journey ?? '') : '',
				rolledUpWindow(options.windowMs) / 3_600_000,
			],
		);
		for (const o of outcomes) {
			const arm = arms.get(String(o.variant));
			if (arm) arm.successes = Number(o.n);
		}
	}
	return arms;
}
