/**
 * Journey's reports, one item for the whole store or journey, read once per run: Campaign Report
 * (the send log per campaign, channel and variant), Pick A/B Winner, Funnel Report.
 */
import type {
	IBinaryKeyData,
	IDataObject,
	IExecuteFunctions,
	INodeExecutionData,
	INodeProperties,
} from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { runParameter } from '../../shared/n8n/params';
import { pickWinner } from '../../shared/insights/ab';
import { campaignHtml, campaignSvg } from '../../shared/insights/report';
import { funnel } from '../../shared/journey/journey';
import { funnelHtml, funnelSvg } from '../../shared/journey/report';
import type { AbMetric, Store } from '../../shared/store/types';

export const description: INodeProperties[] = [
	{
		displayName: 'Campaign',
		name: 'abCampaign',
		type: 'string',
		default: '',
		required: true,
		placeholder: 'spring-subject-test',
		description: "The campaign whose sends carry the arms (Touchpoint's Campaign and A/B Variant)",
		displayOptions: { show: { operation: ['pickWinner'] } },
	},
	{
		displayName: 'Metric',
		name: 'abMetric',
		type: 'options',
		options: [
			{
				name: 'Clicked',
				value: 'clicked',
				description: "The send log says clicked (an email service's click event)",
			},
			{
				name: 'Converted',
				value: 'converted',
				description: "Reached this journey's Goal Stage within the window after the send",
			},
			{ name: 'Delivered', value: 'delivered' },
			{
				name: 'Read',
				value: 'read',
				description: 'Read (WhatsApp) or opened (email) per the send log',
			},
			{
				name: 'Replied',
				value: 'replied',
				description: 'Wrote back on the channel within the window after the send',
			},
		],
		default: 'converted',
		displayOptions: { show: { operation: ['pickWinner'] } },
	},
	{
		displayName: 'Window (Hours)',
		name: 'abWindowHours',
		type: 'number',
		default: 72,
		typeOptions: { minValue: 1 },
		description: 'How long after a send a reply or a conversion still counts for it',
		displayOptions: { show: { operation: ['pickWinner'], abMetric: ['replied', 'converted'] } },
	},
	{
		displayName: 'Minimum Sends per Arm',
		name: 'abMinPerArm',
		type: 'number',
		default: 100,
		typeOptions: { minValue: 1 },
		description: 'No winner is picked before every arm has this many sends',
		displayOptions: { show: { operation: ['pickWinner'] } },
	},
	{
		displayName: 'Confidence',
		name: 'abConfidence',
		type: 'options',
		options: [
			{ name: '90 %', value: 0.9 },
			{ name: '95 %', value: 0.95 },
			{ name: '99 %', value: 0.99 },
		],
		default: 0.95,
		description:
			'The best arm wins when a two-sided two-proportion z-test against every other arm has p below 1 - confidence',
		displayOptions: { show: { operation: ['pickWinner'] } },
	},
	{
		displayName: 'Campaign Name or All',
		name: 'reportCampaign',
		type: 'string',
		default: '',
		placeholder: 'spring-subject',
		description: 'One campaign, or empty for every campaign',
		displayOptions: { show: { operation: ['campaignReport'] } },
	},
	{
		displayName: 'Since (Days)',
		name: 'reportSinceDays',
		type: 'number',
		default: 30,
		typeOptions: { minValue: 0 },
		description: 'Sends made in the last N days',
		displayOptions: { show: { operation: ['campaignReport'] } },
	},
	{
		displayName: 'Reply Window (Hours)',
		name: 'replyWindowHours',
		type: 'number',
		default: 48,
		typeOptions: { minValue: 1 },
		description:
			'A message from the person on the channel this soon after a send counts as a reply to it (at most 720 hours: messages are matched to the sends of the last 30 days)',
		displayOptions: { show: { operation: ['campaignReport'] } },
	},
	{
		displayName: 'Conversion Window (Days)',
		name: 'conversionWindowDays',
		type: 'number',
		default: 7,
		typeOptions: { minValue: 1 },
		description:
			"Reaching this journey's Goal Stage (or withdrawing consent: an opt-out) this soon after a send counts for it",
		displayOptions: { show: { operation: ['campaignReport'] } },
	},
	{
		displayName: 'Include HTML Report',
		name: 'includeHtml',
		type: 'boolean',
		default: false,
		description: 'Whether to add a self-contained HTML report with the chart and table',
		displayOptions: { show: { operation: ['funnelReport', 'campaignReport'] } },
	},
];

