import type { Icon, ICredentialType, INodeProperties } from 'n8n-workflow';

import { helpNotice } from './help';

/** What Twilio's webhooks need: the auth token that keys X-Twilio-Signature. */
export class TwilioWebhookApi implements ICredentialType {
	name = 'twilioWebhookApi';

	displayName = 'Twilio Webhook API';

	icon: Icon = { light: 'file:../icons/twilio.svg', dark: 'file:../icons/twilio.dark.svg' };

	documentationUrl =
		'https://github.com/convergent-marketing/n8n-nodes-convergent-marketing#credentials-where-each-value-comes-from';

	properties: INodeProperties[] = [
		helpNotice(
			"For the Touchpoint Trigger (Twilio). The same Auth Token as your Twilio account (it signs the requests); set the trigger's production URL as the number's <b>A message comes in</b> webhook.",
		),
		{
			displayName: 'Auth Token',
			name: 'authToken',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			description:
				'Twilio Console > Account info > Auth Token. Verifies X-Twilio-Signature on every request.',
		},
	];
}
