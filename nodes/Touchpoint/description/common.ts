/** The parameters every channel shares: Channel, its priority, Purpose, Campaign, Variant, the text. */
import type { INodeProperties } from 'n8n-workflow';

import { toolContactProperty } from '../../shared/n8n/tool-mode';
import { conversationContactProperty } from '../../shared/n8n/tool-scope';

/** Shown for these channels (and not for the others). */
export const show = (channel: string[]) => ({ show: { channel } });

export const commonProperties: INodeProperties[] = [
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
];
