import type { Icon, ICredentialType, INodeProperties } from 'n8n-workflow';

import { helpNotice } from './help';

/** SMTP for Touchpoint's email channel (tested by the Touchpoint node with an SMTP handshake). */
export class ConvergentSmtpApi implements ICredentialType {
	name = 'convergentSmtpApi';

	displayName = 'Convergent SMTP API';

	icon: Icon = { light: 'file:../icons/email.svg', dark: 'file:../icons/email.dark.svg' };

	documentationUrl =
		'https://github.com/convergent-marketing/n8n-nodes-convergent-marketing#credentials-where-each-value-comes-from';

	properties: INodeProperties[] = [
		helpNotice(
			"For this package's Touchpoint (email), not n8n's Send Email node. Your email service's SMTP host, port (465 with SSL/TLS, or 587), user and password: SendGrid: user <b>apikey</b> and an API key; Amazon SES: SMTP credentials from the SES console; Mailgun and Postmark: their SMTP users. The From Email must be one your service lets you send from.",
		),
		{ displayName: 'Host', name: 'host', type: 'string', default: '' },
		{ displayName: 'Port', name: 'port', type: 'number', default: 587 },
		{
			displayName: 'SSL/TLS',
			name: 'secure',
			type: 'boolean',
			default: false,
			description: 'Whether to use TLS from the start (port 465); otherwise STARTTLS when offered',
		},
		{ displayName: 'User', name: 'user', type: 'string', default: '' },
		{
			displayName: 'Password',
			name: 'password',
			type: 'string',
			typeOptions: { password: true },
			default: '',
		},
		{
			displayName: 'From Email',
			name: 'fromEmail',
			type: 'string',
			default: '',
			placeholder: 'News <news@shop.example>',
		},
		{ displayName: 'Max Connections', name: 'maxConnections', type: 'number', default: 10 },
	];
}
