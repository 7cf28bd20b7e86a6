/**
 * The Convergent store as a node gets it: from the optional "Convergent Store" credential, else
 * the embedded default. Unreachable store -> an error (fail closed), never a silent default.
 */
import type {
	ICredentialDataDecryptedObject,
	ICredentialsDecrypted,
	ICredentialTestFunctions,
	IExecuteFunctions,
	INodeCredentialTestResult,
	INodeCredentialDescription,
	IWebhookFunctions,
} from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { keepSendDetailMs, openStore, storeConfigFromCredential } from '../store';
import type { Store } from '../store/types';

export const STORE_CREDENTIAL = 'convergentStoreApi';

/** Spread into a node's `credentials`: optional, tested by `convergentStoreApiTest`. */
export const storeCredentialDescription: INodeCredentialDescription = {
	name: STORE_CREDENTIAL,
	required: false,
	testedBy: 'convergentStoreApiTest',
};

export async function getStore(
	ctx: IExecuteFunctions | IWebhookFunctions,
	/** How to read the credential (the webhook path reads it through webhookCredentials). */
	credentials: (type: string) => Promise<ICredentialDataDecryptedObject> = async (type) =>
		(await ctx.getCredentials(type)) as ICredentialDataDecryptedObject,
): Promise<Store> {
	let data: ICredentialDataDecryptedObject | undefined;
	if (ctx.getNode().credentials?.[STORE_CREDENTIAL]) {
		data = await credentials(STORE_CREDENTIAL);
	}
	let store: Store;
	try {
		store = await openStore(storeConfigFromCredential(data));
	} catch (error) {
		throw new NodeOperationError(ctx.getNode(), (error as Error).message, {
			description:
				'Nothing was checked or sent: the consent policy fails closed when its store cannot be reached.',
		});
	}
	// Never inside a webhook's answer: the provider waits for it and retries what takes too long.
	if (!isWebhook(ctx)) await keepSendDetail(ctx, store, keepSendDetailMs(data));
	return store;
}

function isWebhook(ctx: IExecuteFunctions | IWebhookFunctions): ctx is IWebhookFunctions {
	return typeof (ctx as IWebhookFunctions).getWebhookName === 'function';
}

const RETENTION_EVERY_MS = 86_400_000;
const retentionRunAt = new WeakMap<Store, number>();

/**
 * Retention, at most once a day per store and process, on the first node run that opens the store: one
 * batch of the oldest expired sends (a day's expiry; a backlog clears at that pace, a batch a day). It never
 * fails the run that carries it: the sends stay as they are until the next day's try, and the log says why.
 */
async function keepSendDetail(
	ctx: IExecuteFunctions | IWebhookFunctions,
	store: Store,
	keepMs: number | undefined,
): Promise<void> {
	const now = Date.now();
	if (keepMs === undefined || now - (retentionRunAt.get(store) ?? 0) < RETENTION_EVERY_MS) return;
	retentionRunAt.set(store, now);
	try {
		await store.applyRetention({ keepMs, now });
	} catch (error) {
		ctx.logger?.warn(
			`Convergent store: rolling up sends older than the kept detail failed (${(error as Error).message}); tried again tomorrow`,
		);
	}
}

/** `methods.credentialTest.convergentStoreApiTest` of every node that uses the store. */
export async function convergentStoreApiTest(
	this: ICredentialTestFunctions,
	credential: ICredentialsDecrypted,
): Promise<INodeCredentialTestResult> {
	const config = storeConfigFromCredential(credential.data);
	try {
		const store = await openStore(config);
		return {
			status: 'OK',
			message: `Connected: ${store.dialect === 'postgres' ? 'PostgreSQL' : 'embedded SQLite'} store is ready`,
		};
	} catch (error) {
		return { status: 'Error', message: (error as Error).message };
	}
}
