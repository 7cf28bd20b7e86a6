/** Conversational Form's parameters: the form, its questions, when it starts, how answers are read. */
import type { INodeProperties } from 'n8n-workflow';

export const properties: INodeProperties[] = [
	{
		displayName: 'Form Name',
		name: 'formName',
		type: 'string',
		default: 'Lead Capture',
		required: true,
		description: 'Sessions are kept per form and contact',
	},
	{
		displayName: 'Questions',
		name: 'questions',
		type: 'fixedCollection',
		typeOptions: { multipleValues: true, sortable: true },
		placeholder: 'Add Question',
		default: {},
		options: [
			{
				displayName: 'Question',
				name: 'question',
				// In the order a marketer fills a question in: the question, its key and type, then the rest.
				// eslint-disable-next-line n8n-nodes-base/node-param-fixed-collection-type-unsorted-items
				values: [
					{
						displayName: 'Question',
						name: 'text',
						type: 'string',
						default: '',
						placeholder: 'What is your email?',
					},
					{
						displayName: 'Key',
						name: 'key',
						type: 'string',
						default: '',
						placeholder: 'email',
						description: 'Name of the answer in the output',
					},
					{
						displayName: 'Type',
						name: 'type',
						type: 'options',
						options: [
							{
								name: 'Date',
								value: 'date',
							},
							{
								name: 'Date and Time',
								value: 'dateTime',
							},
							{
								name: 'Email',
								value: 'email',
							},
							{
								name: 'Multiple Choice',
								value: 'multipleChoice',
							},
							{
								name: 'Number',
								value: 'number',
							},
							{
								name: 'Phone',
								value: 'phone',
							},
							{
								name: 'Single Choice',
								value: 'singleChoice',
							},
							{
								name: 'Text',
								value: 'text',
							},
							{
								name: 'Time',
								value: 'time',
							},
							{
								name: 'Yes	/	No',
								value: 'yesNo',
							},
						],
						default: 'text',
					},
					{
						displayName: 'Choices',
						name: 'choices',
						type: 'string',
						default: '',
						placeholder: 'madrid:Madrid Centro, bcn:Barcelona',
						description: 'For choice questions:\tlabels or ID:label pairs, comma-separated',
					},
					{
						displayName: 'Is Consent Question',
						name: 'consent',
						type: 'boolean',
						default: false,
						description:
							'Whether a yes/no answer records consent on this channel (for the Consent Purpose), with the question as evidence',
					},
					{
						displayName: 'Consent Purpose',
						name: 'consentPurpose',
						type: 'options',
						options: [
							{
								name: 'Marketing',
								value: 'marketing',
								description: 'Offers and news',
							},
							{
								name: 'Service',
								value: 'service',
								description:
									'Reminders and updates the person asked for, e.g. an appointment reminder',
							},
						],
						default: 'marketing',
						description: "What a consent question's yes/no is recorded for",
					},
					{
						displayName: 'Ask Only If Answer To',
						name: 'askIfKey',
						type: 'string',
						default: '',
						description: 'Key of an earlier question (skip logic)',
					},
					{
						displayName: 'Ask Only If Answer Is',
						name: 'askIfValue',
						type: 'string',
						default: '',
					},
					{
						displayName: 'Re-Ask Message',
						name: 'reAsk',
						type: 'string',
						default: 'Sorry, I did not get that.',
						description: 'Sent before the question again when an answer is not valid',
					},
				],
			},
		],
	},
	{
		displayName: 'Start New Sessions',
		name: 'startWhen',
		type: 'options',
		options: [
			{
				name: 'On Any Message',
				value: 'always',
				description: 'Every message from a contact without an open session starts the form',
			},
			{
				name: 'When a Field Matches',
				value: 'fieldMatches',
				description:
					'Only messages whose field has one of the values start it (e.g. an AI Classify intent); others go to Not Started',
			},
		],
		default: 'always',
		description: 'Messages from contacts with an open session always continue it',
	},
	{
		displayName: 'Start Field',
		name: 'startField',
		requiresDataPath: 'single',
		type: 'string',
		default: 'classification.intent',
		description: 'Path to the value that decides whether a new session starts',
		displayOptions: { show: { startWhen: ['fieldMatches'] } },
	},
	{
		displayName: 'Start Values',
		name: 'startValues',
		type: 'string',
		default: 'book',
		description:
			'Values that start the form, comma-separated (case-insensitive). Empty: any value other than empty or false.',
		displayOptions: { show: { startWhen: ['fieldMatches'] } },
	},
	{
		displayName: 'Session Expires After (Hours)',
		name: 'expiryHours',
		type: 'number',
		default: 24,
		description: 'A session idle longer than this starts over',
	},
	{
		displayName: 'Understand Free Text',
		name: 'understandFreeText',
		type: 'boolean',
		default: false,
		description:
			'Whether an answer the form cannot read as typed ("my email is ana at gmail dot com", "next Tuesday after 5pm") is read by the connected Chat Model into the question\'s type, then checked like a typed answer. At most one model call per answer; the person\'s words are kept. Never for a consent question.',
	},
	{
		displayName: 'Cancel Words',
		name: 'cancelWords',
		type: 'string',
		default: 'cancel, cancelar, stop, salir, quit',
		description: 'Whole-message words that end the session (STOP-family keywords always do)',
	},
	{
		displayName: 'Fields',
		name: 'fields',
		type: 'collection',
		placeholder: 'Add Field Path',
		default: {},
		description: 'Where the inbound event keeps its parts (defaults fit Touchpoint Trigger events)',
		options: [
			{
				displayName: 'Channel Field',
				name: 'channelField',
				type: 'string',
				requiresDataPath: 'single',
				default: 'channel',
			},
			{
				displayName: 'Contact ID Field',
				name: 'contactIdField',
				type: 'string',
				requiresDataPath: 'single',
				default: 'contactId',
			},
			{
				displayName: 'Default Country',
				name: 'defaultCountry',
				type: 'string',
				default: '',
				placeholder: 'ES',
				description: 'For phone answers without a country code',
			},
			{
				displayName: 'Payload Field',
				name: 'payloadField',
				type: 'string',
				requiresDataPath: 'single',
				default: 'payload',
				description: 'Quick-reply / button payload',
			},
			{
				displayName: 'Text Field',
				name: 'textField',
				type: 'string',
				requiresDataPath: 'single',
				default: 'text',
			},
			{
				displayName: 'Time Zone',
				name: 'timeZone',
				type: 'string',
				default: 'UTC',
				description: 'Dates and times are read in this zone',
			},
		],
	},
];
