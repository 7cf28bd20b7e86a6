import type {
	INodeType,
	INodeTypeDescription,
	IWebhookFunctions,
	IWebhookResponseData,
} from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';

import { twilioWebhookApiTest, webhookCredentials } from '../shared/n8n/credentials';
import { credentialFor, optionSubtitle } from '../shared/n8n/display-options';
import { convergentStoreApiTest } from '../shared/n8n/store';
import { emailEventsWebhookApiTest, metaWebhookApiTest } from './credential-tests';
import { properties, PROVIDERS, PROVIDER_VALUES } from './description';
import { emailProvider } from './providers/email';
import { metaProvider } from './providers/meta';
import { twilioProvider } from './providers/twilio';
import type { TriggerProvider } from './providers/types';

/** One module per provider: each verifies its requests, records them, and emits the events. */
const BY_PROVIDER: Record<string, TriggerProvider> = {
	email: emailProvider,
	meta: metaProvider,
	twilio: twilioProvider,
};

export class TouchpointTrigger implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Touchpoint Trigger',
		name: 'touchpointTrigger',
		icon: { light: 'file:touchpointTrigger.svg', dark: 'file:touchpointTrigger.dark.svg' },
		group: ['trigger'],
		// Version 2 is the same node: n8n evaluates an expression (binaryData) on every request to a
		// version 1 webhook node, which costs an expression isolate per delivery.
		version: [1, 2],
		defaultVersion: 2,
		subtitle: optionSubtitle(PROVIDERS, 'provider'),
		description:
			'Starts the workflow when a person writes on WhatsApp, Messenger, Instagram Direct or SMS, or an email service reports a bounce, complaint or unsubscribe',
		defaults: { name: 'Touchpoint Trigger' },
		inputs: [],
		outputs: [NodeConnectionTypes.Main],
		credentials: [
			{
				name: 'metaWebhookApi',
				required: true,
				testedBy: 'metaWebhookApiTest',
				displayOptions: credentialFor('provider', ['meta'], PROVIDER_VALUES),
			},
			{
				name: 'twilioWebhookApi',
				required: true,
				testedBy: 'twilioWebhookApiTest',
				displayOptions: credentialFor('provider', ['twilio'], PROVIDER_VALUES),
			},
			{
				name: 'emailEventsWebhookApi',
				required: true,
				testedBy: 'emailEventsWebhookApiTest',
				displayOptions: credentialFor('provider', ['email'], PROVIDER_VALUES),
			},
			{
				name: 'whatsAppCloudApi',
				required: false,
				displayOptions: credentialFor('provider', ['meta'], PROVIDER_VALUES, {
					downloadMedia: [false],
				}),
			},
			{ name: 'convergentStoreApi', required: false, testedBy: 'convergentStoreApiTest' },
		],
		webhooks: [
			{ name: 'setup', httpMethod: 'GET', responseMode: 'onReceived', path: 'webhook' },
			{ name: 'default', httpMethod: 'POST', responseMode: 'onReceived', path: 'webhook' },
		],
		properties,
	};

	methods = {
		credentialTest: {
			convergentStoreApiTest,
			emailEventsWebhookApiTest,
			metaWebhookApiTest,
			twilioWebhookApiTest,
		},
	};

	async webhook(this: IWebhookFunctions): Promise<IWebhookResponseData> {
		const provider = this.getNodeParameter('provider', 'meta') as string;
		return await (BY_PROVIDER[provider] ?? twilioProvider).webhook(this, webhookCredentials(this));
	}
}
