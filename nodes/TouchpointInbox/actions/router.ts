import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { getStore } from '../../shared/n8n/store';
import * as click from './click.operation';
import * as inApp from './in-app.operation';
import * as inbound from './inbound.operation';
import * as inbox from './inbox.operation';

export async function router(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const operation = this.getNodeParameter('operation', 0) as string;
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
