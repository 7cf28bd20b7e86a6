/** Tracked links: every link through the Click Tracking webhook, signed per person and campaign. */
import type { INodeProperties } from 'n8n-workflow';

import { show } from './common';

export const linkProperties: INodeProperties[] = [
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
];
