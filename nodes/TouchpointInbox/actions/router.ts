import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import { getStore } from '../../shared/n8n/store';
import { runOperation, type Operation, type Operations } from '../../shared/n8n/operation';
import type { Store } from '../../shared/store/types';
import * as click from './click.operation';
import * as inApp from './in-app.operation';
import * as inbound from './inbound.operation';
import * as inbox from './inbox.operation';

/**
 * Like every node: an error never reaches n8n's continue path (which would copy the input, a
 * schedule's item, to Replayed as if it were an event) but the last output with the error, and
 * a tool call reads every output on the first.
 */
export async function router(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const operation = this.getNodeParameter('operation', 0) as string;
	return await runOperation(this, OPERATIONS, operation);
}

/** An operation on the store, its outputs named as an AI Agent's tool reads them. */
function onStore(
	names: string[],
	run: (
		fn: IExecuteFunctions,
		store: Store,
		items: INodeExecutionData[],
	) => Promise<INodeExecutionData[][]>,
): Operation {
	return {
		outputs: () => names,
		run: async (fn, items) => await run(fn, await getStore(fn), items),
	};
}

const OPERATIONS: Operations = {
	replay: onStore(
		['Replayed', 'Abandoned'],
		async (fn, store) => await inbox.executeReplay.call(fn, store),
	),
	markDone: onStore(
		['Mark Done'],
		async (fn, store, items) => await inbox.executeMarkDone.call(fn, store, items),
	),
	recordInbound: onStore(['Record Inbound Message'], async (fn, store, items) => [
		await inbound.recordInbound(fn, store, items),
	]),
	recordClick: onStore(['Record Link Click'], async (fn, store, items) => [
		await click.recordClick(fn, store, items),
	]),
	inAppList: onStore(['List In-App Messages'], async (fn, store, items) => [
		await inApp.inAppInbox(fn, store, items, 'inAppList'),
	]),
	inAppRead: onStore(['Mark In-App Messages Read'], async (fn, store, items) => [
		await inApp.inAppInbox(fn, store, items, 'inAppRead'),
	]),
};
