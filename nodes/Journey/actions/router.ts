import type { IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import { adopt, failClosed } from '../../shared/n8n/fail-closed';
import { getStore } from '../../shared/n8n/store';
import { toolAware } from '../../shared/n8n/tool-mode';
import { conversationRefusal } from '../../shared/n8n/tool-scope';
import * as contact from './contact.operation';
import { PERSON_OPERATIONS } from './contact.operation';
import { OPERATIONS } from './operations';
import * as reports from './reports.operation';

export async function router(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const operation = this.getNodeParameter('operation', 0) as string;
	const stages = String(this.getNodeParameter('stages', 0))
		.split(',')
		.map((s) => s.trim())
		.filter((s) => s !== '');
	// Route by Stage's outputs start with the first stage: an error must not land there through
	// n8n's continue path (which copies the input to output 0), but on Not in Journey.
	const outputs: INodeExecutionData[][] = Array.from(
		{ length: operation === 'routeByStage' ? stages.length + 1 : 1 },
		() => [],
	);
	// As a tool, a person's journey is read and moved only for the person of the conversation (tool-scope.ts).
	if (PERSON_OPERATIONS.includes(operation)) {
		const outside = await conversationRefusal(
			this,
			async () => await getStore(this),
			'toolContactId',
		);
		if (outside) return outside;
	}
	const result = await failClosed(this, outputs, outputs.length - 1, async () => {
		const result = await run.call(this, operation, stages);
		adopt(outputs, result);
	});
	return toolAware(
		this,
		result,
		operation === 'routeByStage'
			? [...stages, 'Not in Journey']
			: [OPERATIONS.find((o) => o.value === operation)?.name ?? operation],
	);
}

async function run(
	this: IExecuteFunctions,
	operation: string,
	stages: string[],
): Promise<INodeExecutionData[][]> {
	const items = this.getInputData();
	const name = String(this.getNodeParameter('journeyName', 0)).trim();
	const store = await getStore(this);
	switch (operation) {
		case 'pickWinner':
			return [
				[
					{
						json: (await reports.abWinner(this, store, name)) as unknown as IDataObject,
						pairedItem: items.map((_, i) => ({ item: i })),
					},
				],
			];
		case 'campaignReport':
			return await reports.campaignReport.call(this, store, name, items);
		case 'funnelReport':
			return await reports.funnelReport.call(this, store, name, stages, items);
		default:
			return await contact.execute.call(this, operation, store, name, stages, items);
	}
}
