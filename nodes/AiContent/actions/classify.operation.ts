/**
 * AI Content, Classify: intent (and, as an option, an opt-out in the person's own words, which withdraws and never grants).
 */
import type { IDataObject, IExecuteFunctions, INode, INodeExecutionData } from 'n8n-workflow';
import { NodeApiError, NodeOperationError } from 'n8n-workflow';

import { classifyMessages, classifySchema } from '../../shared/ai/conversation';
import { sampleClassification } from '../../shared/ai/sample';
import { mapLimit } from '../../shared/pool';
import { compileFieldPath } from '../../shared/field-path';
import { getStore } from '../../shared/n8n/store';
import { isChannel, type Channel } from '../../shared/contact';
import { personIdsOf } from '../../shared/people';
import { recordFreeTextOptOuts } from '../../shared/policy/opt-out';
import { asNodeError } from '../../shared/n8n/fail-closed';
import type { ModelRun } from './model';

export async function classify(
	this: IExecuteFunctions,
	m: ModelRun,
): Promise<INodeExecutionData[][]> {
	const { items, node, sample, concurrency, modelName, complete } = m;
	const { textOf, intents, perItem, errorItem } = chatSetup.call(this, node, items);

	const detectOptOut = this.getNodeParameter('detectOptOut', 0, false) as boolean;
	const results = await mapLimit(items, concurrency, async (item, i) =>
		perItem(i, async () =>
			sample
				? {
						data: {
							...sampleClassification(intents, String(textOf(item.json) ?? ''), detectOptOut),
							sample: true,
						},
						usage: { inputTokens: 0, outputTokens: 0, calls: 0 },
					}
				: complete(
						classifyMessages(intents, String(textOf(item.json) ?? ''), detectOptOut),
						classifySchema(intents, detectOptOut),
						'classification',
					),
		),
	);
	const out: INodeExecutionData[] = results.map((r, i) =>
		'error' in r
			? errorItem(i, r.error)
			: {
					json: {
						...items[i].json,
						classification: r.data as IDataObject,
						usage: { model: modelName, ...r.usage },
					},
					pairedItem: { item: i },
				},
	);
	if (detectOptOut)
		await honourOptOuts(
			this,
			out,
			items,
			results.map((r) => ('error' in r ? undefined : (r.data as IDataObject).optOut === true)),
			textOf,
			modelName,
		);
	return [out];
}

/** What Classify and Reply share: the person's text, the intents, and one item's failure as its error. */
export function chatSetup(this: IExecuteFunctions, node: INode, items: INodeExecutionData[]) {
	const textOf = compileFieldPath(this.getNodeParameter('textField', 0) as string);
	const intents = String(this.getNodeParameter('intents', 0, ''))
		.split(',')
		.map((s) => s.trim())
		.filter(Boolean);
	// One bad item (or one failed call) is that item's error, not the batch's.
	const perItem = async <T>(
		i: number,
		fn: () => Promise<T>,
	): Promise<T | { error: NodeOperationError | NodeApiError }> => {
		try {
			return await fn();
		} catch (error) {
			const e = asNodeError(node, error, i);
			if (!this.continueOnFail()) throw e;
			return { error: e };
		}
	};
	const errorItem = (i: number, e: { message: string; description?: string | null }) => ({
		json: {
			...items[i].json,
			error: e.message,
			...(e.description ? { description: e.description } : {}),
		},
		pairedItem: { item: i },
	});
	return { textOf, intents, perItem, errorItem };
}

/**
 * Withdraws consent for every item the model found asking to stop getting messages. An opt-out
 * that cannot be recorded (no contact id or channel on the item) is that item's error: never lost
 * silently.
 */
async function honourOptOuts(
	ctx: IExecuteFunctions,
	out: INodeExecutionData[],
	items: INodeExecutionData[],
	optedOut: Array<boolean | undefined>,
	textOf: (json: IDataObject) => unknown,
	model: string,
): Promise<void> {
	const node = ctx.getNode();
	const idPath = ctx.getNodeParameter('optOutContactIdField', 0, 'contactId') as string;
	const channelPath = ctx.getNodeParameter('optOutChannelField', 0, 'channel') as string;
	const idOf = compileFieldPath(idPath);
	const channelOf = compileFieldPath(channelPath);
	const purposes = String(ctx.getNodeParameter('optOutPurposes', 0, 'marketing, service'))
		.split(',')
		.map((p) => p.trim())
		.filter(Boolean);
	const found: Array<{ i: number; contactId: string; channel: Channel; text: string }> = [];
	optedOut.forEach((yes, i) => {
		if (!yes) return;
		const id = idOf(items[i].json);
		const channel = String(channelOf(items[i].json) ?? '');
		if (id === undefined || id === null || id === '' || !isChannel(channel)) {
			const e = new NodeOperationError(
				node,
				`The message asks to stop getting messages, but the item has no contact ID at "${idPath}" or no channel at "${channelPath}" (found "${channel}")`,
				{
					itemIndex: i,
					description:
						'Nothing was recorded: set Contact ID Field and Channel Field, or record the withdrawal with Consent Guard > Record Consent.',
				},
			);
			if (!ctx.continueOnFail()) throw e;
			out[i] = {
				json: { ...out[i].json, error: e.message, description: e.description },
				pairedItem: { item: i },
			};
			return;
		}
		found.push({
			i,
			contactId: String(id),
			channel: channel as Channel,
			text: String(textOf(items[i].json) ?? ''),
		});
	});
	if (!found.length) return;
	const store = await getStore(ctx);
	const person = await personIdsOf(
		store,
		found.map((f) => f.contactId),
	);
	await recordFreeTextOptOuts(
		store,
		found.map((f) => ({
			...f,
			contactId: person.get(f.contactId) ?? f.contactId,
			purposes,
			model,
		})),
	);
	for (const f of found)
		out[f.i].json.optOut = {
			withdrawn: true,
			contactId: person.get(f.contactId) ?? f.contactId,
			channel: f.channel,
			purposes,
		};
}
