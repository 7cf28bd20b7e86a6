/**
 * Insights: blocked counts, the campaign report, A/B results and AI usage, read from the touches as they stand.
 */
import { chunks, insertRows, type SqlDb, type SqlParam } from './db';
import { readRollups, rollupArms } from './retention';
import { CHUNK, type Row } from './sql-rows';
import {
	CONVERTED_WITHIN,
	FAILED,
	FAILED_WHY,
	METRIC_COLUMNS,
	REPLIED_WITHIN,
	touchMetrics,
} from './touch-metrics';
import type { AbMetric, AiUsageRow, AiUsageTotal, CampaignReport } from './types';

export async function countBlocked(
	db: SqlDb,
	rows: Array<{ campaign?: string; channel: string; reason: string; at: number }>,
): Promise<void> {
	const counts = new Map<
		string,
		{ campaign: string; channel: string; reason: string; day: number; count: number }
	>();
	for (const r of rows) {
		const day = Math.floor(r.at / 86_400_000) * 86_400_000;
		const k = JSON.stringify([r.campaign ?? '', r.channel, r.reason, day]);
		const c = counts.get(k) ?? {
			campaign: r.campaign ?? '',
			channel: r.channel,
			reason: r.reason,
			day,
			count: 0,
		};
		c.count++;
		counts.set(k, c);
	}
	for (const chunk of chunks([...counts.values()], CHUNK)) {
		await insertRows(
			db,
			'INSERT INTO blocked_counts (campaign, channel, reason, day, count)',
			5,
			chunk.map((c) => [c.campaign, c.channel, c.reason, c.day, c.count]),
			'ON CONFLICT (campaign, channel, reason, day) DO UPDATE SET count = blocked_counts.count + excluded.count',
		);
	}
}

export async function campaignReport(
	db: SqlDb,
	options: {
		since: number;
		campaign?: string;
		replyWindowMs: number;
		conversionWindowMs: number;
		journey: string;
	},
): Promise<CampaignReport> {
	const only = options.campaign !== undefined;
	// One pass over the campaign's touches: statuses by CASE, replies, conversions and opt-outs by
	// an indexed EXISTS each (inbound by person and channel, journey_state by journey and person,
	// consent_events by person and time).
	const params: SqlParam[] = [
		options.since,
		options.replyWindowMs,
		options.conversionWindowMs,
		options.journey,
		...(only ? [options.campaign!] : []),
	];
	// One campaign by the campaign index (a campaign named by an empty string: the sends without one).
	const where = `t.created_at >= $1${only ? (options.campaign ? ' AND t.campaign = $5' : ' AND (t.campaign IS NULL OR t.campaign = $5)') : ''}`;
	const rows = await db.query<Row>(
		`SELECT COALESCE(t.campaign, '') AS campaign, t.channel AS channel, COALESCE(t.variant, '') AS variant,
			${touchMetrics({ replyWindow: '$2', conversionWindow: '$3', journey: '$4' })}
		FROM touches t WHERE ${where}
		GROUP BY COALESCE(t.campaign, ''), t.channel, COALESCE(t.variant, '') ORDER BY 1, 2, 3`,
		params,
	);
	const failures = await db.query<Row>(
		`SELECT COALESCE(t.campaign, '') AS campaign, t.channel AS channel, COALESCE(t.variant, '') AS variant,
			${FAILED_WHY} AS why, COUNT(*) AS n
		FROM touches t WHERE ${where.replace('$5', '$2')} AND (${FAILED})
		GROUP BY 1, 2, 3, 4`,
		[options.since, ...(only ? [options.campaign!] : [])],
	);
	// Sends older than the store keeps their detail for are counted from the daily rollups.
	const rolled = await readRollups(db, options);
	const key = (r: Row) =>
		JSON.stringify([String(r.campaign), String(r.channel), String(r.variant)]);
	const failedBy = new Map<string, Record<string, number>>();
	for (const f of [...failures, ...rolled.failures]) {
		const m = failedBy.get(key(f)) ?? {};
		const why = String(f.why ?? 'unknown');
		m[why] = (m[why] ?? 0) + Number(f.n);
		failedBy.set(key(f), m);
	}
	const sums = new Map<string, Row>();
	for (const r of [...rows, ...rolled.rows]) {
		const sum = sums.get(key(r));
		if (!sum) sums.set(key(r), { ...r });
		else for (const c of METRIC_COLUMNS) sum[c] = Number(sum[c]) + Number(r[c]);
	}
	const merged = [...sums.entries()].sort(([, a], [, b]) =>
		byFields(a, b, ['campaign', 'channel', 'variant']),
	);
	const blocked = await blockedByCampaign(db, options.since, options.campaign);
	return {
		rows: merged.map(([k, r]) => ({
			campaign: String(r.campaign),
			channel: String(r.channel),
			variant: String(r.variant),
			reserved: Number(r.reserved),
			sent: Number(r.sent),
			delivered: Number(r.delivered),
			read: Number(r.read_count),
			clicked: Number(r.clicked),
			failed: Number(r.failed),
			failedBy: failedBy.get(k) ?? {},
			replied: Number(r.replied),
			converted: Number(r.converted),
			optOuts: Number(r.opt_outs),
			complaints: Number(r.complaints),
			bounces: Number(r.bounces),
		})),
		blocked,
		...(rolled.rows.length ? { rolledUp: rolled.windows } : {}),
	};
}

