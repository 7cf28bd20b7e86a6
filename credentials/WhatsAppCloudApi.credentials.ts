import type {
	IAuthenticateGeneric,
	Icon,
	ICredentialTestRequest,
	ICredentialType,
	INodeProperties,
} from 'n8n-workflow';

import { helpNotice } from './help';

export class WhatsAppCloudApi implements ICredentialType {
	name = 'whatsAppCloudApi';

	displayName = 'WhatsApp Cloud API';

	icon: Icon = { light: 'file:../icons/whatsapp.svg', dark: 'file:../icons/whatsapp.dark.svg' };

	documentationUrl =
		'https://github.com/convergent-marketing/n8n-nodes-convergent-marketing#credentials-where-each-value-comes-from';

	properties: INodeProperties[] = [
		helpNotice(
			"For this package's Touchpoint (WhatsApp) and Touchpoint Trigger (Download Media), not n8n's WhatsApp nodes. Meta for Developers > your app > WhatsApp > API Setup: the Phone Number ID and the WhatsApp Business Account ID. Access Token: a system user's (Business Settings > System users > Generate new token) with whatsapp_business_messaging and whatsapp_business_management, <b>not the temporary 24-hour token</b>.",
		),
		{
			displayName: 'Access Token',
			name: 'accessToken',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			description: 'A system-user access token with whatsapp_business_messaging',
		},
		{
			displayName: 'Phone Number ID',
			name: 'phoneNumberId',
			type: 'string',
			default: '',
			description: 'WhatsApp Manager > Phone numbers > Phone number ID',
		},
		{
			displayName: 'WhatsApp Business Account ID',
			name: 'businessAccountId',
			type: 'string',
			default: '',
			description:
				'WhatsApp Manager > Account tools > WhatsApp Business Account ID. Lets Touchpoint list your approved templates.',
		},
		{ displayName: 'API Version', name: 'apiVersion', type: 'string', default: 'v21.0' },
		{
			displayName: 'Base URL',
			name: 'baseUrl',
			type: 'string',
			default: 'https://graph.facebook.com',
		},
	];

	authenticate: IAuthenticateGeneric = {
		type: 'generic',
		properties: { headers: { Authorization: '=Bearer {{$credentials.accessToken}}' } },
	};

	test: ICredentialTestRequest = {
		request: {
			baseURL: '={{$credentials.baseUrl}}',
			url: '=/{{$credentials.apiVersion}}/{{$credentials.phoneNumberId}}',
			method: 'GET',
		},
	};
}
