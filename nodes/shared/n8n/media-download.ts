/**
 * The n8n side of fetching the files people send (the core, with each provider's rules and checks,
 * is inbound/media.ts): the keys from the node's credentials, n8n's HTTP helper, and each file as
 * the item's binary data. The Touchpoint Trigger uses it as messages arrive, Touchpoint Inbox's
 * Replay for the events it emits again.
 */
import type { IBinaryKeyData, ICredentialDataDecryptedObject, IDataObject, IExecuteFunctions, IWebhookFunctions } from 'n8n-workflow';

import type { ConversationEvent } from '../contact';
import { fetchEventMedia, type MediaHttp, type MediaKeys } from '../inbound/media';
import { REQUEST_DEADLINE_MS, withDeadline } from '../deadline';

type Helpers = Pick<IWebhookFunctions['helpers'] & IExecuteFunctions['helpers'], 'httpRequest' | 'prepareBinaryData'>;

/** A credential of the node, or undefined when none is selected. */
export type CredentialsOf = (type: string) => Promise<ICredentialDataDecryptedObject | undefined>;

/** The items of these events with their files as binary data (media_0, media_1, ...); the rest unchanged. */
export async function withDownloadedMedia(helpers: Helpers, events: IDataObject[], credentialsOf: CredentialsOf, maxMb: number): Promise<Array<{ json: IDataObject; binary?: IBinaryKeyData }>> {
	const keys: MediaKeys = {};
	if (events.some((json) => json.channel === 'whatsapp')) {
		const wa = await credentialsOf('whatsAppCloudApi').catch(() => undefined);
		if (wa?.accessToken) keys.whatsapp = { baseUrl: String(wa.baseUrl || 'https://graph.facebook.com'), apiVersion: String(wa.apiVersion || 'v21.0'), accessToken: String(wa.accessToken) };
	}
	if (events.some((json) => json.channel === 'sms')) {
		const twilio = await credentialsOf('twilioWebhookApi').catch(() => undefined);
		if (twilio?.authToken) keys.twilioAuthToken = String(twilio.authToken);
	}
	const http: MediaHttp = {
		json: async (url, headers) => (await withDeadline('The media lookup', 15_000, (abortSignal) => helpers.httpRequest({ method: 'GET', url, headers, json: true, timeout: 15_000, abortSignal }))) as Record<string, unknown>,
		bytes: async (url, headers) => {
			const res = (await withDeadline('The media download', REQUEST_DEADLINE_MS, (abortSignal) => helpers.httpRequest({ method: 'GET', url, headers, encoding: 'arraybuffer', returnFullResponse: true, timeout: REQUEST_DEADLINE_MS, abortSignal }))) as { body: Buffer | ArrayBuffer; headers: IDataObject };
			return { body: Buffer.isBuffer(res.body) ? res.body : Buffer.from(res.body), contentType: res.headers?.['content-type'] ? String(res.headers['content-type']).split(';')[0].trim() : undefined };
		},
	};
	return await Promise.all(events.map(async (json) => {
		if (!Array.isArray(json.media) || !json.media.length) return { json };
		const { media, files } = await fetchEventMedia(json as unknown as ConversationEvent, keys, http, maxMb * 1024 * 1024);
		const binary: IBinaryKeyData = {};
		for (const f of files) binary[f.property] = await helpers.prepareBinaryData(f.body, f.fileName, f.mimeType);
		return { json: { ...json, media: media as unknown as IDataObject[] }, ...(files.length ? { binary } : {}) };
	}));
}
