import type {
	IAuthenticateGeneric,
	Icon,
	ICredentialTestRequest,
	ICredentialType,
	INodeProperties,
} from 'n8n-workflow';

/** Messenger and Instagram Direct send through the Page's access token (Graph Send API). */
export class MetaPageApi implements ICredentialType {
	name = 'metaPageApi';

	displayName = 'Meta Page (Messenger, Instagram) API';

	icon: Icon = { light: 'file:../icons/meta.svg', dark: 'file:../icons/meta.dark.svg' };

	documentationUrl = 'https://developers.facebook.com/docs/messenger-platform/send-messages';

	properties: INodeProperties[] = [
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
