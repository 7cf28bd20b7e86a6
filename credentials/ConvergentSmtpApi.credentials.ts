import type { Icon, ICredentialType, INodeProperties } from 'n8n-workflow';

/** SMTP for Touchpoint's email channel (tested by the Touchpoint node with an SMTP handshake). */
export class ConvergentSmtpApi implements ICredentialType {
	name = 'convergentSmtpApi';

	displayName = 'Convergent SMTP API';

	icon: Icon = { light: 'file:../icons/email.svg', dark: 'file:../icons/email.dark.svg' };

	documentationUrl = 'https://nodemailer.com/smtp/';

	properties: INodeProperties[] = [
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
