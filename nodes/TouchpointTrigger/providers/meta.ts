/**
 * Meta (WhatsApp, Messenger, Instagram): the subscription handshake (GET, the verify token), then
 * each POST verified by its X-Hub-Signature-256 over the raw body before it is read.
 */
import type { IDataObject, IWebhookFunctions, IWebhookResponseData } from 'n8n-workflow';

import { normalizeMeta } from '../../shared/inbound/normalize';
import { safeEqual, verifyMetaSignature } from '../../shared/inbound/signatures';
import { keywordsOf, receive, rawBodyOf } from './conversation';
import { answer, type CredentialsOf, type TriggerProvider } from './types';

export const metaProvider: TriggerProvider = {
	async webhook(ctx, credentialsOf) {
		const options = ctx.getNodeParameter('options', {}) as IDataObject;
		const match = keywordsOf(options);
		if (ctx.getWebhookName() === 'setup') return await handshake(ctx, credentialsOf);
		const credentials = await credentialsOf('metaWebhookApi');
		if (
			!verifyMetaSignature(
				String(credentials.appSecret),
				rawBodyOf(ctx),
				ctx.getHeaderData()['x-hub-signature-256'],
			)
		)
			return answer(ctx, 401, 'Invalid signature');
		const events = normalizeMeta(ctx.getBodyData() as IDataObject, match);
		return await receive(ctx, 'meta', events, options, credentialsOf);
	},
};

/** Meta's subscription check: the challenge is echoed only for the credential's verify token. */
async function handshake(
	ctx: IWebhookFunctions,
	credentialsOf: CredentialsOf,
): Promise<IWebhookResponseData> {
	const query = ctx.getQueryData() as IDataObject;
	const credentials = await credentialsOf('metaWebhookApi');
	const token = query['hub.verify_token'];
	if (
		query['hub.mode'] === 'subscribe' &&
		typeof token === 'string' &&
		token !== '' &&
		safeEqual(token, String(credentials.verifyToken ?? ''))
	)
		return answer(ctx, 200, String(query['hub.challenge'] ?? ''));
	return answer(ctx, 403, 'Verify token does not match');
}
