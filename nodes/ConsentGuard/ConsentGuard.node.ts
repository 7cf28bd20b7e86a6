import type {
	IExecuteFunctions,
	INodeExecutionData,
	INodeType,
	INodeTypeDescription,
} from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';

import { contactMappingProperty } from '../shared/n8n/contact-mapping';
import { resourceOperationSubtitle, updateDisplayOptions } from '../shared/n8n/display-options';
import { convergentStoreApiTest } from '../shared/n8n/store';
import { toolContactProperty } from '../shared/n8n/tool-mode';
import { conversationContactProperty } from '../shared/n8n/tool-scope';
import * as check from './actions/consent/check.operation';
import * as contactData from './actions/contact/contact-data.operation';
import * as contacts from './actions/contact/contacts.operation';
import * as record from './actions/consent/record.operation';
import * as sends from './actions/consent/sends.operation';
import { router } from './actions/router';
import * as suppression from './actions/suppression/add-remove.operation';

const CONSENT_OPERATIONS = [
	{ name: 'Check', value: 'check', action: 'Check whether a message may be sent' },
	{
		name: 'Confirm Consent',
		value: 'confirmConsent',
		action: 'Confirm a double opt in with its token',
	},
	{
		name: 'Record Consent',
		value: 'recordConsent',
		action: 'Record a consent grant or withdrawal',
	},
	{
		name: 'Record Sends Made Elsewhere',
		value: 'recordSends',
		action: 'Record messages another tool sent so caps count them',
	},
	{
		name: 'Unsubscribe by Link',
		value: 'unsubscribeLink',
		action: 'Withdraw consent from a signed unsubscribe link',
	},
];
const SUPPRESSION_OPERATIONS = [
	{ name: 'Add', value: 'addSuppression', action: 'Add an address to the suppression list' },
	{
		name: 'Remove',
		value: 'removeSuppression',
		action: 'Remove an address from the suppression list',
	},
];
const CONTACT_OPERATIONS = [
	{ name: 'Erase', value: 'eraseContact', action: 'Erase a person under every ID and address' },
	{ name: 'Export', value: 'exportContact', action: 'Export everything held about a person' },
	{
		name: 'Find by Address',
		value: 'findContact',
		action: 'Find the contact who holds an address',
	},
	{
		name: 'Get',
		value: 'getContact',
		action: 'Get the profile, consent and activity of a contact',
	},
	{ name: 'Link Address', value: 'linkAddress', action: 'Link addresses to a contact' },
	{ name: 'Merge', value: 'mergeContacts', action: 'Merge two contacts into one' },
	{
		name: 'Upsert',
		value: 'upsertContact',
		action: 'Create or update a contact with its addresses',
	},
];
// Version 1 kept the suppression list and a person's data under Consent; version 2 gives each its
// resource. The operations' values are the same, so one router serves both versions.
const V1_NAMES: Record<string, string> = {
	addSuppression: 'Add to Suppression List',
	removeSuppression: 'Remove From Suppression List',
	eraseContact: 'Erase Contact',
	exportContact: 'Export Contact',
};
const V1_CONSENT_OPERATIONS = [
	...CONSENT_OPERATIONS,
	...SUPPRESSION_OPERATIONS,
	...CONTACT_OPERATIONS.filter((o) => V1_NAMES[o.value]),
]
	.map((o) => ({ ...o, name: V1_NAMES[o.value] ?? o.name }))
	.sort((a, b) => a.name.localeCompare(b.name));

