/**
 * Journey's per-contact operations: Track Event, Route by Stage, Get Contact Journey. Each item is
 * one person (a merged id or one they were known by is theirs); one bad item is that item's error.
 */
import { createHash } from 'node:crypto';
import type {
	IDataObject,
	IExecuteFunctions,
	INodeExecutionData,
	INodeProperties,
} from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import {
	applyEvent,
	DefinitionError,
	validateDefinition,
	type JourneyDefinition,
} from '../../shared/journey/journey';
import { compileFieldPath } from '../../shared/field-path';
import { isToolCall } from '../../shared/n8n/tool-mode';
import { personIdsOf } from '../../shared/people';
import { toTime } from '../../shared/segment/rules';
import type { Store } from '../../shared/store/types';
import { conversationContactProperty } from '../../shared/n8n/tool-scope';

/** The operations about one person (as a tool: the person of the conversation only). */
export const PERSON_OPERATIONS = ['trackEvent', 'routeByStage', 'getContactJourney'];

export const description: INodeProperties[] = [
	{
		displayName: 'Allow Moving Backwards',
		name: 'allowBackwards',
		type: 'boolean',
		default: false,
		description: 'Whether an event may move a contact to an earlier stage',
		displayOptions: { show: { operation: ['trackEvent'] } },
	},
	{
		displayName: 'Goal Stage',
		name: 'goalStage',
		type: 'string',
		default: 'Conversion',
		description: 'Reaching it (or a later stage) sets goalReached, once per contact',
		displayOptions: { show: { operation: ['trackEvent'] } },
	},
	{
		displayName: 'Exit Events',
		name: 'exitEvents',
		type: 'string',
		default: 'unsubscribed',
		description: 'Comma-separated events that take a contact out of the journey',
		displayOptions: { show: { operation: ['trackEvent'] } },
	},
	{
		displayName: 'Max Days in a Stage',
		name: 'maxDaysInStage',
		type: 'number',
		default: 0,
		description: 'Contacts longer than this in a stage are marked overdue (0 = no limit)',
		displayOptions: { show: { operation: ['trackEvent'] } },
	},
	{
		displayName: 'Contact ID Field',
		name: 'contactIdField',
		type: 'string',
		requiresDataPath: 'single',
		default: 'contact.id',
		displayOptions: {
			show: { operation: ['trackEvent', 'routeByStage', 'getContactJourney'] },
			hide: { '@tool': [true] },
		},
	},
	{
		displayName: 'Event Field',
		name: 'eventField',
		type: 'string',
		requiresDataPath: 'single',
		default: 'event.type',
		displayOptions: { show: { operation: ['trackEvent'] }, hide: { '@tool': [true] } },
	},
	// The tool variant an AI Agent uses: the agent names the contact and the event.
	{
		displayName: 'Contact ID',
		name: 'toolContactId',
		type: 'string',
		default:
			"={{ $fromAI('contactId', 'The contact ID of the person (for example crm-77)', 'string') }}",
		description: 'Filled by the agent',
		displayOptions: { show: { '@tool': [true], operation: PERSON_OPERATIONS } },
	},
	{
		...conversationContactProperty,
		displayOptions: { show: { '@tool': [true], operation: PERSON_OPERATIONS } },
	},
	{
		displayName: 'Event',
		name: 'toolEvent',
		type: 'string',
		default:
			"={{ $fromAI('event', 'What the person did, one of the events this journey knows (see its Moves), for example booked', 'string') }}",
		description: 'Filled by the agent',
		displayOptions: { show: { '@tool': [true], operation: ['trackEvent'] } },
	},
	{
		displayName: 'Event ID Field',
		name: 'eventIdField',
		type: 'string',
		requiresDataPath: 'single',
		default: 'event.id',
		description:
			'A re-delivered event with the same ID is recorded once. Without one, contact + event + time is used.',
		displayOptions: { show: { operation: ['trackEvent'] } },
	},
	{
		displayName: 'Event Time Field',
		name: 'eventTimeField',
		type: 'string',
		requiresDataPath: 'single',
		default: 'event.at',
		description: 'ISO date or epoch; now when missing',
		displayOptions: { show: { operation: ['trackEvent'] } },
	},
];

