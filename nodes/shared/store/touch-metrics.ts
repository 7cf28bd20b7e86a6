/**
 * What a send led to, as SQL over a touches row `t`: the Campaign Report, Pick A/B Winner and the
 * daily rollups that keep the report's counts once a send's detail is removed all count the same
 * way. A reply on its channel within the window, the journey's goal within the window, each
 * measured from when the message left (LEFT_AT), never before it.
 */
export const LEFT_AT = 'COALESCE(t.sent_at, t.created_at)';

export const REPLIED_WITHIN = (window: string) =>
	`t.replied_at >= ${LEFT_AT} AND t.replied_at <= ${LEFT_AT} + ${window}`;

export const CONVERTED_WITHIN = (journey: string, window: string) =>
	`EXISTS (SELECT 1 FROM journey_state j WHERE j.journey = ${journey} AND j.contact_id = t.contact_id AND j.goal_reached_at >= ${LEFT_AT} AND j.goal_reached_at <= ${LEFT_AT} + ${window})`;

/** A send that failed, and why (the error code, or the delivery status that said so). */
export const FAILED =
	"t.status IN ('failed', 'unknown') OR t.delivery_status IN ('failed', 'undelivered', 'bounced')";
export const FAILED_WHY =
	"CASE WHEN t.status IN ('failed', 'unknown') THEN COALESCE(t.error_code, t.status) ELSE t.delivery_status END";

/** The report's counts over touches `t`, as SUM columns (the rollups keep the same ones). */
export const METRIC_COLUMNS = [
	'reserved',
	'sent',
	'delivered',
	'read_count',
	'clicked',
	'failed',
	'replied',
	'converted',
	'opt_outs',
	'complaints',
	'bounces',
] as const;

/** What a send led to after it left, each counted within a window. */
const OUTCOME_COLUMNS: readonly string[] = ['replied', 'converted', 'opt_outs'];

/**
 * One SUM per metric column, over touches `t`. `outcomes` gives the windows and the journey as SQL
 * (parameters or constants); without it (null) replies, conversions and opt-outs are 0 here: the
 * rollups count them per window apart.
 */
export function touchMetrics(
	outcomes: { replyWindow: string; conversionWindow: string; journey: string } | null,
): string {
	const { replyWindow, conversionWindow, journey } = outcomes ?? {
		replyWindow: '0',
		conversionWindow: '0',
		journey: "''",
	};
	const when: Record<(typeof METRIC_COLUMNS)[number], string> = {
		reserved: "t.status IN ('reserved', 'sending')",
		sent: "t.status = 'sent'",
		delivered: "t.status = 'sent' AND t.delivery_status IN ('delivered', 'read', 'clicked')",
		read_count: "t.status = 'sent' AND t.delivery_status IN ('read', 'clicked')",
		clicked: "t.status = 'sent' AND t.delivery_status = 'clicked'",
		failed: FAILED,
		replied: `t.status = 'sent' AND ${REPLIED_WITHIN(replyWindow)}`,
		converted: `t.status = 'sent' AND ${CONVERTED_WITHIN(journey, conversionWindow)}`,
		opt_outs: `t.status = 'sent' AND EXISTS (SELECT 1 FROM consent_events c WHERE c.contact_id = t.contact_id AND c.channel = t.channel AND c.action = 'withdraw' AND c.occurred_at >= ${LEFT_AT} AND c.occurred_at <= ${LEFT_AT} + ${conversionWindow})`,
		complaints: 't.complained_at IS NOT NULL',
		bounces: 't.bounced_at IS NOT NULL',
	};
	return METRIC_COLUMNS.map((c) =>
		outcomes === null && OUTCOME_COLUMNS.includes(c)
			? `0 AS ${c}`
			: `SUM(CASE WHEN ${when[c]} THEN 1 ELSE 0 END) AS ${c}`,
	).join(',\n\t\t\t');
}