export class ConsentGuard implements INodeType {
	// The rule only sees a literal subtitle; this one is built from the operation lists (display names).
	// eslint-disable-next-line n8n-nodes-base/node-class-description-missing-subtitle
	description: INodeTypeDescription = {
		displayName: 'Consent Guard',
		name: 'consentGuard',
		icon: { light: 'file:consentGuard.svg', dark: 'file:consentGuard.dark.svg' },
		group: ['transform'],
		version: [1, 2],
		defaultVersion: 2,
		subtitle: resourceOperationSubtitle({
			consent: { options: V1_CONSENT_OPERATIONS },
			suppression: { prefix: 'Suppression List: ', options: SUPPRESSION_OPERATIONS },
			contact: { prefix: 'Contact: ', options: CONTACT_OPERATIONS },
		}),
		description:
			'Check consent, suppression, frequency caps, quiet hours and service windows before a send; record consent with evidence; keep one contact per person with all their addresses',
		defaults: { name: 'Consent Guard' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		// Check routes to Allowed / Blocked; every other operation has one output.
		outputs: `={{ $parameter.operation === "check" ? [{ "type": "main", "displayName": "Allowed" }, { "type": "main", "displayName": "Blocked" }] : [{ "type": "main" }] }}`,
		credentials: [
			{ name: 'convergentStoreApi', required: false, testedBy: 'convergentStoreApiTest' },
		],
		properties: [
			{
				displayName: 'Resource',
				name: 'resource',
				type: 'options',
				noDataExpression: true,
				options: [
					{
						name: 'Consent',
						value: 'consent',
						description: 'Check before a send; record, confirm and suppress',
					},
					{
						name: 'Contact',
						value: 'contact',
						description:
							'One person with all their addresses: upsert, link, merge, get, find, export, erase',
					},
				],
				default: 'consent',
				displayOptions: { show: { '@version': [1] } },
			},
			{
				displayName: 'Resource',
				name: 'resource',
				type: 'options',
				noDataExpression: true,
				options: [
					{
						name: 'Consent',
						value: 'consent',
						description:
							'Check before a send; record and confirm consent, unsubscribe links, sends made elsewhere',
					},
					{
						name: 'Contact',
						value: 'contact',
						description:
							'One person with all their addresses: upsert, link, merge, get, find, export, erase',
					},
					{
						name: 'Suppression List',
						value: 'suppression',
						description: 'Addresses nothing but transactional messages may reach',
					},
				],
				default: 'consent',
				displayOptions: { show: { '@version': [{ _cnd: { gte: 2 } }] } },
			},
			{
				displayName: 'Operation',
				name: 'operation',
				type: 'options',
				noDataExpression: true,
				displayOptions: { show: { '@version': [1], resource: ['consent'] } },
				options: V1_CONSENT_OPERATIONS,
				default: 'check',
			},
			{
				displayName: 'Operation',
				name: 'operation',
				type: 'options',
				noDataExpression: true,
				displayOptions: { show: { '@version': [{ _cnd: { gte: 2 } }], resource: ['consent'] } },
				options: CONSENT_OPERATIONS,
				default: 'check',
			},
			{
				displayName: 'Operation',
				name: 'operation',
				type: 'options',
				noDataExpression: true,
				displayOptions: { show: { resource: ['suppression'] } },
				options: SUPPRESSION_OPERATIONS,
				default: 'addSuppression',
			},
			{
				displayName: 'Operation',
				name: 'operation',
				type: 'options',
				noDataExpression: true,
				displayOptions: { show: { resource: ['contact'] } },
				options: CONTACT_OPERATIONS,
				default: 'upsertContact',
			},
			...updateDisplayOptions(
				{
					show: {
						operation: [
							'check',
							'recordConsent',
							'recordSends',
							'exportContact',
							'eraseContact',
							'upsertContact',
							'linkAddress',
							'mergeContacts',
							'getContact',
							'findContact',
						],
					},
				},
				[contactMappingProperty],
			),
			// Only on the tool variant an AI Agent uses: the agent fills it.
			...updateDisplayOptions(
				{ show: { operation: ['check', 'recordConsent', 'getContact', 'findContact'] } },
				[toolContactProperty, conversationContactProperty],
			),
			...check.description,
			...record.description,
			...sends.description,
			...suppression.description,
			...contactData.description,
			...contacts.description,
		],
	};

	methods = { credentialTest: { convergentStoreApiTest } };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return await router.call(this);
	}
}
