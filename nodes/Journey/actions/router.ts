import type { IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import { runOperation, type Operation, type Operations } from '../../shared/n8n/operation';
import { runParameter } from '../../shared/n8n/params';
import { getStore } from '../../shared/n8n/store';
import type { Store } from '../../shared/store/types';
import * as contact from './contact.operation';
import { PERSON_OPERATIONS } from './contact.operation';
import { OPERATIONS as CHOICES } from './operations';
import * as reports from './reports.operation';

export async function router(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const operation = this.getNodeParameter('operation', 0) as string;
	return await runOperation(this, OPERATIONS, operation);
}

/** The journey's stages, in order (Route by Stage has one output per stage). */
const stagesOf = (fn: IExecuteFunctions) =>
	String(runParameter(fn, 'stages', '', 'Stages'))
		.split(',')
		.map((s) => s.trim())
		.filter((s) => s !== '');

type Run = (
	fn: IExecuteFunctions,
	store: Store,
	name: string,
	items: INodeExecutionData[],
) => Promise<INodeExecutionData[][]>;

/**
 * A journey operation of one output named as the panel names it. As a tool, a person's journey is
 * read and moved only for the person of the conversation (tool-scope.ts).
 */
function journeyOperation(operation: string, run: Run): Operation {
	return {
		outputs: () => [CHOICES.find((o) => o.value === operation)?.name ?? operation],
		run: async (fn, items) =>
			await run(
				fn,
				await getStore(fn),
				String(runParameter(fn, 'journeyName', '', 'Journey Name')).trim(),
				items,
			),
		...(PERSON_OPERATIONS.includes(operation)
			? { tool: { conversationContact: 'toolContactId' } }
			: {}),
	};
}

const personOperation = (operation: string) =>
	journeyOperation(
		operation,
		async (fn, store, name, items) =>
			await contact.execute.call(fn, operation, store, name, stagesOf(fn), items),
	);

const OPERATIONS: Operations = {
	pickWinner: journeyOperation('pickWinner', async (fn, store, name, items) => [
		[
			{
				json: (await reports.abWinner(fn, store, name)) as unknown as IDataObject,
				pairedItem: items.map((_, i) => ({ item: i })),
			},
		],
	]),
	campaignReport: journeyOperation(
		'campaignReport',
		async (fn, store, name, items) => await reports.campaignReport.call(fn, store, name, items),
	),
	funnelReport: journeyOperation(
		'funnelReport',
		async (fn, store, name, items) =>
			await reports.funnelReport.call(fn, store, name, stagesOf(fn), items),
	),
	// Route by Stage's outputs start with the first stage: an error must not land there through
	// n8n's continue path (which copies the input to output 0), but on Not in Journey.
	routeByStage: {
		...personOperation('routeByStage'),
		outputs: (fn) => [...stagesOf(fn), 'Not in Journey'],
	},
	...Object.fromEntries(
		CHOICES.map((o) => o.value)
			.filter((v) => !['pickWinner', 'campaignReport', 'funnelReport', 'routeByStage'].includes(v))
			.map((v) => [v, personOperation(v)]),
	),
};
