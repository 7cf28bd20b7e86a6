/**
 * AI Content, Reply: an answer in the person's conversation (their last turns from the store), guarded against repeating the brief.
 */
import type { IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { guardReply, REPLY_SCHEMA, replyMessages } from '../../shared/ai/conversation';
import { sampleReply } from '../../shared/ai/sample';
import { mapLimit } from '../../shared/pool';
import { compileFieldPath } from '../../shared/field-path';
import { getStore } from '../../shared/n8n/store';
import { personIdsOf } from '../../shared/people';
import type { Store } from '../../shared/store/types';
import { chatSetup } from './classify.operation';
import type { ModelRun, Usage } from './model';

export async function reply(this: IExecuteFunctions, m: ModelRun): Promise<INodeExecutionData[][]> {
	const { items, node, sample, concurrency, modelName, complete } = m;
	const { textOf, intents, perItem, errorItem } = chatSetup.call(this, node, items);
	const brief = String(this.getNodeParameter('systemBrief', 0));
	const idOf = compileFieldPath(this.getNodeParameter('contactIdField', 0) as string);
	const turns = Number(this.getNodeParameter('historyTurns', 0, 10));
	const store = await getStore(this);
	const failed = new Map<number, { message: string; description?: string | null }>();
	const ids = await threadIds(this, store, items, idOf, failed);
	const history = await store.getTurns(
		ids.filter((id): id is string => id !== undefined),
		turns,
	);
	const schema = intents.length
		? {
				...REPLY_SCHEMA,
				properties: {
					...REPLY_SCHEMA.properties,
					intent: { type: 'string', enum: [...intents, 'other'] },
				},
			}
		: REPLY_SCHEMA;
	// Items of one contact are answered in order; different contacts in parallel.
	const byContact = new Map<string, number[]>();
	ids.forEach((id, i) => {
		if (id !== undefined) byContact.set(id, [...(byContact.get(id) ?? []), i]);
	});
	const answers = new Array<{ data: IDataObject; usage: Usage } | undefined>(items.length);
	await mapLimit([...byContact.entries()], concurrency, async ([id, list]) => {
		const h = [...(history.get(id) ?? [])];
		for (const i of list) {
			const text = String(textOf(items[i].json) ?? '');
			const r = await perItem(i, async () =>
				sample
					? {
							data: { ...sampleReply(m.sampleWriting.text), sample: true } as IDataObject,
							usage: { inputTokens: 0, outputTokens: 0, calls: 0 },
						}
					: complete(replyMessages(brief, h, text), schema, 'reply'),
			);
			if ('error' in r) {
				failed.set(i, r.error);
				continue;
			}
			guardReply(r.data as IDataObject, brief);
			answers[i] = { data: r.data as IDataObject, usage: r.usage };
			// A sample reply is not part of the person's conversation.
			if (sample) continue;
			const now = Date.now();
			h.push(
				{ role: 'user', text, at: now },
				{ role: 'assistant', text: String((r.data as IDataObject).reply ?? ''), at: now + 1 },
			);
			await store.addTurns([
				{ contactId: id, role: 'user', text, at: now },
				{
					contactId: id,
					role: 'assistant',
					text: String((r.data as IDataObject).reply ?? ''),
					at: now + 1,
				},
			]);
		}
	});
	return [
		items.map((_, i) =>
			failed.has(i) || !answers[i]
				? errorItem(i, failed.get(i) ?? { message: 'No answer' })
				: {
						json: {
							...items[i].json,
							ai: answers[i]!.data,
							usage: { model: modelName, ...answers[i]!.usage },
						},
						pairedItem: { item: i },
					},
		),
	];
}

/** Each item's person (replies thread by person); an item without a contact ID is its error. */
async function threadIds(
	fn: IExecuteFunctions,
	store: Store,
	items: INodeExecutionData[],
	idOf: (json: IDataObject) => unknown,
	failed: Map<number, { message: string; description?: string | null }>,
): Promise<Array<string | undefined>> {
	const node = fn.getNode();
	const ids: Array<string | undefined> = [];
	for (let i = 0; i < items.length; i++) {
		const id = idOf(items[i].json);
		if (id === undefined || id === null || id === '') {
			const e = new NodeOperationError(
				node,
				`No contact ID at "${fn.getNodeParameter('contactIdField', 0)}"`,
				{ itemIndex: i, description: 'Replies thread by contact: set Contact ID Field.' },
			);
			if (!fn.continueOnFail()) throw e;
			failed.set(i, e);
			ids.push(undefined);
		} else ids.push(String(id));
	}
	// One conversation per person: a merged id, or the id of another channel the person was
	// linked under, threads into the same history.
	const person = await personIdsOf(
		store,
		ids.filter((id): id is string => id !== undefined),
	);
	ids.forEach((id, i) => {
		if (id !== undefined) ids[i] = person.get(id) ?? id;
	});
	return ids;
}
