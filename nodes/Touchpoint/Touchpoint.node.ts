import {
	NodeConnectionTypes,
	NodeOperationError,
	type IDataObject,
	type ILoadOptionsFunctions,
	type INodePropertyOptions,
	type IExecuteFunctions,
	type INodeExecutionData,
	type INodeProperties,
	type INodeType,
	type INodeTypeDescription,
} from 'n8n-workflow';

import { contactMappingProperty } from '../shared/n8n/contact-mapping';
import { isExpressionParameter } from '../shared/n8n/params';
import { convergentStoreApiTest } from '../shared/n8n/store';
import { runOperation, type Operation } from '../shared/n8n/operation';
import { sendSummary } from '../shared/n8n/tool-mode';
import { policyProperties } from '../shared/n8n/policy-settings';
import { credentialFor, unlessListed, optionSubtitle } from '../shared/n8n/display-options';
import { convergentSmtpApiTest, fcmServiceAccountApiTest } from './credential-tests';
import { properties } from './description';
import { sendAll } from './send/run';
import { accountTemplates } from './transport/templates';

/**
 * Output 0 is Sent: no error may reach n8n's "continue" path, which copies the input there; errors
 * go to Not Sent. The node has the Dry Run output when the option is on or is an expression (see
 * outputs). As a tool, it sends only to the person of the conversation (tool-scope.ts).
 */
const SEND: Operation = {
	outputs: () => ['Sent', 'Not Sent', 'Dry Run'],
	count: (fn) =>
		(fn.getNodeParameter('options', 0, {}) as IDataObject).dryRun === true ||
		isExpressionParameter(fn, 'options.dryRun')
			? 3
			: 2,
	errorOutput: 1,
	run: async (fn, _items, outputs) => {
		await sendAll(fn, outputs[0], outputs[1], outputs[2] ?? []);
		return outputs;
	},
	tool: { conversationContact: 'toolContact', summary: sendSummary },
};

const policyNotice: INodeProperties = {
	displayName:
		'The policy below applies to items that did not pass a Consent Guard Check first; for those that did, Touchpoint re-checks consent, suppression and erasure at send time',
	name: 'policyNotice',
	type: 'notice',
	default: '',
};

/** Every value of Channel (credentials are shown per channel; see credentialFor). */
const CHANNEL_VALUES = [
	'bestAvailable',
	'email',
	'instagram',
	'messenger',
	'push',
	'sms',
	'whatsapp',
];

export class Touchpoint implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Touchpoint',
		name: 'touchpoint',
		icon: { light: 'file:touchpoint.svg', dark: 'file:touchpoint.dark.svg' },
		group: ['output'],
		version: 1,
		subtitle: optionSubtitle(
			properties.find((p) => p.name === 'channel')!.options as Array<{
				name: string;
				value: string;
			}>,
			'channel',
		),
		description:
			"Send a message on WhatsApp, Messenger, Instagram, SMS, push or email, with consent, caps, quiet hours and each channel's rules applied; never the same message twice",
		defaults: { name: 'Touchpoint' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		// Dry Run adds its own output, so a step after Sent never counts a preview as sent.
		outputs: `={{ $parameter.options?.dryRun ? [{ "type": "main", "displayName": "Sent" }, { "type": "main", "displayName": "Not Sent" }, { "type": "main", "displayName": "Dry Run" }] : [{ "type": "main", "displayName": "Sent" }, { "type": "main", "displayName": "Not Sent" }] }}`,
		// Only the credential the channel sends with (all of them for Best Available).
		credentials: [
			{
				name: 'whatsAppCloudApi',
				// Best Available shows several: each says which channel it is for.
				displayName: 'WhatsApp Credential',
				required: false,
				displayOptions: credentialFor('channel', ['whatsapp', 'bestAvailable'], CHANNEL_VALUES, {
					channelPriority: [unlessListed(['whatsapp'])],
				}),
			},
			{
				name: 'metaPageApi',
				displayName: 'Messenger / Instagram Credential',
				required: false,
				displayOptions: credentialFor(
					'channel',
					['messenger', 'instagram', 'bestAvailable'],
					CHANNEL_VALUES,
					{ channelPriority: [unlessListed(['messenger', 'instagram'])] },
				),
			},
			{
				name: 'twilioMessagingApi',
				displayName: 'SMS (Twilio) Credential',
				required: false,
				displayOptions: credentialFor('channel', ['sms', 'bestAvailable'], CHANNEL_VALUES, {
					channelPriority: [unlessListed(['sms'])],
				}),
			},
			{
				name: 'fcmServiceAccountApi',
				displayName: 'Push (Firebase) Credential',
				required: false,
				testedBy: 'fcmServiceAccountApiTest',
				displayOptions: credentialFor('channel', ['push', 'bestAvailable'], CHANNEL_VALUES, {
					channelPriority: [unlessListed(['push'])],
				}),
			},
			{
				name: 'convergentSmtpApi',
				displayName: 'Email (SMTP) Credential',
				required: false,
				testedBy: 'convergentSmtpApiTest',
				displayOptions: credentialFor('channel', ['email', 'bestAvailable'], CHANNEL_VALUES, {
					channelPriority: [unlessListed(['email'])],
				}),
			},
			{
				name: 'convergentStoreApi',
				required: false,
				displayName: 'Store Credential',
				testedBy: 'convergentStoreApiTest',
			},
		],
		properties: [
			...properties.slice(0, 3),
			contactMappingProperty,
			...properties.slice(3, -1),
			policyNotice,
			...policyProperties,
			...properties.slice(-1),
		],
	};

	methods = {
		credentialTest: { convergentStoreApiTest, convergentSmtpApiTest, fcmServiceAccountApiTest },
		loadOptions: {
			/** The account's approved templates, every page of the Graph API's message_templates edge. */
			async getWhatsAppTemplates(this: ILoadOptionsFunctions): Promise<INodePropertyOptions[]> {
				const c = await this.getCredentials('whatsAppCloudApi');
				const waba = String(c.businessAccountId ?? '').trim();
				if (!waba)
					throw new NodeOperationError(
						this.getNode(),
						'No WhatsApp Business Account ID in the WhatsApp Cloud API credential',
						{
							description:
								'Add it (WhatsApp Manager > Account tools) to list your templates, or type the template name as an expression.',
						},
					);
				const templates = await accountTemplates(this, c, waba);
				const byName = new Map<string, { languages: string[]; category: string }>();
				for (const t of templates.filter((x) => x.status === 'APPROVED')) {
					const e = byName.get(t.name) ?? { languages: [], category: t.category };
					e.languages.push(t.language);
					byName.set(t.name, e);
				}
				return [...byName]
					.sort(([a], [b]) => a.localeCompare(b))
					.map(([name, e]) => ({
						name,
						value: name,
						description: `${e.languages.join(', ')} · ${e.category}`,
					}));
			},
		},
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return await runOperation(this, { send: SEND }, 'send');
	}
}
