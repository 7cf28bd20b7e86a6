/** Messenger and Instagram: messaging type and quick replies. */
import type { INodeProperties } from 'n8n-workflow';

import { show } from './common';

export const metaPageProperties: INodeProperties[] = [
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
];
