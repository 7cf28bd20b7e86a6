import type { Icon, ICredentialType, INodeProperties } from 'n8n-workflow';

import { helpNotice } from './help';

/**
 * Where the Convergent store lives: the embedded SQLite file (one n8n instance) or PostgreSQL
 * (n8n queue mode: every worker must see the same consent, caps and send log). Nodes without
 * this credential use the embedded default. Tested by the nodes' `convergentStoreApiTest`.
 */
export class ConvergentStoreApi implements ICredentialType {
	name = 'convergentStoreApi';

	displayName = 'Convergent Store API';

	icon: Icon = { light: 'file:../icons/store.svg', dark: 'file:../icons/store.dark.svg' };

	documentationUrl =
		'https://github.com/convergent-marketing/n8n-nodes-convergent-marketing#credentials-where-each-value-comes-from';

	properties: INodeProperties[] = [
		helpNotice(
			'Where every node of this package keeps consent, contacts and the send log. Leave it Embedded (SQLite, a file in the n8n folder) on one n8n; queue mode needs PostgreSQL, shared by all workers.',
		),
		{
			displayName: 'Storage Type',
			name: 'storageType',
			type: 'options',
			options: [
				{
					name: 'Embedded (SQLite File)',
					value: 'embedded',
					description: 'A file in the n8n user folder. Right for a single n8n instance.',
				},
				{
					name: 'PostgreSQL',
					value: 'postgres',
					description: 'Shared by every n8n worker. Needed in queue mode.',
				},
			],
			default: 'embedded',
		},
		{
			displayName: 'Database File Path',
			name: 'databasePath',
			type: 'string',
			default: '',
			placeholder: '~/.n8n/convergent-store.sqlite',
			description: 'Leave empty for convergent-store.sqlite in the n8n user folder',
			displayOptions: { show: { storageType: ['embedded'] } },
		},
		{
			displayName: 'Host',
			name: 'host',
			type: 'string',
			default: 'localhost',
			displayOptions: { show: { storageType: ['postgres'] } },
		},
		{
			displayName: 'Port',
			name: 'port',
			type: 'number',
			default: 5432,
			displayOptions: { show: { storageType: ['postgres'] } },
		},
		{
			displayName: 'Database',
			name: 'database',
			type: 'string',
			default: 'postgres',
			displayOptions: { show: { storageType: ['postgres'] } },
		},
		{
			displayName: 'User',
			name: 'user',
			type: 'string',
			default: 'postgres',
			displayOptions: { show: { storageType: ['postgres'] } },
		},
		{
			displayName: 'Password',
			name: 'password',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			displayOptions: { show: { storageType: ['postgres'] } },
		},
		{
			displayName: 'SSL',
			name: 'ssl',
			type: 'boolean',
			default: false,
			description:
				"Whether to connect with TLS. The server certificate is verified against the system's trusted authorities, or the CA below.",
			displayOptions: { show: { storageType: ['postgres'] } },
		},
		{
			displayName: 'CA Certificate',
			name: 'sslCa',
			type: 'string',
			typeOptions: { rows: 4 },
			default: '',
			placeholder: '-----BEGIN CERTIFICATE-----',
			description:
				"PEM certificate of the authority that signed the server's certificate (e.g. your cloud provider's CA bundle)",
			displayOptions: { show: { storageType: ['postgres'], ssl: [true] } },
		},
		{
			displayName: 'Allow Self-Signed Certificate',
			name: 'sslAllowSelfSigned',
			type: 'boolean',
			default: false,
			description:
				'Whether to accept a certificate that cannot be verified. The connection is then encrypted but not authenticated: anyone on the path can impersonate the server. Prefer the CA Certificate.',
			displayOptions: { show: { storageType: ['postgres'], ssl: [true] } },
		},
		{
			displayName: 'Schema',
			name: 'schema',
			type: 'string',
			default: '',
			placeholder: 'convergent',
			description: 'PostgreSQL schema for the store tables. Leave empty for the default (public).',
			displayOptions: { show: { storageType: ['postgres'] } },
		},
		{
			displayName: 'Keep Send Detail (Months)',
			name: 'keepSendDetailMonths',
			type: 'number',
			default: 13,
			typeOptions: { minValue: 0 },
			description:
				'How long each send keeps its detail (campaign, A/B arm, provider ID, errors, delivery, replies). Older sends stay in the reports as daily totals; of each one only what keeps it from going twice and the caps exact is kept. 0 keeps everything.',
		},
	];
}
