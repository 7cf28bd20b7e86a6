/** The Test buttons of the SMTP and FCM credentials (the others are tested by their requests). */
import type {
	ICredentialsDecrypted,
	ICredentialTestFunctions,
	INodeCredentialTestResult,
} from 'n8n-workflow';

import { verifySmtp } from './transport';

export async function convergentSmtpApiTest(
	this: ICredentialTestFunctions,
	c: ICredentialsDecrypted,
): Promise<INodeCredentialTestResult> {
	try {
		await verifySmtp(c.data ?? {});
		return { status: 'OK', message: 'The SMTP server accepted the connection' };
	} catch (error) {
		return {
			status: 'Error',
			message: `SMTP: ${(error as Error).message}. Check Host, Port, SSL/TLS, User and Password.`,
		};
	}
}

export async function fcmServiceAccountApiTest(
	this: ICredentialTestFunctions,
	c: ICredentialsDecrypted,
): Promise<INodeCredentialTestResult> {
	try {
		const sa = JSON.parse(String(c.data?.serviceAccountJson ?? ''));
		if (!sa.private_key || !sa.client_email || !sa.project_id) {
			return {
				status: 'Error',
				message: 'Service Account JSON lacks private_key, client_email or project_id',
			};
		}
		return {
			status: 'OK',
			message: `Service account ${sa.client_email} for project ${sa.project_id}`,
		};
	} catch (error) {
		return {
			status: 'Error',
			message: `Service Account JSON is not a Firebase service-account key file: ${(error as Error).message}`,
		};
	}
}
