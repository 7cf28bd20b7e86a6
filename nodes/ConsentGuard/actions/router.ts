import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { adopt, failClosed } from '../../shared/n8n/fail-closed';
import * as check from './check.operation';
import * as contactData from './contact-data.operation';
import * as contacts from './contacts.operation';
import * as record from './record.operation';
import * as sends from './sends.operation';
import * as suppression from './suppression.operation';

export async function router(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const items = this.getInputData();
	const operation = this.getNodeParameter('operation', 0) as string;
	// Check's output 0 is Allowed: no error may reach n8n's "continue" path, which copies the
	// input there. Errors put every item on Blocked (or on the one output of the other operations).
	const outputs: INodeExecutionData[][] = operation === 'check' ? [[], []] : [[]];
	return await failClosed(this, outputs, outputs.length - 1, async () => {
		const result = await route.call(this, operation, items);
		adopt(outputs, result);
	});
}

async function route(this: IExecuteFunctions, operation: string, items: INodeExecutionData[]): Promise<INodeExecutionData[][]> {
	switch (operation) {
		case 'check':
			return await check.execute.call(this, items);
		case 'recordConsent':
			return await record.executeRecord.call(this, items);
		case 'confirmConsent':
			return await record.executeConfirm.call(this, items);
		case 'unsubscribeLink':
			return await record.executeUnsubscribe.call(this, items);
		case 'recordSends':
			return await sends.execute.call(this, items);
		case 'addSuppression':
			return await suppression.execute.call(this, items, true);
		case 'removeSuppression':
			return await suppression.execute.call(this, items, false);
		case 'exportContact':
			return await contactData.execute.call(this, items, false);
		case 'eraseContact':
			return await contactData.execute.call(this, items, true);
		case 'upsertContact':
		case 'linkAddress':
		case 'mergeContacts':
		case 'getContact':
		case 'findContact':
			return await contacts.execute.call(this, items, operation);
		default:
			throw new NodeOperationError(this.getNode(), `The operation "${operation}" is not known`);
	}
}
