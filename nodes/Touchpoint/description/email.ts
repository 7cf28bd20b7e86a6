/** Email: subject, copies, attachments, HTML, and the one-click unsubscribe and postal footer marketing email needs. */
import type { INodeProperties } from 'n8n-workflow';

import { show } from './common';

export const emailProperties: INodeProperties[] = [
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
];
