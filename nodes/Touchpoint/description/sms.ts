/** SMS: MMS media. */
import type { INodeProperties } from 'n8n-workflow';

import { show } from './common';

export const smsProperties: INodeProperties[] = [
	{
		displayName: 'MMS Media URLs',
		name: 'smsMediaUrls',
		type: 'string',
		default: '',
		description:
			'Public http(s) URLs of images or files for an MMS, comma-separated (at most 10; Twilio fetches them)',
		displayOptions: show(['sms', 'bestAvailable']),
	},
];