/** Pick A/B Winner: the arms' results from the send log, decided by the stated rule (shared/insights/ab.ts). Read once per run. */
export async function abWinner(ctx: IExecuteFunctions, store: Store, journey: string) {
	const campaign = String(runParameter(ctx, 'abCampaign', '', 'Campaign')).trim();
	if (!campaign)
		throw new NodeOperationError(ctx.getNode(), 'Campaign is empty', {
			description: "Name the campaign the test's sends were made under (Touchpoint > Campaign).",
		});
	const metric = runParameter(ctx, 'abMetric', 'converted', 'Metric') as AbMetric;
	const windowMs = Number(runParameter(ctx, 'abWindowHours', 72, 'Window (Hours)')) * 3_600_000;
	const results = await store.abTestResults(campaign, metric, { windowMs, journey });
	const decision = pickWinner(results, {
		confidence: Number(runParameter(ctx, 'abConfidence', 0.95, 'Confidence')),
		minPerArm: Number(runParameter(ctx, 'abMinPerArm', 100, 'Minimum Sends per Arm')),
	});
	// What a marketer reads first: the sentence, then one row per arm; the details after them.
	const { decision: outcome, winner, message, ...details } = decision;
	const counted = METRIC_WORD[metric];
	return {
		summary: message,
		decision: outcome,
		winner,
		table: decision.arms.map((a) => ({
			arm: a.variant,
			sends: a.sent,
			[counted]: a.successes,
			rate: `${(Math.round(a.rate * 1000) / 10).toFixed(1)} %`,
		})),
		campaign,
		metric,
		...(metric === 'converted' ? { journey } : {}),
		...(metric === 'replied' || metric === 'converted'
			? { windowHours: windowMs / 3_600_000 }
			: {}),
		message,
		...details,
	};
}

/** The column a metric's successes go under in the arms table. */
const METRIC_WORD: Record<AbMetric, string> = {
	delivered: 'delivered',
	read: 'read',
	clicked: 'clicks',
	replied: 'replies',
	converted: 'conversions',
};

/** Campaign Report: JSON, the SVG chart and, optionally, the HTML report. */
export async function campaignReport(
	this: IExecuteFunctions,
	store: Store,
	name: string,
	items: INodeExecutionData[],
): Promise<INodeExecutionData[][]> {
	// One item for the whole report, read once per run.
	const campaign = String(runParameter(this, 'reportCampaign', '', 'Campaign Name or All')).trim();
	const generatedAt = new Date().toISOString();
	const sinceDays = Number(runParameter(this, 'reportSinceDays', 30, 'Since (Days)'));
	const since = Date.now() - sinceDays * 86_400_000;
	const report = await store.campaignReport({
		since,
		...(campaign ? { campaign } : {}),
		replyWindowMs:
			Number(runParameter(this, 'replyWindowHours', 48, 'Reply Window (Hours)')) * 3_600_000,
		conversionWindowMs:
			Number(runParameter(this, 'conversionWindowDays', 7, 'Conversion Window (Days)')) *
			86_400_000,
		journey: name,
	});
	const title = campaign ? `Campaign ${campaign}` : 'Campaigns';
	const svg = campaignSvg(title, report.rows);
	const binary: IBinaryKeyData = {
		chart: await this.helpers.prepareBinaryData(
			Buffer.from(svg, 'utf8'),
			'campaigns.svg',
			'image/svg+xml',
		),
	};
	if (runParameter(this, 'includeHtml', false, 'Include HTML Report'))
		binary.report = await this.helpers.prepareBinaryData(
			Buffer.from(campaignHtml(title, report, svg, generatedAt), 'utf8'),
			'campaigns.html',
			'text/html',
		);
	return [
		[
			{
				json: {
					generatedAt,
					// The window read, so a reader of the report (or the page) knows what it covers.
					sinceDays,
					since: new Date(since).toISOString(),
					campaign: campaign || null,
					journey: name,
					rows: report.rows as unknown as IDataObject[],
					blocked: report.blocked as unknown as IDataObject[],
				},
				binary,
				pairedItem: items.map((_, i) => ({ item: i })),
			},
		],
	];
}

/** Funnel Report: one item for the whole journey. */
export async function funnelReport(
	this: IExecuteFunctions,
	store: Store,
	name: string,
	stages: string[],
	items: INodeExecutionData[],
): Promise<INodeExecutionData[][]> {
	const def = {
		name,
		stages,
		moves: new Map<string, string>(),
		allowBackwards: false,
		exitEvents: [],
		maxDaysInStage: 0,
	};
	const report = funnel(
		def,
		await store.getJourneyTransitions(name),
		await store.getAllJourneyStates(name),
	);
	const generatedAt = new Date().toISOString();
	const binary: INodeExecutionData['binary'] = {
		chart: await this.helpers.prepareBinaryData(
			Buffer.from(funnelSvg(name, report), 'utf8'),
			'funnel.svg',
			'image/svg+xml',
		),
	};
	if (runParameter(this, 'includeHtml', false, 'Include HTML Report')) {
		binary.report = await this.helpers.prepareBinaryData(
			Buffer.from(funnelHtml(name, report, generatedAt), 'utf8'),
			'funnel.html',
			'text/html',
		);
	}
	return [
		[
			{
				json: { journey: name, generatedAt, stages: report as unknown as IDataObject[] },
				binary,
				pairedItem: items.map((_, i) => ({ item: i })),
			},
		],
	];
}
