/**
 * Credentials on a trigger's webhook path, read at most once per CREDENTIAL_TTL_MS per node and
 * credential in a process. In n8n 2.x every getCredentials in the webhook phase is a database read,
 * a decryption and, with n8n's default expression engine settings, a new expression isolate set up
 * and torn down (measured: ~38 ms of CPU each on a 2-core machine; a Meta delivery needs two, the
 * webhook credential and the store's). An edited credential applies within the TTL.
 */
import type {
	ICredentialDataDecryptedObject,
	ICredentialsDecrypted,
	ICredentialTestFunctions,
	INodeCredentialTestResult,
	IWebhookFunctions,
} from 'n8n-workflow';

export const CREDENTIAL_TTL_MS = 5_000;
const MAX_ENTRIES = 256;

const cache = new Map<string, { at: number; data: Promise<ICredentialDataDecryptedObject> }>();

export function webhookCredentials(
	ctx: IWebhookFunctions,
): (type: string) => Promise<ICredentialDataDecryptedObject> {
	return async (type) => {
		const ref = ctx.getNode().credentials?.[type];
		if (!ref?.id) return await ctx.getCredentials(type);
		const key = `${ctx.getWorkflow().id ?? ''}\u0000${ctx.getNode().id}\u0000${type}\u0000${ref.id}`;
		const now = Date.now();
		const hit = cache.get(key);
		if (hit && now - hit.at < CREDENTIAL_TTL_MS) return await hit.data;
		const entry = { at: now, data: ctx.getCredentials(type) };
		if (cache.size >= MAX_ENTRIES) cache.delete(cache.keys().next().value as string);
		cache.set(key, entry);
		try {
			return await entry.data;
		} catch (error) {
			// A failed read is not remembered: the next request asks n8n again.
			if (cache.get(key) === entry) cache.delete(key);
			// n8n's own error from getCredentials, passed on as n8n raised it.
			// eslint-disable-next-line @n8n/community-nodes/require-node-api-error
			throw error;
		}
	};
}

/** The Twilio Webhook API credential's test (Touchpoint Trigger, and Touchpoint Inbox's Replay for MMS files). */
export async function twilioWebhookApiTest(
	this: ICredentialTestFunctions,
	c: ICredentialsDecrypted,
): Promise<INodeCredentialTestResult> {
	return /^[0-9a-f]{32}$/i.test(String(c.data?.authToken ?? ''))
		? { status: 'OK', message: 'Auth Token is set' }
		: {
				status: 'Error',
				message: 'Auth Token should be the 32 hexadecimal characters from the Twilio Console',
			};
}
