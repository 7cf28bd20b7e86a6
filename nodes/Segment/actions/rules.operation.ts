/** Audience Segment, Route by Rules: segments of conditions, compiled once per execution into plain functions. */
import type {
	IDataObject,
	IExecuteFunctions,
	INodeExecutionData,
	INodeProperties,
} from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { compileSegments, type Condition, type SegmentRule } from '../../shared/segment/rules';

const operatorOptions = [
	{ name: 'Before Date', value: 'dateBefore' },
	{ name: 'Between', value: 'between' },
	{ name: 'Contains', value: 'contains' },
	{ name: 'Equals', value: 'equals' },
	{ name: 'Exists', value: 'exists' },
	{ name: 'Greater Than', value: 'gt' },
	{ name: 'Greater Than or Equal', value: 'gte' },
	{ name: 'In List (Comma-Separated)', value: 'inList' },
	{ name: 'Is Empty', value: 'isEmpty' },
	{ name: 'Less Than', value: 'lt' },
	{ name: 'Less Than or Equal', value: 'lte' },
	{ name: 'Matches Regex', value: 'regex' },
	{ name: 'Not Equals', value: 'notEquals' },
	{ name: 'Not Exists', value: 'notExists' },
	{ name: 'Older Than N Days', value: 'olderThanDays' },
	{ name: 'After Date', value: 'dateAfter' },
	{ name: 'Starts With', value: 'startsWith' },
	{ name: 'Within Last N Days', value: 'withinLastDays' },
];

export const description: INodeProperties[] = [
	{
		displayName: 'Segments',
		name: 'segments',
		placeholder: 'Add Segment',
		type: 'fixedCollection',
		typeOptions: { multipleValues: true, sortable: true },
		default: {},
		description:
			'Checked in order. Field paths address item data directly (e.g. contact.country), no expressions needed.',
		displayOptions: { show: { operation: ['routeByRules'] } },
		options: [
			{
				displayName: 'Segment',
				name: 'values',
				// Reading order: the segment's name, then how its conditions combine, then the conditions.
				values: [
					{
						displayName: 'Name',
						name: 'name',
						type: 'string',
						default: '',
						placeholder: 'VIP Spain',
						description: 'Shown as the output name on the canvas',
					},
					{
						displayName: 'Combine',
						name: 'combine',
						type: 'options',
						options: [
							{ name: 'All Conditions (AND)', value: 'and' },
							{ name: 'Any Condition (OR)', value: 'or' },
						],
						default: 'and',
					},
					{
						displayName: 'Conditions',
						name: 'conditions',
						type: 'fixedCollection',
						typeOptions: { multipleValues: true },
						placeholder: 'Add Condition',
						default: {},
						options: [
							{
								displayName: 'Condition',
								name: 'condition',
								values: [
									// Reading order ("contact.country equals ES"); Value only where the operator takes one,
									// Upper Value only for Between.
									{
										displayName: 'Field',
										name: 'field',
										type: 'string',
										requiresDataPath: 'single',
										default: '',
										placeholder: 'contact.country',
									},
									{
										displayName: 'Operator',
										name: 'operator',
										type: 'options',
										options: operatorOptions,
										default: 'equals',
									},
									{
										displayName: 'Value',
										name: 'value',
										type: 'string',
										default: '',
										displayOptions: { hide: { operator: ['exists', 'notExists', 'isEmpty'] } },
									},
									{
										displayName: 'Upper Value',
										name: 'value2',
										type: 'string',
										default: '',
										description: 'The upper bound (inclusive)',
										displayOptions: { show: { operator: ['between'] } },
									},
								],
							},
						],
					},
				],
			},
		],
	},
	{
		displayName: 'Mode',
		name: 'mode',
		type: 'options',
		options: [
			{
				name: 'First Match',
				value: 'firstMatch',
				description: 'Each item goes to the first segment it matches',
			},
			{
				name: 'All Matches',
				value: 'allMatches',
				description: 'Each item goes to every segment it matches',
			},
		],
		default: 'firstMatch',
		displayOptions: { show: { operation: ['routeByRules'] } },
	},
	{
		displayName: 'Case Sensitive',
		name: 'caseSensitive',
		type: 'boolean',
		default: false,
		description: 'Whether text comparisons respect upper and lower case',
		displayOptions: { show: { operation: ['routeByRules'] } },
	},
];

export function segmentCount(ctx: IExecuteFunctions): number {
	return (
		((ctx.getNodeParameter('segments', 0, {}) as IDataObject).values as
			| IDataObject[]
			| undefined) ?? []
	).length;
}

export function routeByRules(
	this: IExecuteFunctions,
	items: INodeExecutionData[],
): INodeExecutionData[][] {
	// Rules cannot depend on the item (they are compiled once): read them at index 0.
	const raw =
		((this.getNodeParameter('segments', 0, {}) as IDataObject).values as
			| IDataObject[]
			| undefined) ?? [];
	const segments: SegmentRule[] = raw.map((s, i) => ({
		name: String(s.name || `Segment ${i + 1}`),
		combine: s.combine === 'or' ? 'or' : 'and',
		conditions: (((s.conditions as IDataObject)?.condition as IDataObject[] | undefined) ?? []).map(
			(c) => ({
				field: String(c.field ?? ''),
				operator: c.operator as Condition['operator'],
				value: c.value === undefined ? undefined : String(c.value),
				value2: c.value2 === undefined ? undefined : String(c.value2),
			}),
		),
	}));
	const mode = this.getNodeParameter('mode', 0, 'firstMatch') as 'firstMatch' | 'allMatches';
	let match: (json: unknown) => number[];
	try {
		match = compileSegments(segments, {
			mode,
			caseSensitive: this.getNodeParameter('caseSensitive', 0, false) as boolean,
		});
	} catch (error) {
		throw new NodeOperationError(this.getNode(), (error as Error).message, {
			description: 'Fix the segment rule; nothing was routed.',
		});
	}
	const names = segments.map((s) => s.name);
	const outputs: INodeExecutionData[][] = Array.from({ length: segments.length + 1 }, () => []);
	for (let i = 0; i < items.length; i++) {
		const hits = match(items[i].json);
		const segmentNames = hits.map((h) => names[h]);
		const json = { ...items[i].json, segment: segmentNames[0] ?? null, segments: segmentNames };
		if (hits.length === 0) outputs[segments.length].push({ json, pairedItem: { item: i } });
		for (const h of hits) outputs[h].push({ json, pairedItem: { item: i } });
	}
	return outputs;
}
