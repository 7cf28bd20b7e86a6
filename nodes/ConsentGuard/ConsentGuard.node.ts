import type { IExecuteFunctions, INodeExecutionData, INodeType, INodeTypeDescription } from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';

import { contactMappingProperty } from '../shared/n8n/contact-mapping';
import { updateDisplayOptions } from '../shared/n8n/display-options';
import { convergentStoreApiTest } from '../shared/n8n/store';
import * as check from './actions/check.operation';
import * as contactData from './actions/contact-data.operation';
import * as record from './actions/record.operation';
import { router } from './actions/router';
import * as suppression from './actions/suppression.operation';

export class ConsentGuard implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Consent Guard',
		name: 'consentGuard',
		icon: { light: 'file:consentGuard.svg', dark: 'file:consentGuard.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: '={{$parameter["operation"]}}',
		description: 'Check consent, suppression, frequency caps, quiet hours and service windows before a send; record consent with evidence',
		defaults: { name: 'Consent Guard' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		// Check routes to Allowed / Blocked; every other operation has one output.
		outputs: `={{ $parameter.operation === "check" ? [{ "type": "main", "displayName": "Allowed" }, { "type": "main", "displayName": "Blocked" }] : [{ "type": "main" }] }}`,
		credentials: [{ name: 'convergentStoreApi', required: false, testedBy: 'convergentStoreApiTest' }],
		properties: [
			{
				displayName: 'Operation',
				name: 'operation',
				type: 'options',
				noDataExpression: true,
				options: [
					{ name: 'Add to Suppression List', value: 'addSuppression', action: 'Add an address to the suppression list' },
					{ name: 'Check', value: 'check', action: 'Check whether a message may be sent' },
					{ name: 'Confirm Consent', value: 'confirmConsent', action: 'Confirm a double opt in with its token' },
					{ name: 'Erase Contact', value: 'eraseContact', action: 'Erase a contact s personal data' },
					{ name: 'Export Contact', value: 'exportContact', action: 'Export everything held about a contact' },
					{ name: 'Record Consent', value: 'recordConsent', action: 'Record a consent grant or withdrawal' },
					{ name: 'Remove From Suppression List', value: 'removeSuppression', action: 'Remove an address from the suppression list' },
				],
				default: 'check',
			},
			...updateDisplayOptions(
				{ show: { operation: ['check', 'recordConsent', 'exportContact', 'eraseContact'] } },
				[contactMappingProperty],
			),
			...check.description,
			...record.description,
			...suppression.description,
			...contactData.description,
		],
	};

	methods = { credentialTest: { convergentStoreApiTest } };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return await router.call(this);
	}
}
