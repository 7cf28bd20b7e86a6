/**
 * The form's one operation: each item a message of a person in a conversation; out on Ask (the
 * next question, as `reply`), Completed, Cancelled or Not Started, in input order. One bad item is
 * that item's error (continue-on-fail: on Ask, without a reply, so nothing is sent for it), never
 * the batch's.
 */
import { NodeOperationError, type IExecuteFunctions, type INodeExecutionData } from 'n8n-workflow';

import type { Operation } from '../../shared/n8n/operation';
import { getStore } from '../../shared/n8n/store';
import { personIdsOf, resolvePeople } from '../../shared/people';
import type { Store } from '../../shared/store/types';
import { asNodeError } from '../../shared/n8n/fail-closed';
import { readFormSettings, type FormSettings } from './settings';
import { FormRun } from './step';
import { connectReader, type Reader } from './understand';

export const CONVERSE: Operation = {
	outputs: () => ['Ask', 'Completed', 'Cancelled', 'Not Started'],
	count: (fn) => (fn.getNodeParameter('startWhen', 0, 'always') === 'fieldMatches' ? 4 : 3),
	// An error item goes on Ask without a reply: nothing is sent for it.
	errorOutput: 0,
	run: async (fn, items) => await converse(fn, items),
};

async function converse(
	fn: IExecuteFunctions,
	items: INodeExecutionData[],
): Promise<INodeExecutionData[][]> {
	const settings = readFormSettings(fn);
	const reader = await connectReader(fn, settings.zone, Date.now());
	const store = await getStore(fn);
	const run = new FormRun(settings, reader, Date.now());
	const itemError = (i: number, error: unknown) => {
		const e = asNodeError(fn.getNode(), error, i);
		if (!fn.continueOnFail()) throw e;
		run.ask.push({
			json: {
				...items[i].json,
				error: e.message,
				...(e.description ? { description: e.description } : {}),
			},
			pairedItem: { item: i },
		});
	};
	const ids = await personIds(fn, store, settings, items, itemError);
	const sessions = await store.getFormSessions(
		settings.form,
		ids.filter((id): id is string => id !== undefined),
	);
	for (const [id, session] of sessions) run.sessions.set(id, session);
	// In order: two messages of one person are two steps of one session.
	for (const [i, item] of items.entries()) {
		const id = ids[i];
		if (id === undefined) continue;
		try {
			await run.step(item, i, id);
		} catch (error) {
			itemError(i, error);
		}
	}
	await keep(fn, store, settings, run, reader, items.length);
	// Items leave in input order (error items were placed first).
	const inOrder = (out: INodeExecutionData[]) =>
		out.sort(
			(a, b) => (a.pairedItem as { item: number }).item - (b.pairedItem as { item: number }).item,
		);
	return (
		settings.conditional
			? [run.ask, run.completed, run.cancelled, run.notStarted]
			: [run.ask, run.completed, run.cancelled]
	).map(inOrder);
}

/** Each item's person: one session per person, whichever channel or id they write from. */
async function personIds(
	fn: IExecuteFunctions,
	store: Store,
	settings: FormSettings,
	items: INodeExecutionData[],
	itemError: (i: number, error: unknown) => void,
): Promise<Array<string | undefined>> {
	const field = settings.fields.contactIdField ?? 'contactId';
	const ids = items.map((item, i) => {
		const id = settings.idOf(item.json);
		if (id === undefined || id === null || id === '' || String(id).length > 256) {
			itemError(
				i,
				new NodeOperationError(
					fn.getNode(),
					`No contact ID at "${String(field)}" (found ${JSON.stringify(id)?.slice(0, 60) ?? 'nothing'})`,
					{
						itemIndex: i,
						description: 'Feed the form Touchpoint Trigger events, or set Contact ID Field.',
					},
				),
			);
			return undefined;
		}
		return String(id);
	});
	const personOf = await personIdsOf(
		store,
		ids.filter((id): id is string => id !== undefined),
	);
	return ids.map((id) => (id === undefined ? undefined : (personOf.get(id) ?? id)));
}

/** What the run changed: the sessions, what reading free text cost, and the consent answers. */
async function keep(
	fn: IExecuteFunctions,
	store: Store,
	settings: FormSettings,
	run: FormRun,
	reader: Reader | undefined,
	itemCount: number,
): Promise<void> {
	const { form } = settings;
	if (run.changed.size)
		await store.saveFormSessions(
			form,
			[...run.changed].map((id) => ({ contactId: id, ...run.sessions.get(id)! })),
		);
	// With the form's name as its campaign (AI Content > Report AI Usage).
	if (reader?.spent.calls) {
		await store.recordAiUsage([
			{
				at: Date.now(),
				workflowId: String(fn.getWorkflow().id ?? ''),
				executionId: String(fn.getExecutionId() ?? ''),
				node: fn.getNode().name,
				operation: 'understandFreeText',
				model: reader.modelName(),
				campaign: `form:${form}`,
				items: itemCount,
				cacheHits: 0,
				...reader.spent,
			},
		]);
	}
	if (!run.consent.length) return;
	// The consent covers the chat's address only when that address is the person's (linked here if
	// nobody holds it); an address held by someone else is left out, so the grant covers only what
	// the person holds.
	const people = await resolvePeople(
		store,
		run.consent.map((e) => ({ id: e.contactId })),
		{
			create: true,
			link: true,
			source: `conversational-form:${form}`,
			addresses: (_c, k) => (run.consentAddress[k] ? [run.consentAddress[k]!] : []),
		},
	);
	people.forEach((p, k) => {
		if (p.error) delete run.consent[k].address;
	});
	await store.recordConsent(run.consent);
}
