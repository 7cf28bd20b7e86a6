import type {
	IAuthenticateGeneric,
	Icon,
	ICredentialTestRequest,
	ICredentialType,
	INodeProperties,
} from 'n8n-workflow';

import { helpNotice } from './help';

/** Messenger and Instagram Direct send through the Page's access token (Graph Send API). */
export class MetaPageApi implements ICredentialType {
	name = 'metaPageApi';

	displayName = 'Meta Page (Messenger, Instagram) API';

	icon: Icon = { light: 'file:../icons/meta.svg', dark: 'file:../icons/meta.dark.svg' };

	documentationUrl =
		'https://github.com/convergent-marketing/n8n-nodes-convergent-marketing#credentials-where-each-value-comes-from';

	properties: INodeProperties[] = [
		helpNotice(
			"For this package's Touchpoint (Messenger, Instagram). The Facebook Page's Page Access Token (Meta for Developers > your app > Messenger > Settings > Access Tokens) with pages_messaging, and instagram_manage_messages for Instagram.",
		),
		{
			displayName: 'Page Access Token',
			name: 'pageAccessToken',
			type: 'string',
			typeOptions: { password: true },
			default: '',
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
		properties: { headers: { Authorization: '=Bearer {{$credentials.pageAccessToken}}' } },
	};

	test: ICredentialTestRequest = {
		request: {
			baseURL: '={{$credentials.baseUrl}}',
			url: '=/{{$credentials.apiVersion}}/me',
			method: 'GET',
		},
	};
}
