import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeType, INodeTypeDescription } from 'n8n-workflow';
import { NodeConnectionTypes, NodeOperationError } from 'n8n-workflow';

import { armProblems, assignArm, type Arm } from '../shared/insights/ab';
import { nearestPlace, validCoordinates, visitKey, type Place } from '../shared/insights/geo';
import { toolAware } from '../shared/n8n/tool-mode';
import { adopt, failClosed } from '../shared/n8n/fail-closed';
import { convergentStoreApiTest, getStore } from '../shared/n8n/store';
import { personIdsOf } from '../shared/people';

import { compileFieldPath } from '../shared/n8n/field-path';
import { DEFAULT_WEIGHTS, decayedScore, decayForward, tierOf, type EngagementEvent } from '../shared/segment/engagement';
import { RFM_SEGMENTS, scoreRfm, type RfmInput } from '../shared/segment/rfm';
import { compileSegments, toNumber, toTime, type Condition, type SegmentRule } from '../shared/segment/rules';
import { optionSubtitle } from '../shared/n8n/display-options';

/** Outputs as n8n's Switch v3 declares them: one per segment (rules) or per RFM segment. */
const configuredOutputs = (parameters: IDataObject) => {
	if (parameters.operation === 'rfm') {
		const all = ['Champions', 'Loyal', 'Potential loyalist', 'New', 'Promising', 'Need attention', 'About to sleep', 'Cannot lose them', 'At risk', 'Hibernating', 'Lost'];
		if (parameters.rfmOutputs !== 'chosen') return all.map((name) => ({ type: 'main', displayName: name }));
		const chosen = Array.isArray(parameters.rfmSegments) ? (parameters.rfmSegments as string[]) : [];
		return [...all.filter((name) => chosen.includes(name)), 'Other Segments'].map((name) => ({ type: 'main', displayName: name }));
	}
	if (parameters.operation === 'engagementScore') return [{ type: 'main' }];
	if (parameters.operation === 'nearestPlace') return [{ type: 'main', displayName: 'Near a Store' }, { type: 'main', displayName: 'Not Near' }];
	if (parameters.operation === 'abSplit') {
		const arms = ((parameters.arms as IDataObject)?.arm as IDataObject[] | undefined) ?? [{ name: 'A' }, { name: 'B' }];
		return [...arms.map((a, i) => ({ type: 'main', displayName: String(a.name || `Arm ${i + 1}`) })), { type: 'main', displayName: 'Rest' }];
	}
	const segments = ((parameters.segments as IDataObject)?.values as IDataObject[] | undefined) ?? [];
	const outputs = segments.map((s, i) => ({ type: 'main', displayName: String(s.name || `Segment ${i + 1}`) }));
	outputs.push({ type: 'main', displayName: 'No Segment' });
	return outputs;
};

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

const OPERATIONS = [
	{ name: 'A/B Split', value: 'abSplit', action: 'Split contacts into A/B test arms' },
	{ name: 'Engagement Score', value: 'engagementScore', action: 'Score engagement with decay' },
	{ name: 'Nearest Store', value: 'nearestPlace', action: 'Find the store nearest to a location' },
	{ name: 'RFM', value: 'rfm', action: 'Score and route by RFM segment' },
	{ name: 'Route by Rules', value: 'routeByRules', action: 'Route contacts by segment rules' },
];

