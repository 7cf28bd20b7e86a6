/** Insights: the campaign report, A/B metrics and AI usage, as the store returns them. */

export interface CampaignReportRow {
	campaign: string;
	channel: string;
	variant: string;
	/** Held for a send that has not gone (yet). */
	reserved: number;
	sent: number;
	delivered: number;
	read: number;
	clicked: number;
	failed: number;
	/** Why sends failed: the provider's code or the delivery status, with a count each. */
	failedBy: Record<string, number>;
	/** The person wrote back on the channel within the reply window after the send. */
	replied: number;
	/** The person reached the journey's goal within the conversion window after the send. */
	converted: number;
	/** The person withdrew consent on the channel within the conversion window after the send. */
	optOuts: number;
	/** Marked as spam by the person (kept beside delivered / read / clicked, never over them). */
	complaints: number;
	/** Bounced (beside what came before: a bounce after a click leaves the click). */
	bounces: number;
}

export interface CampaignReport {
	rows: CampaignReportRow[];
	/** Blocked decisions per campaign and channel, by reason (not per variant: a blocked message has none). */
	blocked: Array<{
		campaign: string;
		channel: string;
		byReason: Record<string, number>;
		total: number;
	}>;
	/**
	 * Present when sends older than the store keeps their detail for were counted from its daily
	 * rollups: their replies, conversions and opt-outs are counted within these windows, whatever
	 * the report asked, and by whole days.
	 */
	rolledUp?: { replyWindowMs: number; conversionWindowMs: number };
}

export type AbMetric = 'delivered' | 'read' | 'clicked' | 'replied' | 'converted';

export interface AiUsageRow {
	at: number;
	workflowId?: string;
	executionId?: string;
	node: string;
	operation: string;
	model: string;
	campaign: string;
	items: number;
	calls: number;
	inputTokens: number;
	outputTokens: number;
	cacheHits: number;
}

export interface AiUsageTotal {
	campaign: string;
	model: string;
	operation: string;
	runs: number;
	items: number;
	calls: number;
	inputTokens: number;
	outputTokens: number;
	cacheHits: number;
	firstAt: number;
	lastAt: number;
}
