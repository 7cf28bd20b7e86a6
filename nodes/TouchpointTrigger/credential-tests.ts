/** The Test buttons of the Meta webhook and email-events credentials. */
import { createPublicKey } from 'node:crypto';
import type {
	ICredentialsDecrypted,
	ICredentialTestFunctions,
	INodeCredentialTestResult,
} from 'n8n-workflow';

const HEX32 = /^[0-9a-f]{32}$/i;

export async function metaWebhookApiTest(
	this: ICredentialTestFunctions,
	c: ICredentialsDecrypted,
): Promise<INodeCredentialTestResult> {
	const secret = String(c.data?.appSecret ?? '');
	if (!HEX32.test(secret))
		return {
			status: 'Error',
			message: 'App Secret should be the 32 hexadecimal characters from App settings > Basic',
		};
	if (!String(c.data?.verifyToken ?? ''))
		return {
			status: 'Error',
			message: 'Verify Token is empty: choose one and enter it in the webhook subscription too',
		};
	return { status: 'OK', message: 'App Secret and Verify Token are set' };
}

export async function emailEventsWebhookApiTest(
	this: ICredentialTestFunctions,
	c: ICredentialsDecrypted,
): Promise<INodeCredentialTestResult> {
	const d = c.data ?? {};
	if (d.service === 'ses')
		return /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[\w-]+$/.test(String(d.snsTopicArn ?? ''))
			? { status: 'OK', message: 'Topic ARN is set' }
			: {
					status: 'Error',
					message: 'SNS Topic ARN should look like arn:aws:sns:eu-west-1:123456789012:ses-events',
				};
	if (d.service === 'mailgun')
		return String(d.mailgunSigningKey ?? '')
			? { status: 'OK', message: 'Signing key is set' }
			: {
					status: 'Error',
					message: 'HTTP Webhook Signing Key is empty: copy it from Mailgun > Sending > Webhooks',
				};
	if (d.service === 'postmark')
		return String(d.postmarkUser ?? '') && String(d.postmarkPassword ?? '').length >= 12
			? { status: 'OK', message: 'Basic Auth user and password are set' }
			: {
					status: 'Error',
					message:
						'Set a Basic Auth user and a password of 12 characters or more, and put them in the webhook URL you give Postmark',
				};
	return (
		sendGridKeyProblem(String(d.sendgridVerificationKey ?? '')) ?? {
			status: 'OK',
			message: 'Verification key is a valid public key',
		}
	);
}

function sendGridKeyProblem(key: string): INodeCredentialTestResult | undefined {
	try {
		createPublicKey(
			key.includes('BEGIN')
				? key
				: `-----BEGIN PUBLIC KEY-----\n${key.trim()}\n-----END PUBLIC KEY-----`,
		);
		return undefined;
	} catch {
		return {
			status: 'Error',
			message:
				'Verification Key is not the public key SendGrid shows under Event Webhook > Signature Verification',
		};
	}
}

/**
 * Whether the run marks this trigger's events done: a Touchpoint Inbox node (Mark Done, the
 * default operation, whose value a saved workflow may leave out) downstream and not disabled.
 */