export class Segment implements INodeType {
	description: INodeTypeDescription = {
		// Not "Segment": n8n ships a Segment node (segment.com), listed first in the nodes panel.
		displayName: 'Audience Segment',
		name: 'segment',
		icon: { light: 'file:segment.svg', dark: 'file:segment.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: optionSubtitle(OPERATIONS),
		description: 'Route contacts by rules, RFM segments, engagement score, A/B test arm or the store nearest to them',
		defaults: { name: 'Audience Segment' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: `={{(${configuredOutputs})($parameter)}}`,
		credentials: [{ name: 'convergentStoreApi', required: false, testedBy: 'convergentStoreApiTest' }],
		properties: [
			{
				displayName: 'Operation',
				name: 'operation',
				type: 'options',
				noDataExpression: true,
				options: OPERATIONS,
				default: 'routeByRules',
			},
			{ displayName: 'Experiment', name: 'experiment', type: 'string', default: '', required: true, placeholder: 'spring-subject-test', description: 'The test\'s name: the same person always lands in the same arm of an experiment. Use the campaign name Touchpoint and Pick A/B Winner use.', displayOptions: { show: { operation: ['abSplit'] } } },
			{
				displayName: 'Arms',
				name: 'arms',
				type: 'fixedCollection',
				typeOptions: { multipleValues: true },
				placeholder: 'Add Arm',
				default: { arm: [{ name: 'A', percent: 10 }, { name: 'B', percent: 10 }] },
				description: 'Each arm\'s share of people; the rest (up to 100 %) leaves on Rest, e.g. to get the winner later',
				displayOptions: { show: { operation: ['abSplit'] } },
				options: [
					{
						displayName: 'Arm',
						name: 'arm',
						values: [
							{ displayName: 'Name', name: 'name', type: 'string', default: 'A' },
							{ displayName: 'Percent', name: 'percent', type: 'number', default: 10, typeOptions: { minValue: 0.01, maxValue: 100, numberPrecision: 2 } },
						],
					},
				],
			},
			{
				displayName: 'Stores',
				name: 'places',
				type: 'fixedCollection',
				typeOptions: { multipleValues: true },
				placeholder: 'Add Store',
				default: {},
				description: 'Your stores and how close counts as near',
				displayOptions: { show: { operation: ['nearestPlace'] } },
				options: [
					{
						displayName: 'Store',
						name: 'place',
						values: [
							{ displayName: 'Address', name: 'address', type: 'string', default: '' },
							{ displayName: 'Latitude', name: 'latitude', type: 'number', default: 0, typeOptions: { numberPrecision: 6 } },
							{ displayName: 'Longitude', name: 'longitude', type: 'number', default: 0, typeOptions: { numberPrecision: 6 } },
							{ displayName: 'Name', name: 'name', type: 'string', default: '' },
							{ displayName: 'Radius (Meters)', name: 'radiusMeters', type: 'number', default: 200, typeOptions: { minValue: 1 } },
						],
					},
				],
			},
			{ displayName: 'Latitude Field', name: 'latitudeField', type: 'string', requiresDataPath: 'single', default: 'location.latitude', description: 'Where the person\'s latitude is (a Touchpoint Trigger location event has it here)', displayOptions: { show: { operation: ['nearestPlace'] } } },
			{ displayName: 'Longitude Field', name: 'longitudeField', type: 'string', requiresDataPath: 'single', default: 'location.longitude', displayOptions: { show: { operation: ['nearestPlace'] } } },
			{ displayName: 'Contact ID Field', name: 'placeContactIdField', type: 'string', requiresDataPath: 'single', default: 'contactId', description: 'Whose visit it is (for the visit key)', displayOptions: { show: { operation: ['nearestPlace'] } } },
			{ displayName: 'Event Time Field', name: 'placeTimeField', type: 'string', requiresDataPath: 'single', default: 'timestamp', description: 'When the person was there (ISO date or epoch; now when missing)', displayOptions: { show: { operation: ['nearestPlace'] } } },
			{ displayName: 'Visit Length (Hours)', name: 'visitHours', type: 'number', default: 4, typeOptions: { minValue: 0.25 }, description: 'Locations of one person at one store within this time are one visit: nearestStore.visitKey is the same, so Touchpoint (Idempotency Key Field) sends once per visit', displayOptions: { show: { operation: ['nearestPlace'] } } },
			{ displayName: 'Contact ID Field', name: 'abContactIdField', type: 'string', requiresDataPath: 'single', default: 'contact.id', description: 'The person the arm is drawn for', displayOptions: { show: { operation: ['abSplit'] } } },
			{
				displayName: 'Segments',
				name: 'segments',
				placeholder: 'Add Segment',
				type: 'fixedCollection',
				typeOptions: { multipleValues: true, sortable: true },
				default: {},
				description: 'Checked in order. Field paths address item data directly (e.g. contact.country), no expressions needed.',
				displayOptions: { show: { operation: ['routeByRules'] } },
				options: [
					{
						displayName: 'Segment',
						name: 'values',
						// Reading order: the segment's name, then how its conditions combine, then the conditions.
						values: [
							{ displayName: 'Name', name: 'name', type: 'string', default: '', placeholder: 'VIP Spain', description: 'Shown as the output name on the canvas' },
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
											{ displayName: 'Field', name: 'field', type: 'string', requiresDataPath: 'single', default: '', placeholder: 'contact.country' },
											{ displayName: 'Operator', name: 'operator', type: 'options', options: operatorOptions, default: 'equals' },
											{ displayName: 'Value', name: 'value', type: 'string', default: '', displayOptions: { hide: { operator: ['exists', 'notExists', 'isEmpty'] } } },
											{ displayName: 'Upper Value', name: 'value2', type: 'string', default: '', description: 'The upper bound (inclusive)', displayOptions: { show: { operator: ['between'] } } },
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
					{ name: 'First Match', value: 'firstMatch', description: 'Each item goes to the first segment it matches' },
					{ name: 'All Matches', value: 'allMatches', description: 'Each item goes to every segment it matches' },
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
				description: 'Whether every RFM segment gets its own output, or only the ones this workflow acts on (the rest leave through Other Segments)',
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
			{ displayName: 'Last Order Date Field', name: 'lastOrderField', type: 'string', requiresDataPath: 'single', default: 'lastOrderAt', displayOptions: { show: { operation: ['rfm'], rfmSource: ['fields'] } } },
			{ displayName: 'Order Count Field', name: 'orderCountField', type: 'string', requiresDataPath: 'single', default: 'orderCount', displayOptions: { show: { operation: ['rfm'], rfmSource: ['fields'] } } },
			{ displayName: 'Total Spent Field', name: 'totalSpentField', type: 'string', requiresDataPath: 'single', default: 'totalSpent', displayOptions: { show: { operation: ['rfm'], rfmSource: ['fields'] } } },
			{ displayName: 'Orders Field', name: 'ordersField', type: 'string', requiresDataPath: 'single', default: 'orders', description: 'Path to a list of orders, each with a date and an amount', displayOptions: { show: { operation: ['rfm'], rfmSource: ['orders'] } } },
			{ displayName: 'Order Date Key', name: 'orderDateKey', type: 'string', default: 'date', displayOptions: { show: { operation: ['rfm'], rfmSource: ['orders'] } } },
			{ displayName: 'Order Amount Key', name: 'orderAmountKey', type: 'string', default: 'amount', displayOptions: { show: { operation: ['rfm'], rfmSource: ['orders'] } } },
			{ displayName: 'Events Field', name: 'eventsField', type: 'string', requiresDataPath: 'single', default: 'events', description: 'Path to a list of events, each with a type and a time', displayOptions: { show: { operation: ['engagementScore'] } } },
			{ displayName: 'Event Type Key', name: 'eventTypeKey', type: 'string', default: 'type', displayOptions: { show: { operation: ['engagementScore'] } } },
			{ displayName: 'Event Time Key', name: 'eventTimeKey', type: 'string', default: 'at', displayOptions: { show: { operation: ['engagementScore'] } } },
			{
				displayName: 'Weights',
				name: 'weights',
				type: 'string',
				default: 'open=1, click=3, reply=5, visit=2, purchase=10',
				description: 'Event type=weight pairs, comma-separated',
				displayOptions: { show: { operation: ['engagementScore'] } },
			},
			{ displayName: 'Half-Life (Days)', name: 'halfLifeDays', type: 'number', default: 14, typeOptions: { minValue: 0.1 }, displayOptions: { show: { operation: ['engagementScore'] } } },
			{
				displayName: 'Keep Scores in Store',
				name: 'persist',
				type: 'boolean',
				default: false,
				description: 'Whether scores accumulate across runs in the Convergent store: the stored score decays to now, and only events newer than the last run are added',
				displayOptions: { show: { operation: ['engagementScore'] } },
			},
			{
				displayName: 'Contact ID Field',
				name: 'contactIdField',
				requiresDataPath: 'single',
				type: 'string',
				default: 'contact.id',
				displayOptions: { show: { operation: ['engagementScore'], persist: [true] } },
			},
			{ displayName: 'Warm From Score', name: 'warmFrom', type: 'number', default: 5, displayOptions: { show: { operation: ['engagementScore'] } } },
			{ displayName: 'Hot From Score', name: 'hotFrom', type: 'number', default: 20, displayOptions: { show: { operation: ['engagementScore'] } } },
		],
	};

	methods = { credentialTest: { convergentStoreApiTest } };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const items = this.getInputData();
		const operation = this.getNodeParameter('operation', 0) as string;
		// An error (a bad rule, the store) must not reach n8n's continue path, which would copy every
		// item to output 0, the first segment: errors go to No Segment (RFM: its last output, as
		// per-item errors do; Engagement Score: its one output).
		const count = operation === 'rfm' ? rfmOutputNames(this).length : operation === 'engagementScore' ? 1 : operation === 'abSplit' ? abArms(this).length + 1 : operation === 'nearestPlace' ? 2 : segmentCount(this) + 1;
		const outputs: INodeExecutionData[][] = Array.from({ length: count }, () => []);
		const result = await failClosed(this, outputs, count - 1, async () => {
			const result = operation === 'rfm' ? rfm.call(this, items) : operation === 'engagementScore' ? await engagement.call(this, items) : operation === 'abSplit' ? await abSplit.call(this, items) : operation === 'nearestPlace' ? nearestStore.call(this, items) : routeByRules.call(this, items);
			adopt(outputs, result);
		});
		return toolAware(this, result, configuredOutputs(this.getNode().parameters).map((o) => ('displayName' in o ? o.displayName : 'Engagement Score')));
	}
}

/** The RFM node's outputs: every segment, or the chosen ones and then Other Segments. */
function rfmOutputNames(ctx: IExecuteFunctions): string[] {
	if (ctx.getNodeParameter('rfmOutputs', 0, 'all') !== 'chosen') return [...RFM_SEGMENTS];
	const chosen = ctx.getNodeParameter('rfmSegments', 0, []) as string[];
	return [...RFM_SEGMENTS.filter((name) => chosen.includes(name)), 'Other Segments'];
}

function abArms(ctx: IExecuteFunctions): Arm[] {
	const raw = ((ctx.getNodeParameter('arms', 0, {}) as IDataObject).arm as IDataObject[] | undefined) ?? [];
	return raw.map((a, i) => ({ name: String(a.name ?? '').trim() || `Arm ${i + 1}`, percent: Number(a.percent) }));
}

/** A/B Split: each person to the arm their hash falls in (the same every run), the rest to Rest. */
async function abSplit(this: IExecuteFunctions, items: INodeExecutionData[]): Promise<INodeExecutionData[][]> {
	const arms = abArms(this);
	const problems = armProblems(arms);
	if (problems.length) throw new NodeOperationError(this.getNode(), `Arms: ${problems.join('; ')}`, { description: 'Give each arm a name and a share; together at most 100 %.' });
	const experiment = String(this.getNodeParameter('experiment', 0, '')).trim();
	if (!experiment) throw new NodeOperationError(this.getNode(), 'Experiment is empty', { description: 'Name the test (e.g. the campaign): the name decides who lands in which arm.' });
	const field = String(this.getNodeParameter('abContactIdField', 0, 'contact.id'));
	const idOf = compileFieldPath(field);
	const raw = items.map((item) => idOf(item.json));
	// The person, so a merged id or an address-derived id lands in the same arm as the person.
	const known = raw.filter((v): v is string | number => (typeof v === 'string' && v !== '') || typeof v === 'number').map(String);
	const personOf = known.length ? await personIdsOf(await getStore(this), known) : new Map<string, string>();
	const outputs: INodeExecutionData[][] = [...arms.map(() => []), []];
	items.forEach((item, i) => {
		const id = raw[i];
		if ((typeof id !== 'string' || id === '') && typeof id !== 'number') {
			const error = new NodeOperationError(this.getNode(), `No contact ID at "${field}"`, { itemIndex: i, description: 'A/B Split draws the arm from the contact ID: set Contact ID Field.' });
			if (!this.continueOnFail()) throw error;
			outputs[arms.length].push({ json: { ...item.json, error: error.message }, pairedItem: { item: i } });
			return;
		}
		const person = personOf.get(String(id)) ?? String(id);
		const arm = assignArm(experiment, person, arms);
		const k = arm === undefined ? arms.length : arms.findIndex((a) => a.name === arm);
		outputs[k].push({ json: { ...item.json, abTest: { experiment, arm: arm ?? null } }, pairedItem: { item: i } });
	});
	return outputs;
}

/** Nearest Store: the closest store whose radius holds the person's location, with a key per visit. */
function nearestStore(this: IExecuteFunctions, items: INodeExecutionData[]): INodeExecutionData[][] {
	const raw = ((this.getNodeParameter('places', 0, {}) as IDataObject).place as IDataObject[] | undefined) ?? [];
	const places: Place[] = raw.map((p, k) => ({ name: String(p.name ?? '').trim() || `Store ${k + 1}`, latitude: Number(p.latitude), longitude: Number(p.longitude), radiusMeters: Number(p.radiusMeters ?? 200), address: String(p.address ?? '') || undefined }));
	if (!places.length) throw new NodeOperationError(this.getNode(), 'No stores', { description: 'Add your stores with their coordinates under Stores.' });
	const bad = places.find((p) => !validCoordinates(p.latitude, p.longitude) || !(p.radiusMeters > 0));
	if (bad) throw new NodeOperationError(this.getNode(), `Store "${bad.name}" has latitude ${bad.latitude}, longitude ${bad.longitude} and radius ${bad.radiusMeters} m`, { description: 'Latitude within ±90, longitude within ±180, radius above 0.' });
	const latField = String(this.getNodeParameter('latitudeField', 0, 'location.latitude'));
	const lonField = String(this.getNodeParameter('longitudeField', 0, 'location.longitude'));
	const latOf = compileFieldPath(latField);
	const lonOf = compileFieldPath(lonField);
	const idOf = compileFieldPath(String(this.getNodeParameter('placeContactIdField', 0, 'contactId')));
	const timeOf = compileFieldPath(String(this.getNodeParameter('placeTimeField', 0, 'timestamp')));
	const visitHours = Number(this.getNodeParameter('visitHours', 0, 4));
	const now = Date.now();
	const outputs: INodeExecutionData[][] = [[], []];
	items.forEach((item, i) => {
		const latitude = toNumber(latOf(item.json));
		const longitude = toNumber(lonOf(item.json));
		if (!validCoordinates(latitude, longitude)) {
			const error = new NodeOperationError(this.getNode(), `No location at "${latField}" / "${lonField}" (found ${JSON.stringify(latOf(item.json)) ?? 'nothing'}, ${JSON.stringify(lonOf(item.json)) ?? 'nothing'})`, { itemIndex: i, description: 'Feed the node location events, or point Latitude Field and Longitude Field at the coordinates.' });
			if (!this.continueOnFail()) throw error;
			outputs[1].push({ json: { ...item.json, error: error.message }, pairedItem: { item: i } });
			return;
		}
		const hit = nearestPlace(places, { latitude: latitude!, longitude: longitude! })!;
		const id = idOf(item.json);
		const at = toTime(timeOf(item.json)) ?? now;
		const nearest = {
			name: hit.place.name, ...(hit.place.address ? { address: hit.place.address } : {}), latitude: hit.place.latitude, longitude: hit.place.longitude,
			distanceMeters: Math.round(hit.distanceMeters), near: hit.near,
			...(hit.near && id !== undefined && id !== null && id !== '' ? { visitKey: visitKey(String(id), hit.place.name, at, visitHours) } : {}),
		};
		outputs[hit.near ? 0 : 1].push({ json: { ...item.json, nearestStore: nearest }, pairedItem: { item: i } });
	});
	return outputs;
}

function segmentCount(ctx: IExecuteFunctions): number {
	return (((ctx.getNodeParameter('segments', 0, {}) as IDataObject).values as IDataObject[] | undefined) ?? []).length;
}

function routeByRules(this: IExecuteFunctions, items: INodeExecutionData[]): INodeExecutionData[][] {
	// Rules cannot depend on the item (they are compiled once): read them at index 0.
	const raw = ((this.getNodeParameter('segments', 0, {}) as IDataObject).values as IDataObject[] | undefined) ?? [];
	const segments: SegmentRule[] = raw.map((s, i) => ({
		name: String(s.name || `Segment ${i + 1}`),
		combine: s.combine === 'or' ? 'or' : 'and',
		conditions: (((s.conditions as IDataObject)?.condition as IDataObject[] | undefined) ?? []).map((c) => ({
			field: String(c.field ?? ''),
			operator: c.operator as Condition['operator'],
			value: c.value === undefined ? undefined : String(c.value),
			value2: c.value2 === undefined ? undefined : String(c.value2),
		})),
	}));
	const mode = this.getNodeParameter('mode', 0, 'firstMatch') as 'firstMatch' | 'allMatches';
	let match: (json: unknown) => number[];
	try {
		match = compileSegments(segments, { mode, caseSensitive: this.getNodeParameter('caseSensitive', 0, false) as boolean });
	} catch (error) {
		throw new NodeOperationError(this.getNode(), (error as Error).message, { description: 'Fix the segment rule; nothing was routed.' });
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

function rfm(this: IExecuteFunctions, items: INodeExecutionData[]): INodeExecutionData[][] {
	const source = this.getNodeParameter('rfmSource', 0) as string;
	const now = Date.now();
	const rows: RfmInput[] = [];
	const ok: number[] = [];
	const names = rfmOutputNames(this);
	const outputs: INodeExecutionData[][] = names.map(() => []);
	// A segment without an output of its own leaves through the last one (Other Segments).
	const outputOf = (segment: string) => (names.includes(segment) ? names.indexOf(segment) : names.length - 1);
	const fail = (i: number, message: string, description: string) => {
		const error = new NodeOperationError(this.getNode(), message, { itemIndex: i, description });
		if (!this.continueOnFail()) throw error;
		outputs[names.length - 1].push({ json: { ...items[i].json, error: message }, pairedItem: { item: i } });
	};
	if (source === 'orders') {
		const ordersOf = compileFieldPath(this.getNodeParameter('ordersField', 0) as string);
		const dateKey = this.getNodeParameter('orderDateKey', 0) as string;
		const amountKey = this.getNodeParameter('orderAmountKey', 0) as string;
		for (let i = 0; i < items.length; i++) {
			const orders = ordersOf(items[i].json);
			if (!Array.isArray(orders)) {
				fail(i, `Orders field is not a list (found ${JSON.stringify(orders) ?? 'nothing'})`, 'Point Orders Field at a list of orders.');
				continue;
			}
			let last = 0;
			let total = 0;
			for (const o of orders as IDataObject[]) {
				last = Math.max(last, toTime(o?.[dateKey]) ?? 0);
				total += toNumber(o?.[amountKey]) ?? 0;
			}
			rows.push({ recencyDays: last ? (now - last) / 86400_000 : Number.MAX_SAFE_INTEGER, frequency: orders.length, monetary: total });
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
				fail(i, `Item ${i} lacks a last order date, order count or total spent (${JSON.stringify({ last: lastOf(items[i].json), count: countOf(items[i].json), spent: spentOf(items[i].json) })})`, 'Check the three field paths; dates may be ISO strings or epoch numbers.');
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
			json: { ...items[i].json, rfm: { ...scores, recencyDays: Math.round(r.recencyDays * 10) / 10, segment } },
			pairedItem: { item: i },
		});
	});
	return outputs;
}

async function engagement(this: IExecuteFunctions, items: INodeExecutionData[]): Promise<INodeExecutionData[][]> {
	const eventsOf = compileFieldPath(this.getNodeParameter('eventsField', 0) as string);
	const typeKey = this.getNodeParameter('eventTypeKey', 0) as string;
	const timeKey = this.getNodeParameter('eventTimeKey', 0) as string;
	const weights = new Map<string, number>();
	for (const pair of String(this.getNodeParameter('weights', 0, '')).split(',')) {
		if (!pair.trim()) continue;
		const [k, v] = pair.split('=').map((x) => x.trim());
		const w = Number(v);
		if (!k || !Number.isFinite(w)) {
			throw new NodeOperationError(this.getNode(), `Weights: "${pair.trim()}" is not type=number`, { description: `Write pairs like ${Object.entries(DEFAULT_WEIGHTS).map(([a, b]) => `${a}=${b}`).join(', ')}` });
		}
		weights.set(k, w);
	}
	const halfLife = this.getNodeParameter('halfLifeDays', 0) as number;
	const warmFrom = this.getNodeParameter('warmFrom', 0) as number;
	const hotFrom = this.getNodeParameter('hotFrom', 0) as number;
	const now = Date.now();
	const persist = this.getNodeParameter('persist', 0, false) as boolean;
	const idOf = persist ? compileFieldPath(this.getNodeParameter('contactIdField', 0, 'contact.id') as string) : undefined;
	const ids: Array<string | undefined> = items.map((item) => {
		const id = idOf?.(item.json);
		return id === undefined || id === null || id === '' ? undefined : String(id);
	});
	if (persist) {
		const missing = ids.findIndex((id) => id === undefined);
		if (missing !== -1) {
			throw new NodeOperationError(this.getNode(), `No contact ID at "${this.getNodeParameter('contactIdField', 0)}"`, {
				itemIndex: missing,
				description: 'Kept scores need a stable contact ID: set Contact ID Field.',
			});
		}
	}
	const store = persist ? await getStore(this) : undefined;
	if (store) {
		// One score per person: ids the person was merged from count as theirs.
		const personOf = await personIdsOf(store, ids as string[]);
		ids.forEach((id, i) => {
			ids[i] = personOf.get(id!) ?? id;
		});
	}
	const previous = store ? await store.getEngagement(ids as string[]) : new Map<string, { score: number; updatedAt: number }>();
	const out: INodeExecutionData[] = [];
	const saved: Array<{ contactId: string; score: number; updatedAt: number }> = [];
	for (let i = 0; i < items.length; i++) {
		const raw = eventsOf(items[i].json);
		const list = Array.isArray(raw) ? (raw as IDataObject[]) : [];
		const prior = ids[i] ? previous.get(ids[i]!) : undefined;
		const events: EngagementEvent[] = [];
		for (const e of list) {
			const at = toTime(e?.[timeKey]);
			// With kept scores, events already counted by an earlier run are not added again.
			if (at !== undefined && (!prior || at > prior.updatedAt)) events.push({ type: String(e?.[typeKey] ?? ''), at });
		}
		let score = decayedScore(events, weights, halfLife, now);
		if (prior) score = Math.round((score + decayForward(prior.score, prior.updatedAt, now, halfLife)) * 1000) / 1000;
		if (persist) saved.push({ contactId: ids[i]!, score, updatedAt: now });
		out.push({
			json: { ...items[i].json, engagement: { score, tier: tierOf(score, warmFrom, hotFrom), events: events.length, ...(persist ? { carriedOver: prior ? true : false } : {}) } },
			pairedItem: { item: i },
		});
	}
	if (store) await store.saveEngagement(saved);
	return [out];
}
