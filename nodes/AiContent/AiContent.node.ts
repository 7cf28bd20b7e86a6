import type {
	IExecuteFunctions,
	INodeExecutionData,
	INodeType,
	INodeTypeDescription,
} from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';

import { convergentStoreApiTest } from '../shared/n8n/store';
import { optionSubtitle } from '../shared/n8n/display-options';
import { router } from './actions/router';

const OPERATIONS = [
	{ name: 'Classify', value: 'classify', action: 'Classify the intent of a message' },
	{ name: 'Generate Copy', value: 'generateCopy', action: 'Generate copy that fits a channel' },
	{ name: 'Reply', value: 'reply', action: 'Reply to a conversation' },
	{
		name: 'Report AI Usage',
		value: 'usageReport',
		action: 'Report model calls, tokens and cost by campaign',
	},
];

export class AiContent implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'AI Content',
		name: 'aiContent',
		icon: { light: 'file:aiContent.svg', dark: 'file:aiContent.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: optionSubtitle(OPERATIONS),
		description:
			'Write copy that fits the channel, answer chats with intent and hand-off, classify messages',
		defaults: { name: 'AI Content' },
		usableAsTool: true,
		// Any model n8n has a Chat Model node for (OpenAI, Anthropic, Gemini, Azure, Ollama...), as
		// the Basic LLM Chain takes one; without it, the OpenAI-compatible credential.
		inputs: [
			NodeConnectionTypes.Main,
			{
				type: NodeConnectionTypes.AiLanguageModel,
				displayName: 'Chat Model',
				maxConnections: 1,
				required: false,
			},
		],
		outputs: [NodeConnectionTypes.Main],
		credentials: [
			// Not required: with Sample Copy the node runs without it (a template's Try It); without
			// either, the node names the credential to connect.
			{ name: 'openAiCompatibleApi', required: false },
			{ name: 'convergentStoreApi', required: false, testedBy: 'convergentStoreApiTest' },
		],
		properties: [
			{
				displayName: 'Operation',
				name: 'operation',
				type: 'options',
				noDataExpression: true,
				options: OPERATIONS,
				default: 'generateCopy',
			},
			{
				displayName: 'Model',
				name: 'model',
				type: 'string',
				default: 'gpt-4o-mini',
				description:
					'The model the OpenAI-Compatible API credential calls. Not used when a Chat Model sub-node is connected (its own model is used).',
				displayOptions: { hide: { operation: ['usageReport'] } },
			},
			{
				displayName: 'Channel',
				name: 'channel',
				type: 'options',
				options: [
					{ name: 'Email (Subject, Preheader, Body)', value: 'email' },
					{ name: 'Instagram Direct', value: 'instagram' },
					{ name: 'Messenger', value: 'messenger' },
					{ name: 'Push (Title, Body)', value: 'push' },
					{ name: 'SMS', value: 'sms' },
					{ name: 'WhatsApp Template Body', value: 'whatsappTemplate' },
					{ name: 'WhatsApp Text', value: 'whatsapp' },
				],
				default: 'sms',
				displayOptions: { show: { operation: ['generateCopy'] } },
			},
			{
				displayName: 'Brief',
				name: 'brief',
				type: 'string',
				typeOptions: { rows: 3 },
				default: '',
				placeholder: 'Spring sale: 20% off skincare until Sunday',
				displayOptions: { show: { operation: ['generateCopy'] } },
			},
			{
				displayName: 'Generate Once per Value Of',
				name: 'groupBy',
				type: 'string',
				default: '',
				placeholder: 'segment, contact.locale',
				description:
					'Field paths: items sharing these values share one generation (comma-separated). Empty: one generation per item.',
				displayOptions: { show: { operation: ['generateCopy'] } },
			},
			{
				displayName: 'Placeholders',
				name: 'placeholders',
				type: 'string',
				default: '',
				placeholder: 'contact.firstName',
				description: 'Field paths the copy may use as {{path}}; filled per item after generation',
				displayOptions: { show: { operation: ['generateCopy'] } },
			},
			{
				displayName: 'Variants',
				name: 'variants',
				type: 'number',
				default: 1,
				typeOptions: { minValue: 1, maxValue: 5 },
				description: 'Different versions for A/B tests',
				displayOptions: { show: { operation: ['generateCopy'] } },
			},
			{
				displayName: 'Brand Voice',
				name: 'voice',
				type: 'collection',
				placeholder: 'Add voice option',
				default: {},
				displayOptions: { show: { operation: ['generateCopy'] } },
				options: [
					{ displayName: 'Call to Action', name: 'callToAction', type: 'string', default: '' },
					{
						displayName: 'Emoji',
						name: 'emoji',
						type: 'options',
						options: [
							{ name: 'None', value: 'none' },
							{ name: 'At Most One', value: 'some' },
							{ name: 'Free', value: 'free' },
						],
						default: 'some',
					},
					{ displayName: 'Language', name: 'language', type: 'string', default: 'English' },
					{
						displayName: 'Tone',
						name: 'tone',
						type: 'string',
						default: '',
						placeholder: 'warm, playful, concise',
					},
					{ displayName: 'Words to Avoid', name: 'avoidWords', type: 'string', default: '' },
				],
			},
			{
				displayName: 'Business Brief',
				name: 'systemBrief',
				type: 'string',
				typeOptions: { rows: 4 },
				default: '',
				description: 'Facts and policies the assistant may use: opening hours, returns, prices',
				displayOptions: { show: { operation: ['reply'] } },
			},
			{
				displayName: 'Intents',
				name: 'intents',
				type: 'string',
				default: 'book, buy, support, unsubscribe',
				description: 'Comma-separated; "other" is added',
				displayOptions: { show: { operation: ['classify', 'reply'] } },
			},
			{
				displayName: 'Honour Opt-Out Requests',
				name: 'detectOptOut',
				type: 'boolean',
				default: false,
				description:
					'Whether the model also tells whether the person asks, in their own words and any language, to stop getting messages ("please stop messaging me", "non scrivetemi più"); their consent on the channel is then withdrawn, with the message as evidence. It never grants consent.',
				displayOptions: { show: { operation: ['classify'] } },
			},
			{
				displayName: 'Contact ID Field',
				name: 'optOutContactIdField',
				type: 'string',
				requiresDataPath: 'single',
				default: 'contactId',
				description:
					'Whose consent an opt-out withdraws (a Touchpoint Trigger event has it in "contactId")',
				displayOptions: { show: { operation: ['classify'], detectOptOut: [true] } },
			},
			{
				displayName: 'Channel Field',
				name: 'optOutChannelField',
				type: 'string',
				requiresDataPath: 'single',
				default: 'channel',
				description: 'The channel the person wrote on',
				displayOptions: { show: { operation: ['classify'], detectOptOut: [true] } },
			},
			{
				displayName: 'Opt-Out Purposes',
				name: 'optOutPurposes',
				type: 'string',
				default: 'marketing, service',
				description:
					'Purposes an opt-out withdraws on the channel, comma-separated (as a STOP keyword)',
				displayOptions: { show: { operation: ['classify'], detectOptOut: [true] } },
			},
			{
				displayName: 'Text Field',
				name: 'textField',
				type: 'string',
				requiresDataPath: 'single',
				default: 'text',
				description: 'Path to the person\'s message (a Touchpoint Trigger event has it in "text")',
				displayOptions: { show: { operation: ['reply', 'classify'] } },
			},
			{
				displayName: 'Contact ID Field',
				name: 'contactIdField',
				type: 'string',
				requiresDataPath: 'single',
				default: 'contactId',
				displayOptions: { show: { operation: ['reply'] } },
			},
			{
				displayName: 'History Turns',
				name: 'historyTurns',
				type: 'number',
				default: 10,
				displayOptions: { show: { operation: ['reply'] } },
			},
			{
				displayName: 'Since (Days)',
				name: 'usageSinceDays',
				type: 'number',
				default: 30,
				typeOptions: { minValue: 0 },
				description: 'How far back the report looks',
				displayOptions: { show: { operation: ['usageReport'] } },
			},
			{
				displayName: 'Price per 1M Input Tokens',
				name: 'inputPrice',
				type: 'number',
				default: 0,
				typeOptions: { numberPrecision: 4 },
				description: "Your model's price, to estimate the cost (0: no estimate)",
				displayOptions: { show: { operation: ['usageReport'] } },
			},
			{
				displayName: 'Price per 1M Output Tokens',
				name: 'outputPrice',
				type: 'number',
				default: 0,
				typeOptions: { numberPrecision: 4 },
				displayOptions: { show: { operation: ['usageReport'] } },
			},
			{
				displayName: 'Options',
				name: 'options',
				type: 'collection',
				placeholder: 'Add option',
				default: {},
				displayOptions: { hide: { operation: ['usageReport'] } },
				options: [
					{
						displayName: 'Bypass Cache',
						name: 'bypassCache',
						type: 'boolean',
						default: false,
						description: 'Whether to call the model even when the same prompt was answered before',
					},
					{
						displayName: 'Campaign',
						name: 'campaign',
						type: 'string',
						default: '',
						description:
							"Kept with this run's AI usage (calls, tokens, cache hits) in the store, for Report AI Usage. Read once per run.",
					},
					{ displayName: 'Concurrency', name: 'concurrency', type: 'number', default: 4 },
					{
						displayName: 'Max Attempts',
						name: 'maxAttempts',
						type: 'number',
						default: 3,
						description:
							'How often copy that breaks a channel limit is regenerated with the violation as feedback',
					},
					{
						displayName: 'Max Retries',
						name: 'maxRetries',
						type: 'number',
						default: 3,
						description: 'Retries on 429 / 5xx (the SDK honours Retry-After)',
					},
					{ displayName: 'Max SMS Segments', name: 'maxSmsSegments', type: 'number', default: 1 },
					{
						displayName: 'Sample Copy (No Model Call)',
						name: 'sampleCopy',
						type: 'boolean',
						default: false,
						description:
							"Whether to return labelled sample copy instead of calling the model, so the workflow can be tried without an API key or cost. Read once per run: an expression such as {{ $('Try It').isExecuted }} turns it on for runs started by that trigger.",
					},
					{
						displayName: 'Sample Text',
						name: 'sampleText',
						type: 'string',
						typeOptions: { rows: 3 },
						default: '',
						placeholder:
							'e.g. {{firstName}}, your cart is still waiting. Free delivery until midnight.',
						description:
							'What Sample Copy writes (labelled [Sample]), so a try shows a message that reads like the real one. Placeholders such as {{firstName}} are filled per person like real copy. Empty: a generic sample line.',
					},
					{
						displayName: 'Sample Title or Subject',
						name: 'sampleTitle',
						type: 'string',
						default: '',
						placeholder: 'e.g. Still thinking it over?',
						description: "Sample Copy's push title or email subject",
					},
				],
			},
		],
	};

	methods = { credentialTest: { convergentStoreApiTest } };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return await router.call(this);
	}
}
