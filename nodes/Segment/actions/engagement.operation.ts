/** Audience Segment, Engagement Score: weighted events decayed by a half-life, optionally kept in the store. */
import type {
	IDataObject,
	IExecuteFunctions,
	INodeExecutionData,
	INodeProperties,
} from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { compileFieldPath } from '../../shared/field-path';
import { getStore } from '../../shared/n8n/store';
import { personIdsOf } from '../../shared/people';
import {
	DEFAULT_WEIGHTS,
	decayedScore,
	decayForward,
	tierOf,
	type EngagementEvent,
} from '../../shared/segment/engagement';
import { toTime } from '../../shared/segment/rules';

export const description: INodeProperties[] = [
	{
		displayName: 'Events Field',
		name: 'eventsField',
		type: 'string',
		requiresDataPath: 'single',
		default: 'events',
		description: 'Path to a list of events, each with a type and a time',
		displayOptions: { show: { operation: ['engagementScore'] } },
	},
	{
		displayName: 'Event Type Key',
		name: 'eventTypeKey',
		type: 'string',
		default: 'type',
		displayOptions: { show: { operation: ['engagementScore'] } },
	},
	{
		displayName: 'Event Time Key',
		name: 'eventTimeKey',
		type: 'string',
		default: 'at',
		displayOptions: { show: { operation: ['engagementScore'] } },
	},
	{
		displayName: 'Weights',
		name: 'weights',
		type: 'string',
		default: 'open=1, click=3, reply=5, visit=2, purchase=10',
		description: 'Event type=weight pairs, comma-separated',
		displayOptions: { show: { operation: ['engagementScore'] } },
	},
	{
		displayName: 'Half-Life (Days)',
		name: 'halfLifeDays',
		type: 'number',
		default: 14,
		typeOptions: { minValue: 0.1 },
		displayOptions: { show: { operation: ['engagementScore'] } },
	},
	{
		displayName: 'Keep Scores in Store',
		name: 'persist',
		type: 'boolean',
		default: false,
		description:
			'Whether scores accumulate across runs in the Convergent store: the stored score decays to now, and only events newer than the last run are added',
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
	{
		displayName: 'Warm From Score',
		name: 'warmFrom',
		type: 'number',
		default: 5,
		displayOptions: { show: { operation: ['engagementScore'] } },
	},
	{
		displayName: 'Hot From Score',
		name: 'hotFrom',
		type: 'number',
		default: 20,
		displayOptions: { show: { operation: ['engagementScore'] } },
	},
];

/** Weights: "type=number" pairs, comma-separated; a pair that is not one names itself. */
function readWeights(fn: IExecuteFunctions): Map<string, number> {
	const weights = new Map<string, number>();
	for (const pair of String(fn.getNodeParameter('weights', 0, '')).split(',')) {
		if (!pair.trim()) continue;
		const [k, v] = pair.split('=').map((x) => x.trim());
		const w = Number(v);
		if (!k || !Number.isFinite(w)) {
			throw new NodeOperationError(fn.getNode(), `Weights: "${pair.trim()}" is not type=number`, {
				description: `Write pairs like ${Object.entries(DEFAULT_WEIGHTS)
					.map(([a, b]) => `${a}=${b}`)
					.join(', ')}`,
			});
		}
		weights.set(k, w);
	}
	return weights;
}

export async function engagement(
	this: IExecuteFunctions,
	items: INodeExecutionData[],
): Promise<INodeExecutionData[][]> {
	const eventsOf = compileFieldPath(this.getNodeParameter('eventsField', 0) as string);
	const typeKey = this.getNodeParameter('eventTypeKey', 0) as string;
	const timeKey = this.getNodeParameter('eventTimeKey', 0) as string;
	const weights = readWeights(this);
	const halfLife = this.getNodeParameter('halfLifeDays', 0) as number;
	const warmFrom = this.getNodeParameter('warmFrom', 0) as number;
	const hotFrom = this.getNodeParameter('hotFrom', 0) as number;
	const now = Date.now();
	const persist = this.getNodeParameter('persist', 0, false) as boolean;
	const idOf = persist
		? compileFieldPath(this.getNodeParameter('contactIdField', 0, 'contact.id') as string)
		: undefined;
	const ids: Array<string | undefined> = items.map((item) => {
		const id = idOf?.(item.json);
		return id === undefined || id === null || id === '' ? undefined : String(id);
	});
	if (persist) {
		const missing = ids.findIndex((id) => id === undefined);
		if (missing !== -1) {
			throw new NodeOperationError(
				this.getNode(),
				`No contact ID at "${this.getNodeParameter('contactIdField', 0)}"`,
				{
					itemIndex: missing,
					description: 'Kept scores need a stable contact ID: set Contact ID Field.',
				},
			);
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
	const previous = store
		? await store.getEngagement(ids as string[])
		: new Map<string, { score: number; updatedAt: number }>();
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
			if (at !== undefined && (!prior || at > prior.updatedAt))
				events.push({ type: String(e?.[typeKey] ?? ''), at });
		}
		let score = decayedScore(events, weights, halfLife, now);
		if (prior)
			score =
				Math.round((score + decayForward(prior.score, prior.updatedAt, now, halfLife)) * 1000) /
				1000;
		if (persist) saved.push({ contactId: ids[i]!, score, updatedAt: now });
		out.push({
			json: {
				...items[i].json,
				engagement: {
					score,
					tier: tierOf(score, warmFrom, hotFrom),
					events: events.length,
					...(persist ? { carriedOver: prior ? true : false } : {}),
				},
			},
			pairedItem: { item: i },
		});
	}
	if (store) await store.saveEngagement(saved);
	return [out];
}
