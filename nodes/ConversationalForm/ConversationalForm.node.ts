import type {
	IExecuteFunctions,
	INodeExecutionData,
	INodeType,
	INodeTypeDescription,
} from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';

import { runOperation } from '../shared/n8n/operation';
import { convergentStoreApiTest } from '../shared/n8n/store';
import { CONVERSE } from './actions/converse.operation';
import { properties } from './description';

export class ConversationalForm implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Conversational Form',
		name: 'conversationalForm',
		icon: { light: 'file:conversationalForm.svg', dark: 'file:conversationalForm.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: '={{$parameter["formName"]}}',
		description: 'Run a form as a chat over any channel: lead capture, bookings, surveys',
		defaults: { name: 'Conversational Form' },
		usableAsTool: true,
		// Optional: a Chat Model sub-node reads free-text answers (Understand Free Text).
		inputs: [
			NodeConnectionTypes.Main,
			{
				type: NodeConnectionTypes.AiLanguageModel,
				displayName: 'Chat Model',
				maxConnections: 1,
				required: false,
			},
		],
		// A fourth output only when new sessions start on a condition (e.g. an AI Classify intent).
		outputs: `={{ [{ "type": "main", "displayName": "Ask" }, { "type": "main", "displayName": "Completed" }, { "type": "main", "displayName": "Cancelled" }].concat($parameter.startWhen === "fieldMatches" ? [{ "type": "main", "displayName": "Not Started" }] : []) }}`,
		credentials: [
			{ name: 'convergentStoreApi', required: false, testedBy: 'convergentStoreApiTest' },
		],
		properties: properties,
	};

	methods = { credentialTest: { convergentStoreApiTest } };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return await runOperation(this, { converse: CONVERSE }, 'converse');
	}
}
