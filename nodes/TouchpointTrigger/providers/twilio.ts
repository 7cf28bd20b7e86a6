/**
 * Twilio SMS: each POST verified by X-Twilio-Signature over the URL Twilio called (the Public URL
 * behind a proxy) and the form as posted; only Twilio's own form shapes are taken.
 */
import type { IDataObject, IWebhookFunctions } from 'n8n-workflow';

import { normalizeTwilio, twilioFormProblem } from '../../shared/inbound/normalize';
import { verifyTwilioSignature } from '../../shared/inbound/signatures';
import { keywordsOf, receive } from './conversation';
import { answer, type TriggerProvider } from './types';

export const twilioProvider: TriggerProvider = {
	async webhook(ctx, credentialsOf) {
		const options = ctx.getNodeParameter('options', {}) as IDataObject;
		const match = keywordsOf(options);
		const credentials = await credentialsOf('twilioWebhookApi');
		// As posted (a repeated name keeps every value, for the signature), and one value a name after it.
		const posted = Object.fromEntries(
			Object.entries(ctx.getBodyData() as IDataObject).map(([k, v]) => [
				k,
				Array.isArray(v) ? v.map(String) : String(v),
			]),
		);
		const form = Object.fromEntries(
			Object.entries(posted).map(([k, v]) => [k, Array.isArray(v) ? String(v[0] ?? '') : v]),
		);
		if (
			!verifyTwilioSignature(
				String(credentials.authToken),
				signedUrl(ctx, options),
				posted,
				ctx.getHeaderData()['x-twilio-signature'],
			)
		)
			return answer(ctx, 401, 'Invalid signature');
		// The signature covers names and values run together: a request re-partitioned into other
		// names and values can carry the same signature, so only Twilio's own shapes are accepted.
		const problem = twilioFormProblem(form);
		if (problem) return answer(ctx, 400, problem);
		return await receive(ctx, 'twilio', normalizeTwilio(form, match), options, credentialsOf);
	},
};

/**
 * Twilio signs the URL it called, query string included: keep the request's query when the
 * Public URL (the proxy's address) has none of its own.
 */
function signedUrl(ctx: IWebhookFunctions, options: IDataObject): string {
	const req = ctx.getRequestObject();
	const query = req.url?.includes('?') ? req.url.slice(req.url.indexOf('?')) : '';
	const publicUrl = String(options.publicUrl || '').trim();
	if (!publicUrl) return `${ctx.getNodeWebhookUrl('default')}${query}`;
	return publicUrl.includes('?') ? publicUrl : `${publicUrl}${query}`;
}
