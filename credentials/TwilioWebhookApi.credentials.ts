import type { Icon, ICredentialType, INodeProperties } from 'n8n-workflow';

/** What Twilio's webhooks need: the auth token that keys X-Twilio-Signature. */
export class TwilioWebhookApi implements ICredentialType {
	name = 'twilioWebhookApi';

	displayName = 'Twilio Webhook API';

	icon: Icon = { light: 'file:../icons/twilio.svg', dark: 'file:../icons/twilio.dark.svg' };

	documentationUrl = 'https://www.twilio.com/docs/usage/webhooks/webhooks-security';

	properties: INodeProperties[] = [
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