export async function execute(
	this: IExecuteFunctions,
	operation: string,
	store: Store,
	name: string,
	stages: string[],
	items: INodeExecutionData[],
): Promise<INodeExecutionData[][]> {
	// One bad item is that item's error (continue-on-fail), never the batch's.
	const errors = new Map<number, NodeOperationError>();
	const itemError = (i: number, error: unknown) => {
		const e =
			error instanceof NodeOperationError
				? error
				: new NodeOperationError(this.getNode(), error as Error, { itemIndex: i });
		if (!this.continueOnFail()) throw e;
		errors.set(i, e);
	};
	const errorItem = (i: number): INodeExecutionData => ({
		json: {
			...items[i].json,
			error: errors.get(i)!.message,
			...(errors.get(i)!.description ? { description: errors.get(i)!.description } : {}),
		},
		pairedItem: { item: i },
	});
	// As an agent's tool, the contact and the event are what the agent gave (Contact ID, Event).
	const tool = isToolCall(this);
	const idField = tool ? 'Contact ID' : (this.getNodeParameter('contactIdField', 0) as string);
	const idOf = tool ? undefined : compileFieldPath(idField || 'contact.id');
	const rawId = (i: number) => {
		const v = tool ? this.getNodeParameter('toolContactId', i, '') : idOf!(items[i].json);
		if (v === undefined || v === null || v === '') {
			throw new NodeOperationError(
				this.getNode(),
				`No contact ID at "${idField}" (found ${JSON.stringify(v) ?? 'nothing'})`,
				{
					itemIndex: i,
					description: "Set Contact ID Field to where your items keep the contact's ID.",
				},
			);
		}
		return String(v);
	};
	// One journey per person: a merged id (or one the person was known by before) is the person's.
	const personOf = await personIdsOf(
		store,
		items.flatMap((_, i) => {
			try {
				return [rawId(i)];
			} catch {
				return [];
			}
		}),
	);
	const contactId = (i: number) => {
		const id = rawId(i);
		return personOf.get(id) ?? id;
	};

	if (operation === 'trackEvent') {
		const moves =
			((this.getNodeParameter('moves', 0, {}) as IDataObject).move as IDataObject[] | undefined) ??
			[];
		let def: JourneyDefinition;
		try {
			def = validateDefinition({
				name,
				stages,
				moves: new Map(moves.map((m) => [String(m.event).trim(), String(m.stage).trim()])),
				allowBackwards: this.getNodeParameter('allowBackwards', 0) as boolean,
				goalStage: String(this.getNodeParameter('goalStage', 0, '')).trim() || undefined,
				exitEvents: String(this.getNodeParameter('exitEvents', 0, ''))
					.split(',')
					.map((s) => s.trim())
					.filter(Boolean),
				maxDaysInStage: this.getNodeParameter('maxDaysInStage', 0, 0) as number,
			});
		} catch (error) {
			throw new NodeOperationError(this.getNode(), (error as Error).message, {
				description:
					error instanceof DefinitionError
						? 'Fix the journey definition; no event was recorded.'
						: undefined,
			});
		}
		const eventField = tool ? 'Event' : (this.getNodeParameter('eventField', 0) as string);
		const pathOf = compileFieldPath(eventField);
		const eventOf = (json: unknown, i: number): unknown =>
			tool ? this.getNodeParameter('toolEvent', i, '') : pathOf(json);
		const eventIdOf = compileFieldPath(this.getNodeParameter('eventIdField', 0) as string);
		const timeOf = compileFieldPath(this.getNodeParameter('eventTimeField', 0) as string);
		const now = Date.now();
		const events: Array<{
			i: number;
			eventId: string;
			contactId: string;
			event: string;
			at: number;
		}> = [];
		items.forEach((item, i) => {
			try {
				const event = eventOf(item.json, i);
				if (typeof event !== 'string' || event.trim() === '' || event.length > 200) {
					throw new NodeOperationError(
						this.getNode(),
						`No event name at "${eventField}" (found ${JSON.stringify(event)?.slice(0, 80) ?? 'nothing'})`,
						{ itemIndex: i, description: 'Point Event Field at a short text such as "purchased".' },
					);
				}
				const id = contactId(i);
				const at = toTime(timeOf(item.json)) ?? now;
				const rawId = eventIdOf(item.json);
				const eventId =
					rawId === undefined || rawId === null || rawId === ''
						? createHash('sha256')
								.update(`${id}\u0000${event}\u0000${at}`)
								.digest('hex')
								.slice(0, 32)
						: String(rawId);
				events.push({ i, eventId, contactId: id, event: event.trim(), at });
			} catch (error) {
				itemError(i, error);
			}
		});
		const tracked = await store.trackJourneyEvents(name, events, (state, event, at) =>
			applyEvent(def, state, event, at),
		);
		const resultOf = new Map(events.map((e, k) => [e.i, { r: tracked[k], e }]));
		return [
			items.map((_, i) => {
				if (errors.has(i)) return errorItem(i);
				const { r, e } = resultOf.get(i)!;
				return {
					json: {
						...items[i].json,
						journey: r.duplicate
							? { name, eventId: e.eventId, duplicate: true }
							: {
									name,
									eventId: e.eventId,
									duplicate: false,
									previousStage: r.result.previousStage,
									currentStage: r.result.currentStage,
									moved: r.result.moved,
									goalReached: r.result.goalReached,
									exited: r.result.exited,
									timeInPreviousStageHours:
										r.result.timeInPreviousStageMs === null
											? null
											: Math.round((r.result.timeInPreviousStageMs / 3600_000) * 100) / 100,
									overdue: r.result.overdue,
									...(r.result.ignored ? { ignored: r.result.ignored } : {}),
								},
					},
					pairedItem: { item: i },
				};
			}),
		];
	}

	if (operation === 'routeByStage') {
		const ids = items.map((_, i) => {
			try {
				return contactId(i);
			} catch (error) {
				itemError(i, error);
				return undefined;
			}
		});
		const states = await store.getJourneyStates(
			name,
			ids.filter((id): id is string => id !== undefined),
		);
		const outputs: INodeExecutionData[][] = Array.from({ length: stages.length + 1 }, () => []);
		ids.forEach((id, i) => {
			if (id === undefined) {
				outputs[stages.length].push(errorItem(i));
				return;
			}
			const st = states.get(id);
			const idx = st && st.exitedAt === undefined ? stages.indexOf(st.stage) : -1;
			outputs[idx === -1 ? stages.length : idx].push({
				json: {
					...items[i].json,
					journeyStage: st?.stage ?? null,
					journeyExited: st?.exitedAt !== undefined,
				},
				pairedItem: { item: i },
			});
		});
		return outputs;
	}

	if (operation === 'getContactJourney') {
		const out: INodeExecutionData[] = [];
		for (let i = 0; i < items.length; i++) {
			let id: string;
			try {
				id = contactId(i);
			} catch (error) {
				itemError(i, error);
				out.push(errorItem(i));
				continue;
			}
			const path = await store.getJourneyTransitions(name, id);
			const st = (await store.getJourneyStates(name, [id])).get(id);
			out.push({
				json: {
					contactId: id,
					journey: name,
					currentStage: st?.stage ?? null,
					exited: st?.exitedAt !== undefined,
					goalReachedAt: st?.goalReachedAt ? new Date(st.goalReachedAt).toISOString() : null,
					path: path.map((t) => ({
						from: t.fromStage,
						to: t.toStage,
						at: new Date(t.at).toISOString(),
					})),
				},
				pairedItem: { item: i },
			});
		}
		return [out];
	}
	throw new NodeOperationError(this.getNode(), `The operation "${operation}" is not known`);
}
