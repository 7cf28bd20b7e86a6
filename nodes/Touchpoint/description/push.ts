/** Push: a notification or an in-app message, its title, image, data and topic. */
import type { INodeProperties } from 'n8n-workflow';

import { show } from './common';

export const pushProperties: INodeProperties[] = [
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
];
