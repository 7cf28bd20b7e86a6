/** Audience Segment, RFM: recency, frequency and monetary scores, and the segment each places a contact in. */
import type {
	IDataObject,
	IExecuteFunctions,
	INodeExecutionData,
	INodeProperties,
} from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { compileFieldPath } from '../../shared/field-path';
import { RFM_SEGMENTS, scoreRfm, type RfmInput } from '../../shared/segment/rfm';
import { toNumber, toTime } from '../../shared/segment/rules';

export const description: INodeProperties[] = [
	{
		displayName: 'Source',
		name: 'rfmSource',
		type: 'options',
		options: [
			{ name: 'Fields on the Item', value: 'fields' },
			{ name: 'List of Orders', value: 'orders' },
		],
		default: 'fields',
		displayOptions: { show: { operation: ['rfm'] } },
	},
	{
		displayName: 'Outputs',
		name: 'rfmOutputs',
		type: 'options',
		options: [
			{ name: 'One per Segment (11)', value: 'all' },
			{ name: 'Chosen Segments, Then Other Segments', value: 'chosen' },
		],
		default: 'all',
		description:
			'Whether every RFM segment gets its own output, or only the ones this workflow acts on (the rest leave through Other Segments)',
		displayOptions: { show: { operation: ['rfm'] } },
	},
	{
		displayName: 'Segments',
		name: 'rfmSegments',
		type: 'multiOptions',
		options: RFM_SEGMENTS.map((name) => ({ name, value: name })),
		default: ['At risk', 'Cannot lose them', 'Hibernating'],
		description: 'The segments that get an output each, in the order of the RFM table',
		displayOptions: { show: { operation: ['rfm'], rfmOutputs: ['chosen'] } },
	},
	{
		displayName: 'Last Order Date Field',
		name: 'lastOrderField',
		type: 'string',
		requiresDataPath: 'single',
		default: 'lastOrderAt',
		displayOptions: { show: { operation: ['rfm'], rfmSource: ['fields'] } },
	},
	{
		displayName: 'Order Count Field',
		name: 'orderCountField',
		type: 'string',
		requiresDataPath: 'single',
		default: 'orderCount',
		displayOptions: { show: { operation: ['rfm'], rfmSource: ['fields'] } },
	},
	{
		displayName: 'Total Spent Field',
		name: 'totalSpentField',
		type: 'string',
		requiresDataPath: 'single',
		default: 'totalSpent',
		displayOptions: { show: { operation: ['rfm'], rfmSource: ['fields'] } },
	},
	{
		displayName: 'Orders Field',
		name: 'ordersField',
		type: 'string',
		requiresDataPath: 'single',
		default: 'orders',
		description: 'Path to a list of orders, each with a date and an amount',
		displayOptions: { show: { operation: ['rfm'], rfmSource: ['orders'] } },
	},
	{
		displayName: 'Order Date Key',
		name: 'orderDateKey',
		type: 'string',
		default: 'date',
		displayOptions: { show: { operation: ['rfm'], rfmSource: ['orders'] } },
	},
	{
		displayName: 'Order Amount Key',
		name: 'orderAmountKey',
		type: 'string',
		default: 'amount',
		displayOptions: { show: { operation: ['rfm'], rfmSource: ['orders'] } },
	},
];

/** The RFM node's outputs: every segment, or the chosen ones and then Other Segments. */
export function rfmOutputNames(ctx: IExecuteFunctions): string[] {
	if (ctx.getNodeParameter('rfmOutputs', 0, 'all') !== 'chosen') return [...RFM_SEGMENTS];
	const chosen = ctx.getNodeParameter('rfmSegments', 0, []) as string[];
	return [...RFM_SEGMENTS.filter((name) => chosen.includes(name)), 'Other Segments'];
}

export function rfm(this: IExecuteFunctions, items: INodeExecutionData[]): INodeExecutionData[][] {
	const source = this.getNodeParameter('rfmSource', 0) as string;
	const now = Date.now();
	const rows: RfmInput[] = [];
	const ok: number[] = [];
	const names = rfmOutputNames(this);
	const outputs: INodeExecutionData[][] = names.map(() => []);
	// A segment without an output of its own leaves through the last one (Other Segments).
	const outputOf = (segment: string) =>
		names.includes(segment) ? names.indexOf(segment) : names.length - 1;
	const fail = (i: number, message: string, description: string) => {
		const error = new NodeOperationError(this.getNode(), message, { itemIndex: i, description });
		if (!this.continueOnFail()) throw error;
		outputs[names.length - 1].push({
			json: { ...items[i].json, error: message },
			pairedItem: { item: i },
		});
	};
	if (source === 'orders') {
		const ordersOf = compileFieldPath(this.getNodeParameter('ordersField', 0) as string);
		const dateKey = this.getNodeParameter('orderDateKey', 0) as string;
		const amountKey = this.getNodeParameter('orderAmountKey', 0) as string;
		for (let i = 0; i < items.length; i++) {
			const orders = ordersOf(items[i].json);
			if (!Array.isArray(orders)) {
				fail(
					i,
					`Orders field is not a list (found ${JSON.stringify(orders) ?? 'nothing'})`,
					'Point Orders Field at a list of orders.',
				);
				continue;
			}
			let last = 0;
			let total = 0;
			for (const o of orders as IDataObject[]) {
				last = Math.max(last, toTime(o?.[dateKey]) ?? 0);
				total += toNumber(o?.[amountKey]) ?? 0;
			}
			rows.push({
				recencyDays: last ? (now - last) / 86400_000 : Number.MAX_SAFE_INTEGER,
				frequency: orders.length,
				monetary: total,
			});
			ok.push(i);
		}
	} else {
		const lastOf = compileFieldPath(this.getNodeParameter('lastOrderField', 0) as string);
		const countOf = compileFieldPath(this.getNodeParameter('orderCountField', 0) as string);
		const spentOf = compileFieldPath(this.getNodeParameter('totalSpentField', 0) as string);
		for (let i = 0; i < items.length; i++) {
			const last = toTime(lastOf(items[i].json));
			const count = toNumber(countOf(items[i].json));
			const spent = toNumber(spentOf(items[i].json));
			if (last === undefined || count === undefined || spent === undefined) {
				fail(
					i,
					`Item ${i} lacks a last order date, order count or total spent (${JSON.stringify({ last: lastOf(items[i].json), count: countOf(items[i].json), spent: spentOf(items[i].json) })})`,
					'Check the three field paths; dates may be ISO strings or epoch numbers.',
				);
				continue;
			}
			rows.push({ recencyDays: (now - last) / 86400_000, frequency: count, monetary: spent });
			ok.push(i);
		}
	}
	scoreRfm(rows).forEach((r, k) => {
		const i = ok[k];
		const { segment, ...scores } = r;
		outputs[outputOf(segment)].push({
			json: {
				...items[i].json,
				rfm: { ...scores, recencyDays: Math.round(r.recencyDays * 10) / 10, segment },
			},
			pairedItem: { item: i },
		});
	});
	return outputs;
}
