import type { Icon, ICredentialType, INodeProperties } from 'n8n-workflow';

import { helpNotice } from './help';

/** Firebase Cloud Messaging HTTP v1 with a service-account JSON (tested by the Touchpoint node). */
export class FcmServiceAccountApi implements ICredentialType {
	name = 'fcmServiceAccountApi';

	displayName = 'Firebase Cloud Messaging (Service Account) API';

	icon: Icon = { light: 'file:../icons/firebase.svg', dark: 'file:../icons/firebase.dark.svg' };

	documentationUrl =
		'https://github.com/convergent-marketing/n8n-nodes-convergent-marketing#credentials-where-each-value-comes-from';

	properties: INodeProperties[] = [
		helpNotice(
			"For this package's Touchpoint (push). Firebase console > Project settings > Service accounts > Generate new private key: paste the whole JSON file.",
		),
		// The key file holds the service account's private key: a secret, whatever the field name says to the rule.
		// eslint-disable-next-line @n8n/community-nodes/credential-unnecessary-password
		{
			displayName: 'Service Account JSON',
			name: 'serviceAccountJson',
			type: 'string',
			typeOptions: { password: true, rows: 6 },
			default: '',
			description: 'The key file from Firebase console > Project settings > Service accounts',
		},
		{ displayName: 'Messages per Second', name: 'ratePerSecond', type: 'number', default: 500 },
		{
			displayName: 'Base URL',
			name: 'baseUrl',
			type: 'string',
			default: 'https://fcm.googleapis.com',
		},
	];
}
