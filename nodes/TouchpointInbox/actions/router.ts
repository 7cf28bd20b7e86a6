import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { adopt, failClosed } from '../../shared/n8n/fail-closed';
import { getStore } from '../../shared/n8n/store';
import { toolAware } from '../../shared/n8n/tool-mode';
import * as click from './click.operation';
import * as inApp from './in-app.operation';
import * as inbound from './inbound.operation';
import * as inbox from './inbox.operation';

/** What each operation's outputs are called (as an AI Agent's tool reads them). */
const OUTPUT_NAMES: Record<string, string[]> = {
	replay: ['Replayed', 'Abandoned'],
	markDone: ['Mark Done'],
	recordInbound: ['Record Inbound Message'],
	recordClick: ['Record Link Click'],
	inAppList: ['List In-App Messages'],
	inAppRead: ['Mark In-App Messages Read'],
};

/**
 * Like every node: an error never reaches n8n's continue path (which would copy the input, a
 * schedule's item, to Replayed as if it were an event) but the last output with the error, and
 * a tool call reads every output on the first.
 */
export async function router(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const operation = this.getNodeParameter('operation', 0) as string;
	const outputs: INodeExecutionData[][] = operation === 'replay' ? [[], []] : [[]];
	const result = await failClosed(this, outputs, outputs.length - 1, async () => {
		adopt(outputs, await route.call(this, operation));
	});
	return toolAware(this, result, OUTPUT_NAMES[operation] ?? [operation]);
}

async function route(this: IExecuteFunctions, operation: string): Promise<INodeExecutionData[][]> {
	const store = await getStore(this);
	if (operation === 'replay') return await inbox.executeReplay.call(this, store);
	const items = this.getInputData();
	switch (operation) {
		case 'markDone':
			return await inbox.executeMarkDone.call(this, store, items);
		case 'recordInbound':
			return [await inbound.recordInbound(this, store, items)];
		case 'recordClick':
			return [await click.recordClick(this, store, items)];
		case 'inAppList':
		case 'inAppRead':
			return [await inApp.inAppInbox(this, store, items, operation)];
		default:
			throw new NodeOperationError(this.getNode(), `The operation "${operation}" is not known`);
	}
}
