import type { Icon, ICredentialType, INodeProperties } from 'n8n-workflow';

import { helpNotice } from './help';

/** What an email service's event webhook is verified with: SendGrid's key, Mailgun's signing key, or Postmark's Basic Auth. */
export class EmailEventsWebhookApi implements ICredentialType {
	name = 'emailEventsWebhookApi';

	displayName = 'Email Events Webhook API';

	icon: Icon = { light: 'file:../icons/email.svg', dark: 'file:../icons/email.dark.svg' };

	documentationUrl =
		'https://github.com/convergent-marketing/n8n-nodes-convergent-marketing#credentials-where-each-value-comes-from';

	properties: INodeProperties[] = [
		helpNotice(
			"For the Touchpoint Trigger's Email Service Events. SES: the SNS Topic ARN your configuration set publishes to. SendGrid: Settings > Mail Settings > Event Webhook > Signature Verification public key. Mailgun: Sending > Webhooks > HTTP webhook signing key. Postmark: a user and password you choose and put in the webhook URL.",
		),
		{
			displayName: 'Email Service',
			name: 'service',
			type: 'options',
			options: [
				{ name: 'Amazon SES (via SNS)', value: 'ses' },
				{ name: 'Mailgun', value: 'mailgun' },
				{ name: 'Postmark', value: 'postmark' },
				{ name: 'SendGrid', value: 'sendgrid' },
			],
			default: 'sendgrid',
		},
		{
			displayName: 'SNS Topic ARN',
			name: 'snsTopicArn',
			type: 'string',
			default: '',
			placeholder: 'arn:aws:sns:eu-west-1:123456789012:ses-events',
			description:
				"The topic your SES configuration set (or identity notifications) publishes to. Messages of any other topic are refused. Subscribe this webhook's URL to it (HTTPS): the subscription is confirmed automatically.",
			displayOptions: { show: { service: ['ses'] } },
		},
		{
			displayName: 'Signing Certificate URL Pattern',
			name: 'snsTrustedUrlPattern',
			type: 'string',
			default: '^https://sns\\.[a-z0-9-]+\\.amazonaws\\.com(\\.cn)?/',
			description:
				'Where SNS signing certificates may come from (a regular expression). Change it only for an SNS-compatible service such as LocalStack.',
			displayOptions: { show: { service: ['ses'] } },
		},
		{
			displayName: 'Verification Key',
			name: 'sendgridVerificationKey',
			// A public key: nothing to hide.
			type: 'string',
			default: '',
			description:
				'SendGrid > Settings > Mail Settings > Event Webhook > Signature Verification: the public key shown once you enable it. Verifies X-Twilio-Email-Event-Webhook-Signature.',
			displayOptions: { show: { service: ['sendgrid'] } },
		},
		// The HMAC key that proves a request came from Mailgun: a secret, whatever the field name says to the rule.
		// eslint-disable-next-line @n8n/community-nodes/credential-unnecessary-password
		{
			displayName: 'HTTP Webhook Signing Key',
			name: 'mailgunSigningKey',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			description:
				'Mailgun > Sending > Webhooks > HTTP webhook signing key. Verifies the signature in every event.',
			displayOptions: { show: { service: ['mailgun'] } },
		},
		{
			displayName: 'Basic Auth User',
			name: 'postmarkUser',
			type: 'string',
			default: '',
			description:
				'Postmark signs nothing: put this user and password in the webhook URL you give Postmark (https://user:password@n8n.example.com/webhook/...)',
			displayOptions: { show: { service: ['postmark'] } },
		},
		{
			displayName: 'Basic Auth Password',
			name: 'postmarkPassword',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			displayOptions: { show: { service: ['postmark'] } },
		},
	];
}
