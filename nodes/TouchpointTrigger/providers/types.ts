/** What every provider module of the trigger is: a webhook that verifies, records, then emits. */
import type { IWebhookFunctions, IWebhookResponseData } from 'n8n-workflow';

import type { webhookCredentials } from '../../shared/n8n/credentials';

export type CredentialsOf = ReturnType<typeof webhookCredentials>;

export interface TriggerProvider {
	webhook(ctx: IWebhookFunctions, credentialsOf: CredentialsOf): Promise<IWebhookResponseData>;
}

/** A plain-text answer to the provider, and no workflow run. */
export function answer(ctx: IWebhookFunctions, status: number, text: string): IWebhookResponseData {
	ctx.getResponseObject().status(status).type('text/plain').send(text);
	return { noWebhookResponse: true };
}
