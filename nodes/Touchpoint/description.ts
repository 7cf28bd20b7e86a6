import type { INodeProperties } from 'n8n-workflow';

import { toolContactProperty } from '../shared/n8n/tool-mode';
import { conversationContactProperty } from '../shared/n8n/tool-scope';

const show = (channel: string[]) => ({ show: { channel } });

export const properties: INodeProperties[] = [
	{
		displayName: 'Channel',
		name: 'channel',
		type: 'options',
		noDataExpression: true,
		options: [
			{
				name: 'Best Available',
				value: 'bestAvailable',
				description:
					'The first channel in the priority list the contact can be reached on and consented to',
			},
			{ name: 'Email', value: 'email' },
			{ name: 'Instagram Direct', value: 'instagram' },
			{ name: 'Messenger', value: 'messenger' },
			{ name: 'Push (FCM)', value: 'push' },
			{ name: 'SMS (Twilio)', value: 'sms' },
			{ name: 'WhatsApp', value: 'whatsapp' },
		],
		default: 'whatsapp',
	},
	{
		displayName: 'Channel Priority',
		name: 'channelPriority',
		type: 'string',
		default: 'push, whatsapp, sms, email',
		description:
			'Channels to try in order, comma-separated. Can be an expression per contact, e.g. {{ $json.preferredChannel }}, email.',
		displayOptions: show(['bestAvailable']),
	},
	{
		displayName: 'Purpose',
		name: 'purpose',
		type: 'options',
		options: [
			{ name: 'Marketing', value: 'marketing' },
			{
				name: 'Transactional',
				value: 'transactional',
				description: 'Order updates, receipts, codes: no marketing consent needed',
			},
			{ name: 'Service', value: 'service' },
		],
		default: 'marketing',
	},
	{
		displayName: 'Campaign',
		name: 'campaign',
		type: 'string',
		default: '',
		description: 'Kept in the send log and part of the default idempotency key',
	},
	{
		displayName: 'A/B Variant',
		name: 'variant',
		type: 'string',
		default: '',
		placeholder: '{{ $json.abTest.arm }}',
		description:
			'The A/B arm this message belongs to, kept with the send (Audience Segment > A/B Split gives it; Journey > Pick A/B Winner compares the arms)',
	},
	{
		displayName: 'Message',
		name: 'text',
		type: 'string',
		typeOptions: { rows: 3 },
		default: '',
		description:
			'Text for WhatsApp, Messenger, Instagram and SMS; the body of a push; the plain-text part of an email',
		displayOptions: { hide: { '@tool': [true] } },
	},
	// The tool variant an AI Agent uses: the agent writes the text and names the contact.
	{
		displayName: 'Message',
		name: 'text',
		type: 'string',
		typeOptions: { rows: 3 },
		default: "={{ $fromAI('text', 'The message to send, written for the channel', 'string') }}",
		description: 'Filled by the agent: the text to send',
		displayOptions: { show: { '@tool': [true] } },
	},
	toolContactProperty,
	conversationContactProperty,
	{
		displayName: 'WhatsApp Message Type',
		name: 'whatsappType',
		type: 'options',
		options: [
			{ name: 'Audio', value: 'audio' },
			{ name: 'Contacts', value: 'contacts', description: 'One or more contact cards' },
			{ name: 'Document', value: 'document' },
			{ name: 'Image', value: 'image' },
			{ name: 'Location', value: 'location' },
			{
				name: 'Template',
				value: 'template',
				description: 'An approved template: allowed outside the window',
			},
			{ name: 'Text', value: 'text', description: 'Free-form: only inside the 24 h window' },
			{ name: 'Video', value: 'video' },
		],
		default: 'text',
		displayOptions: show(['whatsapp', 'bestAvailable']),
	},
	{
		displayName: 'Choices',
		name: 'choices',
		type: 'string',
		default: '',
		placeholder: '={{ $json.reply.choices }}',
		description:
			"Answers the person can pick, e.g. Conversational Form's {{ $json.reply.choices }} (with {{ $json.reply.question }} as the Message), or comma-separated id:Title. WhatsApp text: reply buttons (up to 3, 20 characters each), else a list (up to 10, 24 characters), else numbered in the text; Messenger and Instagram: quick replies; SMS: numbered in the text. A number, a title or a button answers.",
		displayOptions: {
			show: { channel: ['whatsapp', 'messenger', 'instagram', 'sms', 'bestAvailable'] },
		},
	},
	{
		displayName: 'List Button Text',
		name: 'listButton',
		type: 'string',
		default: 'Choose',
		description:
			'WhatsApp: the button that opens the list when there are more than 3 choices (20 characters)',
		displayOptions: { show: { channel: ['whatsapp', 'bestAvailable'], whatsappType: ['text'] } },
	},
	{
		displayName: 'Template Name or ID',
		name: 'templateName',
		type: 'options',
		typeOptions: { loadOptionsMethod: 'getWhatsAppTemplates' },
		default: '',
		description:
			'An approved template of the account, listed when the credential has the WhatsApp Business Account ID (by expression: the template\'s name). Choose from the list, or specify an ID using an <a href="https://docs.n8n.io/code/expressions/">expression</a>.',
		displayOptions: { show: { whatsappType: ['template'] } },
	},
	{
		displayName: 'Template Language',
		name: 'templateLanguage',
		type: 'string',
		default: 'en',
		displayOptions: { show: { whatsappType: ['template'] } },
	},
	{
		displayName: 'Template Components',
		name: 'templateComponents',
		type: 'fixedCollection',
		typeOptions: { multipleValues: true },
		placeholder: 'Add Component',
		default: {},
		description:
			'Header, body parameters (positional or named, text, currency or date-time) and button parameters, as the template defines them. When empty, Template Body Parameters are used.',
		displayOptions: { show: { whatsappType: ['template'] } },
		options: [
			{
				displayName: 'Header',
				name: 'header',
				values: [
					{
						displayName: 'Type',
						name: 'type',
						type: 'options',
						options: [
							{ name: 'Text', value: 'text' },
							{ name: 'Image', value: 'image' },
							{ name: 'Video', value: 'video' },
							{ name: 'Document', value: 'document' },
						],
						default: 'text',
					},
					{
						displayName: 'Value',
						name: 'value',
						type: 'string',
						default: '',
						description: 'The header text, or the media as a public URL or an uploaded media ID',
					},
				],
			},
			{
				displayName: 'Body Parameter',
				name: 'body',
				values: [
					{
						displayName: 'Amount in Thousandths',
						name: 'amount1000',
						type: 'number',
						default: 0,
						description: 'The amount times 1000 (12.50 EUR is 12500)',
						displayOptions: { show: { type: ['currency'] } },
					},
					{
						displayName: 'Currency Code',
						name: 'currencyCode',
						type: 'string',
						default: 'EUR',
						displayOptions: { show: { type: ['currency'] } },
					},
					{
						displayName: 'Parameter Name',
						name: 'name',
						type: 'string',
						default: '',
						description:
							'For a template with named parameters ({{first_name}}); empty for positional ones ({{1}})',
					},
					{
						displayName: 'Type',
						name: 'type',
						type: 'options',
						options: [
							{ name: 'Text', value: 'text' },
							{ name: 'Currency', value: 'currency' },
							{ name: 'Date and Time', value: 'date_time' },
						],
						default: 'text',
					},
					{
						displayName: 'Value',
						name: 'value',
						type: 'string',
						default: '',
						description:
							'The text; for currency and date-time the text shown where they cannot be localised (fallback)',
					},
				],
			},
			{
				displayName: 'Button',
				name: 'button',
				values: [
					{
						displayName: 'Button Index',
						name: 'index',
						type: 'number',
						default: 0,
						description: 'Position of the button in the template, from 0',
					},
					{
						displayName: 'Kind',
						name: 'subType',
						type: 'options',
						options: [
							{ name: 'Quick Reply (Payload)', value: 'quick_reply' },
							{ name: 'URL (Dynamic Suffix)', value: 'url' },
							{ name: 'Copy Code', value: 'copy_code' },
						],
						default: 'quick_reply',
					},
					{ displayName: 'Value', name: 'value', type: 'string', default: '' },
				],
			},
		],
	},
	{
		displayName: 'Template Body Parameters',
		name: 'templateParameters',
		type: 'string',
		default: '',
		description: 'Values for {{1}}, {{2}}... separated by |.',
		displayOptions: { show: { whatsappType: ['template'] } },
	},
	{
		displayName: 'Media Source',
		name: 'mediaSource',
		type: 'options',
		options: [
			{ name: 'URL', value: 'url', description: 'A public link Meta downloads the file from' },
			{
				name: 'Binary File',
				value: 'binary',
				description:
					'A file from the input item, uploaded to WhatsApp when the message is sent (once per file and run)',
			},
			{ name: 'Media ID', value: 'id', description: 'A file uploaded to WhatsApp earlier' },
		],
		default: 'url',
		displayOptions: { show: { whatsappType: ['image', 'document', 'audio', 'video'] } },
	},
	{
		displayName: 'Media URL',
		name: 'mediaUrl',
		type: 'string',
		default: '',
		description: 'A public https URL of the file',
		displayOptions: {
			show: { whatsappType: ['image', 'document', 'audio', 'video'], mediaSource: ['url'] },
		},
	},
	{
		displayName: 'Input Binary Field',
		name: 'binaryPropertyName',
		type: 'string',
		default: 'data',
		hint: 'The name of the input binary field containing the file to send',
		description:
			'Images: JPEG or PNG up to 5 MB; audio: AAC, AMR, MP3, MP4 audio or OGG up to 16 MB; video: MP4 or 3GPP up to 16 MB; documents: PDF, text, Office files up to 100 MB',
		displayOptions: {
			show: { whatsappType: ['image', 'document', 'audio', 'video'], mediaSource: ['binary'] },
		},
	},
	{
		displayName: 'Media ID',
		name: 'mediaId',
		type: 'string',
		default: '',
		placeholder: '1037543291543636',
		description: 'The ID WhatsApp returned when the file was uploaded',
		displayOptions: {
			show: { whatsappType: ['image', 'document', 'audio', 'video'], mediaSource: ['id'] },
		},
	},
	{
		displayName: 'Contact Cards',
		name: 'contactCards',
		type: 'fixedCollection',
		typeOptions: { multipleValues: true },
		placeholder: 'Add Contact Card',
		default: {},
		description:
			"The contacts to share (e.g. the store's or an adviser's): each needs a name and a phone or an email",
		displayOptions: { show: { whatsappType: ['contacts'] } },
		options: [
			{
				displayName: 'Card',
				name: 'card',
				values: [
					{ displayName: 'Company', name: 'company', type: 'string', default: '' },
					{
						displayName: 'Email',
						name: 'email',
						type: 'string',
						placeholder: 'name@email.com',
						default: '',
					},
					{ displayName: 'First Name', name: 'firstName', type: 'string', default: '' },
					{
						displayName: 'Formatted Name',
						name: 'formattedName',
						type: 'string',
						default: '',
						placeholder: 'Glow Madrid Sol',
						description: 'The name shown on the card (required)',
					},
					{ displayName: 'Last Name', name: 'lastName', type: 'string', default: '' },
					{
						displayName: 'Phone',
						name: 'phone',
						type: 'string',
						default: '',
						placeholder: '+34 910 000 000',
					},
					{ displayName: 'Website', name: 'url', type: 'string', default: '' },
				],
			},
		],
	},
	{
		displayName: 'Caption',
		name: 'caption',
		type: 'string',
		default: '',
		displayOptions: { show: { whatsappType: ['image', 'document', 'video'] } },
	},
	{
		displayName: 'Latitude',
		name: 'latitude',
		type: 'number',
		typeOptions: { numberPrecision: 6 },
		default: 0,
		displayOptions: { show: { whatsappType: ['location'] } },
	},
	{
		displayName: 'Longitude',
		name: 'longitude',
		type: 'number',
		typeOptions: { numberPrecision: 6 },
		default: 0,
		displayOptions: { show: { whatsappType: ['location'] } },
	},
	{
		displayName: 'Location Name',
		name: 'locationName',
		type: 'string',
		default: '',
		placeholder: 'Glow Madrid Sol',
		displayOptions: { show: { whatsappType: ['location'] } },
	},
	{
		displayName: 'Location Address',
		name: 'locationAddress',
		type: 'string',
		default: '',
		placeholder: 'Puerta del Sol 1, Madrid',
		displayOptions: { show: { whatsappType: ['location'] } },
	},
	{
		displayName: 'Messaging Type',
		name: 'messagingType',
		type: 'options',
		options: [
			{ name: 'Response', value: 'RESPONSE', description: 'A reply inside the 24 h window' },
			{
				name: 'Update',
				value: 'UPDATE',
				description: 'A proactive message inside the 24 h window',
			},
			{
				name: 'Human Agent Tag',
				value: 'MESSAGE_TAG',
				description: "A human reply up to 7 days after the person's last message; never promotions",
			},
		],
		default: 'RESPONSE',
		displayOptions: show(['messenger', 'instagram']),
	},
	{
		displayName: 'Quick Replies',
		name: 'quickReplies',
		type: 'string',
		default: '',
		description: 'Buttons, comma-separated (max 13, 20 characters each)',
		displayOptions: show(['messenger', 'instagram']),
	},
	{
		displayName: 'Push Type',
		name: 'pushType',
		type: 'options',
		options: [
			{
				name: 'Notification',
				value: 'notification',
				description: 'A system notification on the phone',
			},
			{
				name: 'In-App Message',
				value: 'inApp',
				description:
					"Shown inside your app (FCM data message) and kept in the person's in-app inbox until it expires",
			},
		],
		default: 'notification',
		description: 'Consent, caps and quiet hours apply to both as to push',
		displayOptions: show(['push']),
	},
	{
		displayName: 'Call to Action Label',
		name: 'inAppCtaLabel',
		type: 'string',
		default: '',
		placeholder: 'See the offer',
		displayOptions: { show: { channel: ['push'], pushType: ['inApp'] } },
	},
	{
		displayName: 'Call to Action URL',
		name: 'inAppCtaUrl',
		type: 'string',
		default: '',
		placeholder: 'https://glow.example/spring',
		description: "Where the button takes the person (a web URL or your app's https deep link)",
		displayOptions: { show: { channel: ['push'], pushType: ['inApp'] } },
	},
	{
		displayName: 'Expires After (Hours)',
		name: 'inAppExpiresHours',
		type: 'number',
		default: 72,
		typeOptions: { minValue: 1 },
		description: 'The app stops showing it then, and the inbox leaves it out',
		displayOptions: { show: { channel: ['push'], pushType: ['inApp'] } },
	},
	{
		displayName: 'Push Title',
		name: 'pushTitle',
		type: 'string',
		default: '',
		displayOptions: show(['push', 'bestAvailable']),
	},
	{
		displayName: 'Push Image URL',
		name: 'pushImageUrl',
		type: 'string',
		default: '',
		displayOptions: show(['push']),
	},
	{
		displayName: 'Push Data (JSON)',
		name: 'pushData',
		type: 'json',
		default: '{}',
		description: 'Key/value data for the app; values must be text',
		displayOptions: show(['push']),
	},
	{
		displayName: 'Push Topic',
		name: 'pushTopic',
		type: 'string',
		default: '',
		description: "Send to a topic instead of the contact's token",
		displayOptions: show(['push']),
	},
	{
		displayName: 'MMS Media URLs',
		name: 'smsMediaUrls',
		type: 'string',
		default: '',
		description:
			'Public http(s) URLs of images or files for an MMS, comma-separated (at most 10; Twilio fetches them)',
		displayOptions: show(['sms', 'bestAvailable']),
	},
	{
		displayName: 'Subject',
		name: 'subject',
		type: 'string',
		default: '',
		displayOptions: show(['email', 'bestAvailable']),
	},
	{
		displayName: 'CC',
		name: 'cc',
		type: 'string',
		default: '',
		description:
			'More recipients, comma-separated. Transactional email only: for any other purpose each person needs their own consent, so copies are refused.',
		displayOptions: show(['email', 'bestAvailable']),
	},
	{
		displayName: 'BCC',
		name: 'bcc',
		type: 'string',
		default: '',
		description: 'Hidden recipients, comma-separated (transactional email only)',
		displayOptions: show(['email', 'bestAvailable']),
	},
	{
		displayName: 'Attachments (Binary Properties)',
		name: 'attachments',
		type: 'string',
		default: '',
		placeholder: 'data, invoice',
		description:
			"Names of the item's binary properties to attach (e.g. from Read/Write Files or HTTP Request), comma-separated",
		displayOptions: show(['email', 'bestAvailable']),
	},
	{
		displayName: 'HTML',
		name: 'html',
		type: 'string',
		typeOptions: { rows: 5 },
		default: '',
		displayOptions: show(['email', 'bestAvailable']),
	},
	{
		displayName: 'One-Click Unsubscribe',
		name: 'unsubscribeLink',
		type: 'options',
		options: [
			{
				name: 'URL You Give',
				value: 'url',
				description: "Your own unsubscribe page, e.g. your email service's",
			},
			{
				name: 'Signed Link to Your Unsubscribe Webhook',
				value: 'signed',
				description:
					"A link per person, signed by the Convergent store, to the One-Click Unsubscribe template's webhook: a click or the mail client's POST withdraws consent",
			},
		],
		default: 'url',
		description:
			'Required for marketing email (RFC 8058): sent as List-Unsubscribe with List-Unsubscribe-Post',
		displayOptions: show(['email', 'bestAvailable']),
	},
	{
		displayName: 'One-Click Unsubscribe URL',
		name: 'unsubscribeUrl',
		type: 'string',
		default: '',
		placeholder: 'https://shop.example/unsubscribe?c={{ $json.contactId }}',
		description:
			'Required for marketing email (RFC 8058): sent as List-Unsubscribe with List-Unsubscribe-Post',
		displayOptions: { show: { channel: ['email', 'bestAvailable'], unsubscribeLink: ['url'] } },
	},
	{
		displayName: 'Unsubscribe Webhook URL',
		name: 'unsubscribeWebhookUrl',
		type: 'string',
		default: '',
		placeholder: 'https://n8n.example.com/webhook/unsubscribe',
		description:
			"The production URL of the One-Click Unsubscribe template's webhook; each person's link adds ?token=... to it.",
		displayOptions: { show: { channel: ['email', 'bestAvailable'], unsubscribeLink: ['signed'] } },
	},
	{
		displayName: 'Unsubscribe Mailto',
		name: 'unsubscribeMailto',
		type: 'string',
		default: '',
		placeholder: 'unsubscribe@shop.example',
		displayOptions: show(['email', 'bestAvailable']),
	},
	{
		displayName: 'Postal Address',
		name: 'postalAddress',
		type: 'string',
		default: '',
		description: 'Required in marketing email (CAN-SPAM): added to the footer',
		displayOptions: show(['email', 'bestAvailable']),
	},
	{
		displayName: 'Click Tracking',
		name: 'clickTracking',
		type: 'options',
		options: [
			{ name: 'Off', value: 'off', description: 'Links go out as you wrote them' },
			{
				name: 'Signed Redirect Through Your Click Webhook',
				value: 'signed',
				description:
					"Each http(s) link becomes a short link to the Click Tracking template's webhook (its code, kept in the store, stands for this person, campaign and URL); a click is recorded, then the person is sent on to your URL",
			},
		],
		default: 'off',
		description:
			"Opt-in per campaign: tracked links tell you who clicked (the send log says clicked; engagement and reports count it), at the cost of the person's click passing through your n8n",
		displayOptions: show(['whatsapp', 'messenger', 'instagram', 'sms', 'email', 'bestAvailable']),
	},
	{
		displayName: 'Click Webhook URL',
		name: 'clickWebhookUrl',
		type: 'string',
		default: '',
		placeholder: 'https://n8n.example.com/webhook/r',
		description: "The production URL of the Click Tracking template's webhook",
		displayOptions: { show: { clickTracking: ['signed'] } },
	},
	{
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add option',
		default: {},
		options: [
			{
				displayName: 'Allow Address Not Linked to the Contact',
				name: 'allowUnlinkedAddress',
				type: 'boolean',
				default: false,
				description:
					'Whether a transactional message may go to an address the contact book does not link to the person (e.g. an order confirmation to the email typed at checkout). Sent items then show touchpoint.addressLinked: false. Marketing never: consent covers the address it was given for.',
			},
			{
				displayName: 'Concurrency',
				name: 'concurrency',
				type: 'number',
				default: 0,
				description:
					'Requests in flight at once (the rate limit still applies). 0 = automatic: enough for up to 2 s of provider latency at the rate limit (at least 20, at most 200).',
			},
			{
				displayName: 'Dry Run',
				name: 'dryRun',
				type: 'boolean',
				default: false,
				description:
					"Whether to build and validate the exact requests and return them on a third output, Dry Run (secrets redacted), without sending or logging anything as sent. Works without the channel's credential: the preview then shows where its sender values go. Read once per run: an expression such as {{ $('Try It').isExecuted }} makes every run started by that trigger a dry run, and the node keeps its Dry Run output.",
			},
			{
				displayName: 'Idempotency Key Field',
				name: 'idempotencyKeyField',
				type: 'string',
				requiresDataPath: 'single',
				default: '',
				description:
					'Path to your own key per message. Default: the Consent Guard reservation, else a hash of contact, campaign, channel and content.',
			},
			{
				displayName: 'Max Retries',
				name: 'maxRetries',
				type: 'number',
				default: 5,
				description:
					'Retries on rate limits, 5xx and connection errors, with exponential backoff and Retry-After',
			},
			{
				displayName: 'Max SMS Segments',
				name: 'maxSegments',
				type: 'number',
				default: 3,
				description: 'Longer texts are not sent (0 = no limit)',
			},
			{
				displayName: 'Rate Limit (per Second)',
				name: 'ratePerSecond',
				type: 'number',
				default: 0,
				description:
					'Override the per-credential limit (0 = channel default: WhatsApp 80/s, Messenger 40/s, SMS from the credential, FCM 500/s, email 20/s). With a PostgreSQL Convergent Store the limit is shared by all queue-mode workers; with the embedded store it holds per n8n process.',
			},
			{
				displayName: 'Status Callback URL (SMS)',
				name: 'statusCallbackUrl',
				type: 'string',
				default: '',
				placeholder: 'https://n8n.example.com/webhook/…/webhook',
				description:
					"Where Twilio posts this message's delivery statuses, e.g. a Touchpoint Trigger (Twilio SMS) production URL",
			},
			{
				displayName: 'Timeout',
				name: 'timeout',
				type: 'number',
				typeOptions: { minValue: 1 },
				default: 30000,
				description:
					'Time in ms to wait for the provider to answer one request before ending it. A message whose request was ended is reported unknown (it may have arrived) and never sent again; the run goes on.',
			},
			{
				displayName: 'Transactional Is Exempt',
				name: 'transactionalExempt',
				type: 'boolean',
				default: true,
				description: 'Whether the Transactional purpose skips consent, caps and quiet hours',
			},
		],
	},
];
