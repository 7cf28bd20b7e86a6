import type {
	IAuthenticateGeneric,
	Icon,
	ICredentialTestRequest,
	ICredentialType,
	INodeProperties,
} from 'n8n-workflow';

import { helpNotice } from './help';

/** OpenAI, or any server that speaks its API (Ollama, vLLM, LM Studio...). */
export class OpenAiCompatibleApi implements ICredentialType {
	name = 'openAiCompatibleApi';

	displayName = 'OpenAI-Compatible API';

	icon: Icon = { light: 'file:../icons/ai.svg', dark: 'file:../icons/ai.dark.svg' };

	documentationUrl =
		'https://github.com/convergent-marketing/n8n-nodes-convergent-marketing#credentials-where-each-value-comes-from';

	properties: INodeProperties[] = [
		helpNotice(
			'For AI Content when no Chat Model sub-node is connected. An API Key and the Base URL of OpenAI (https://api.openai.com/v1) or any compatible server (Ollama, vLLM, LM Studio).',
		),
		{
			displayName: 'API Key',
			name: 'apiKey',
			type: 'string',
			typeOptions: { password: true },
			default: '',
		},
		{
			displayName: 'Base URL',
			name: 'baseUrl',
			type: 'string',
			default: 'https://api.openai.com/v1',
			description: 'e.g. http://localhost:11434/v1 for a local Ollama',
		},
		{ displayName: 'Organization ID', name: 'organization', type: 'string', default: '' },
	];

	authenticate: IAuthenticateGeneric = {
		type: 'generic',
		properties: { headers: { Authorization: '=Bearer {{$credentials.apiKey}}' } },
	};

	test: ICredentialTestRequest = {
		request: { baseURL: '={{$credentials.baseUrl}}', url: '/models', method: 'GET' },
	};
}