/** Who was blocked and why, per campaign and channel, from the daily counts since `since`'s day. */
async function blockedByCampaign(
	db: SqlDb,
	since: number,
	campaign: string | undefined,
): Promise<CampaignReport['blocked']> {
	const only = campaign !== undefined;
	// The window's daily rows by the day index, summed here: grouped in SQL, SQLite would rather
	// walk the whole table in its key's order than sort a window's few thousand rows.
	const dayRows = await db.query<Row>(
		`SELECT campaign, channel, reason, count AS n FROM blocked_counts WHERE day >= $1${only ? ' AND campaign = $2' : ''}`,
		[Math.floor(since / 86_400_000) * 86_400_000, ...(only ? [campaign!] : [])],
	);
	const blocked = new Map<
		string,
		{ campaign: string; channel: string; byReason: Record<string, number>; total: number }
	>();
	for (const r of [...dayRows].sort((a, b) => byFields(a, b, ['campaign', 'channel', 'reason']))) {
		const k = JSON.stringify([String(r.campaign), String(r.channel)]);
		const e = blocked.get(k) ?? {
			campaign: String(r.campaign),
			channel: String(r.channel),
			byReason: {},
			total: 0,
		};
		e.byReason[String(r.reason)] = (e.byReason[String(r.reason)] ?? 0) + Number(r.n);
		e.total += Number(r.n);
		blocked.set(k, e);
	}
	return [...blocked.values()];
}

export async function abTestResults(
	db: SqlDb,
	campaign: string,
	metric: AbMetric,
	options: { windowMs: number; journey?: string },
): Promise<Array<{ variant: string; sent: number; successes: number }>> {
	const success: Record<AbMetric, string> = {
		delivered: "t.delivery_status IN ('delivered', 'read', 'clicked')",
		read: "t.delivery_status IN ('read', 'clicked')",
		clicked: "t.delivery_status = 'clicked'",
		replied: REPLIED_WITHIN('$2'),
		converted: CONVERTED_WITHIN('$3', '$2'),
	};
	// Only the parameters the metric uses (PostgreSQL types every one it is given).
	const params: SqlParam[] =
		metric === 'replied'
			? [campaign, options.windowMs]
			: metric === 'converted'
				? [campaign, options.windowMs, options.journey ?? '']
				: [campaign];
	const rows = await db.query<Row>(
		`SELECT t.variant AS variant, COUNT(*) AS sent, SUM(CASE WHEN ${success[metric]} THEN 1 ELSE 0 END) AS successes
		FROM touches t WHERE t.campaign = $1 AND t.status = 'sent' AND t.variant IS NOT NULL
		GROUP BY t.variant ORDER BY t.variant`,
		params,
	);
	// Arms whose older sends were rolled up: theirs are added (counted within the rollups' windows).
	const arms = await rollupArms(db, campaign, metric, options);
	for (const r of rows) {
		const arm = arms.get(String(r.variant)) ?? { sent: 0, successes: 0 };
		arm.sent += Number(r.sent);
		arm.successes += Number(r.successes ?? 0);
		arms.set(String(r.variant), arm);
	}
	return [...arms.entries()]
		.map(([variant, arm]) => ({ variant, ...arm }))
		.sort((a, b) => byFields(a, b, ['variant']));
}

export async function recordAiUsage(db: SqlDb, rows: AiUsageRow[]): Promise<void> {
	for (const chunk of chunks(rows, CHUNK)) {
		await insertRows(
			db,
			'INSERT INTO ai_usage (at, workflow_id, execution_id, node, operation, model, campaign, items, calls, input_tokens, output_tokens, cache_hits)',
			12,
			chunk.map((r) => [
				r.at,
				r.workflowId ?? null,
				r.executionId ?? null,
				r.node,
				r.operation,
				r.model,
				r.campaign,
				r.items,
				r.calls,
				r.inputTokens,
				r.outputTokens,
				r.cacheHits,
			]),
		);
	}
}

export async function aiUsageReport(db: SqlDb, since: number): Promise<AiUsageTotal[]> {
	const rows = await db.query<Row>(
		`SELECT campaign, model, operation, COUNT(*) AS runs, SUM(items) AS items, SUM(calls) AS calls, SUM(input_tokens) AS input_tokens,
			SUM(output_tokens) AS output_tokens, SUM(cache_hits) AS cache_hits, MIN(at) AS first_at, MAX(at) AS last_at
		FROM ai_usage WHERE at >= $1 GROUP BY campaign, model, operation ORDER BY campaign, model, operation`,
		[since],
	);
	return rows.map((r) => ({
		campaign: String(r.campaign),
		model: String(r.model),
		operation: String(r.operation),
		runs: Number(r.runs),
		items: Number(r.items),
		calls: Number(r.calls),
		inputTokens: Number(r.input_tokens),
		outputTokens: Number(r.output_tokens),
		cacheHits: Number(r.cache_hits),
		firstAt: Number(r.first_at),
		lastAt: Number(r.last_at),
	}));
}

/** Rows in the order of their fields, compared as text the way SQL's ORDER BY does ('a' before 'a b'). */
function byFields(a: object, b: object, fields: string[]): number {
	for (const f of fields) {
		const x = String((a as Record<string, unknown>)[f]);
		const y = String((b as Record<string, unknown>)[f]);
		if (x !== y) return x < y ? -1 : 1;
	}
	return 0;
}
