/**
 * Journey's per-person operations. Each item is one person (a merged id or one they were known by
 * is theirs); one bad item is that item's error (continue-on-fail), never the batch's.
 */
import { createHash } from 'node:crypto';
import {
	NodeOperationError,
	type IDataObject,
	type IExecuteFunctions,
	type INodeExecutionData,
	type NodeApiError,
} from 'n8n-workflow';

import type { JourneyStateRow } from '../../shared/domain';
import { compileFieldPath } from '../../shared/field-path';
import {
	applyEvent,
	DefinitionError,
	validateDefinition,
	type JourneyDefinition,
} from '../../shared/journey/journey';
import { asNodeError } from '../../shared/n8n/fail-closed';
import { isToolCall } from '../../shared/n8n/tool-mode';
import { personIdsOf } from '../../shared/people';
import { toTime } from '../../shared/segment/rules';
import type { Store } from '../../shared/store/types';

/** The items' people, and the per-item error rule. */
export interface PersonItems {
	contactId(i: number): string;
	itemError(i: number, error: unknown): void;
	errorItem(i: number): INodeExecutionData;
	hasError(i: number): boolean;
	/** Called as an agent's tool: the contact and the event are what the agent gave. */
	tool: boolean;
}

export async function personItems(
	fn: IExecuteFunctions,
	store: Store,
	items: INodeExecutionData[],
): Promise<PersonItems> {
	const errors = new Map<number, NodeOperationError | NodeApiError>();
	const tool = isToolCall(fn);
	const idField = tool ? 'Contact ID' : (fn.getNodeParameter('contactIdField', 0) as string);
	const idOf = tool ? undefined : compileFieldPath(idField || 'contact.id');
	const rawId = (i: number) => {
		const v = tool ? fn.getNodeParameter('toolContactId', i, '') : idOf!(items[i].json);
		if (v === undefined || v === null || v === '') {
			throw new NodeOperationError(
				fn.getNode(),
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
	return {
		tool,
		contactId: (i) => {
			const id = rawId(i);
			return personOf.get(id) ?? id;
		},
		itemError: (i, error) => {
			const e = asNodeError(fn.getNode(), error, i);
			if (!fn.continueOnFail()) throw e;
			errors.set(i, e);
		},
		hasError: (i) => errors.has(i),
		errorItem: (i) => ({
			json: {
				...items[i].json,
				error: errors.get(i)!.message,
				...(errors.get(i)!.description ? { description: errors.get(i)!.description } : {}),
			},
			pairedItem: { item: i },
		}),
	};
}

function readDefinition(fn: IExecuteFunctions, name: string, stages: string[]): JourneyDefinition {
	const moves =
		((fn.getNodeParameter('moves', 0, {}) as IDataObject).move as IDataObject[] | undefined) ?? [];
	try {
		return validateDefinition({
			name,
			stages,
			moves: new Map(moves.map((m) => [String(m.event).trim(), String(m.stage).trim()])),
			allowBackwards: fn.getNodeParameter('allowBackwards', 0) as boolean,
			goalStage: String(fn.getNodeParameter('goalStage', 0, '')).trim() || undefined,
			exitEvents: String(fn.getNodeParameter('exitEvents', 0, ''))
				.split(',')
				.map((s) => s.trim())
				.filter(Boolean),
			maxDaysInStage: fn.getNodeParameter('maxDaysInStage', 0, 0) as number,
		});
	} catch (error) {
		throw new NodeOperationError(fn.getNode(), (error as Error).message, {
			description:
				error instanceof DefinitionError
					? 'Fix the journey definition; no event was recorded.'
					: undefined,
		});
	}
}

type TrackedEvent = { i: number; eventId: string; contactId: string; event: string; at: number };

/** Each item's event: its name, its time (now when missing), its id (derived when missing). */
function readEvents(
	fn: IExecuteFunctions,
	people: PersonItems,
	items: INodeExecutionData[],
): TrackedEvent[] {
	const eventField = people.tool ? 'Event' : (fn.getNodeParameter('eventField', 0) as string);
	const pathOf = compileFieldPath(eventField);
	const eventOf = (json: unknown, i: number): unknown =>
		people.tool ? fn.getNodeParameter('toolEvent', i, '') : pathOf(json);
	const eventIdOf = compileFieldPath(fn.getNodeParameter('eventIdField', 0) as string);
	const timeOf = compileFieldPath(fn.getNodeParameter('eventTimeField', 0) as string);
	const now = Date.now();
	const events: TrackedEvent[] = [];
	items.forEach((item, i) => {
		try {
			const event = eventOf(item.json, i);
			if (typeof event !== 'string' || event.trim() === '' || event.length > 200) {
				throw new NodeOperationError(
					fn.getNode(),
					`No event name at "${eventField}" (found ${JSON.stringify(event)?.slice(0, 80) ?? 'nothing'})`,
					{ itemIndex: i, description: 'Point Event Field at a short text such as "purchased".' },
				);
			}
			const id = people.contactId(i);
			const at = toTime(timeOf(item.json)) ?? now;
			const rawId = eventIdOf(item.json);
			const eventId =
				rawId === undefined || rawId === null || rawId === ''
					? createHash('sha256').update(`${id}\u0000${event}\u0000${at}`).digest('hex').slice(0, 32)
					: String(rawId);
			events.push({ i, eventId, contactId: id, event: event.trim(), at });
		} catch (error) {
			people.itemError(i, error);
		}
	});
	return events;
}

export async function trackEvent(
	fn: IExecuteFunctions,
	people: PersonItems,
	store: Store,
	name: string,
	stages: string[],
	items: INodeExecutionData[],
): Promise<INodeExecutionData[][]> {
	const def = readDefinition(fn, name, stages);
	const events = readEvents(fn, people, items);
	const tracked = await store.trackJourneyEvents(name, events, (state, event, at) =>
		applyEvent(def, state, event, at),
	);
	const resultOf = new Map(events.map((e, k) => [e.i, { r: tracked[k], e }]));
	return [
		items.map((_, i) => {
			if (people.hasError(i)) return people.errorItem(i);
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

export async function routeByStage(
	people: PersonItems,
	store: Store,
	name: string,
	stages: string[],
	items: INodeExecutionData[],
): Promise<INodeExecutionData[][]> {
	const ids = items.map((_, i) => {
		try {
			return people.contactId(i);
		} catch (error) {
			people.itemError(i, error);
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
			outputs[stages.length].push(people.errorItem(i));
			return;
		}
		const st: JourneyStateRow | undefined = states.get(id);
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

export async function getContactJourney(
	people: PersonItems,
	store: Store,
	name: string,
	items: INodeExecutionData[],
): Promise<INodeExecutionData[][]> {
	const out: INodeExecutionData[] = [];
	for (let i = 0; i < items.length; i++) {
		let id: string;
		try {
			id = people.contactId(i);
		} catch (error) {
			people.itemError(i, error);
			out.push(people.errorItem(i));
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
