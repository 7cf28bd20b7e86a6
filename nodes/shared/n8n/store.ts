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

import { openStore, storeConfigFromCredential } from '../store';
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
	try {
		return await openStore(storeConfigFromCredential(data));
	} catch (error) {
		throw new NodeOperationError(ctx.getNode(), (error as Error).message, {
			description:
				'Nothing was checked or sent: the consent policy fails closed when its store cannot be reached.',
		});
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
