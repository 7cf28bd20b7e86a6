/** WhatsApp: the message type and each type's fields (template, media, contacts, location, choices). */
import type { INodeProperties } from 'n8n-workflow';

import { show } from './common';

export const whatsappProperties: INodeProperties[] = [
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
];
