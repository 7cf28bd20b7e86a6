import type {
	IAuthenticateGeneric,
	Icon,
	ICredentialTestRequest,
	ICredentialType,
	INodeProperties,
} from 'n8n-workflow';

import { helpNotice } from './help';

export class TwilioMessagingApi implements ICredentialType {
	name = 'twilioMessagingApi';

	displayName = 'Twilio Messaging API';

	icon: Icon = { light: 'file:../icons/twilio.svg', dark: 'file:../icons/twilio.dark.svg' };

	documentationUrl =
		'https://github.com/convergent-marketing/n8n-nodes-convergent-marketing#credentials-where-each-value-comes-from';

	properties: INodeProperties[] = [
		helpNotice(
			"For this package's Touchpoint (SMS), not n8n's Twilio node. Account SID and Auth Token from the Twilio Console home page; a From Number you bought (Phone Numbers > Manage) or a Messaging Service SID (Messaging > Services).",
		),
		{ displayName: 'Account SID', name: 'accountSid', type: 'string', default: '' },
		{
			displayName: 'Auth Token',
			name: 'authToken',
			type: 'string',
			typeOptions: { password: true },
			default: '',
		},
		{
			displayName: 'From Number',
			name: 'from',
			type: 'string',
			default: '',
			placeholder: '+15550100000',
			description: 'E.164 sender number (leave empty when using a Messaging Service)',
		},
		{
			displayName: 'Messaging Service SID',
			name: 'messagingServiceSid',
			type: 'string',
			default: '',
			placeholder: 'MG…',
		},
		{
			displayName: 'Messages per Second',
			name: 'ratePerSecond',
			type: 'number',
			default: 1,
			description:
				'A long-code number sends about 1 message/s; a Messaging Service or short code more',
		},
		{ displayName: 'Base URL', name: 'baseUrl', type: 'string', default: 'https://api.twilio.com' },
	];

	authenticate: IAuthenticateGeneric = {
		type: 'generic',
		properties: {
			auth: { username: '={{$credentials.accountSid}}', password: '={{$credentials.authToken}}' },
		},
	};

	test: ICredentialTestRequest = {
		request: {
			baseURL: '={{$credentials.baseUrl}}',
			url: '=/2010-04-01/Accounts/{{$credentials.accountSid}}.json',
			method: 'GET',
		},
	};
}
