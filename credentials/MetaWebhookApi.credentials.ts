import type { Icon, ICredentialType, INodeProperties } from 'n8n-workflow';

import { helpNotice } from './help';

/** What Meta's webhooks need: the app secret (signatures) and the verify token (subscription). */
export class MetaWebhookApi implements ICredentialType {
	name = 'metaWebhookApi';

	displayName = 'Meta Webhook API';

	icon: Icon = { light: 'file:../icons/meta.svg', dark: 'file:../icons/meta.dark.svg' };

	documentationUrl =
		'https://github.com/convergent-marketing/n8n-nodes-convergent-marketing#credentials-where-each-value-comes-from';

	properties: INodeProperties[] = [
		helpNotice(
			"For the Touchpoint Trigger (Meta: WhatsApp, Messenger, Instagram). The App Secret (your app > App settings > Basic), and a Verify Token you choose and type again in WhatsApp / Messenger > Configuration > Webhook with the trigger's production URL.",
		),
		{
			displayName: 'App Secret',
			name: 'appSecret',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			description:
				'App Dashboard > App settings > Basic > App secret. Verifies X-Hub-Signature-256 on every POST.',
		},
		{
			displayName: 'Verify Token',
			name: 'verifyToken',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			description:
				"Any secret string; enter the same one in the webhook subscription so Meta's verification request is answered",
		},
	];
}
