/**
 * Meta's Graph API (WhatsApp, Messenger, Instagram) and Twilio over n8n's httpRequest, with the
 * credential's own authentication header; WhatsApp media uploaded first when a message sends a file.
 */
import { randomBytes } from 'node:crypto';
import type { IDataObject, IExecuteFunctions } from 'n8n-workflow';

import type { BuiltRequest, MediaUploadSpec } from '../../shared/channels/message';
import type { Channel } from '../../shared/contact';
import { withDeadline } from '../../shared/deadline';
import type { ChannelCredentials } from './types';

/**
 * The credential's authentication exactly as its `authenticate` declares it, applied here from the
 * data the node already read: n8n's httpRequestWithAuthentication would read the credential again
 * and evaluate its `={{$credentials...}}` expressions in an expression isolate on every send
 * (measured: the largest single cost of a queue worker running Touchpoint).
 */
function authorization(creds: ChannelCredentials): string {
	switch (creds.type) {
		case 'whatsAppCloudApi':
			return `Bearer ${String(creds.data.accessToken ?? '')}`;
		case 'metaPageApi':
			return `Bearer ${String(creds.data.pageAccessToken ?? '')}`;
		case 'twilioMessagingApi':
			return `Basic ${Buffer.from(`${String(creds.data.accountSid ?? '')}:${String(creds.data.authToken ?? '')}`).toString('base64')}`;
		default:
			throw new Error(`Touchpoint has no HTTP authentication for credential type ${creds.type}`);
	}
}

/** Media uploaded in this process, by credential and file hash: one brochure to 1,000 people is uploaded once. */
export type MediaIds = Map<string, Promise<string>>;

/**
 * The WhatsApp Cloud API's media upload (multipart/form-data: messaging_product, type, file),
 * returning the media id a message refers to. A failed upload is not remembered.
 */
export async function uploadMedia(
	ctx: IExecuteFunctions,
	creds: ChannelCredentials,
	upload: MediaUploadSpec,
	mediaIds: MediaIds,
	deadlineMs: number,
): Promise<string> {
	const cacheKey = `${creds.key}\u0000${upload.sha256}\u0000${upload.mimeType}`;
	let id = mediaIds.get(cacheKey);
	if (!id) {
		const boundary = `----convergent${randomBytes(12).toString('hex')}`;
		const field = (name: string, value: string) =>
			Buffer.from(
				`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`,
			);
		const safeName = upload.filename.replace(/["\r\n\\]/g, '_');
		const body = Buffer.concat([
			field('messaging_product', 'whatsapp'),
			field('type', upload.mimeType),
			Buffer.from(
				`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${safeName}"\r\nContent-Type: ${upload.mimeType}\r\n\r\n`,
			),
			upload.content,
			Buffer.from(`\r\n--${boundary}--\r\n`),
		]);
		const base = String(creds.data.baseUrl ?? '').replace(/\/$/, '');
		id = (async () => {
			const response = (await withDeadline(
				`The media upload of "${safeName}"`,
				deadlineMs,
				(abortSignal) =>
					ctx.helpers.httpRequest({
						method: 'POST',
						url: `${base}${upload.path}`,
						body,
						headers: {
							'content-type': `multipart/form-data; boundary=${boundary}`,
							authorization: authorization(creds),
						},
						json: true,
						timeout: deadlineMs,
						abortSignal,
					}),
			)) as IDataObject | string;
			const parsed = (
				typeof response === 'string' ? JSON.parse(response) : response
			) as IDataObject;
			if (!parsed?.id)
				throw Object.assign(new Error('the upload answered without a media id'), {
					code: 'NO_MEDIA_ID',
				});
			return String(parsed.id);
		})();
		mediaIds.set(cacheKey, id);
		id.catch(() => {
			if (mediaIds.get(cacheKey) === id) mediaIds.delete(cacheKey);
		});
	}
	return await id;
}

/** Sends a Graph API or Twilio request; returns the provider's message id. */
export async function sendHttp(
	ctx: IExecuteFunctions,
	channel: Channel,
	built: Extract<BuiltRequest, { kind: 'http' }>,
	creds: ChannelCredentials,
	mediaId: string | undefined,
	signal: AbortSignal,
	deadlineMs: number,
): Promise<string> {
	const base = String(creds.data.baseUrl ?? '').replace(/\/$/, '');
	let r = built.request;
	if (built.upload && mediaId) {
		// The message names the file by the id Meta gave it on upload.
		const json = r.json as IDataObject;
		r = {
			...r,
			json: {
				...json,
				[built.upload.field]: { ...(json[built.upload.field] as IDataObject), id: mediaId },
			},
		};
	}
	const response = (await ctx.helpers.httpRequest({
		method: r.method,
		url: `${base}${r.path}`,
		timeout: deadlineMs,
		abortSignal: signal,
		...(r.json
			? { body: r.json, json: true, headers: { authorization: authorization(creds) } }
			: {
					body: new URLSearchParams(
						Object.entries(r.form ?? {}).flatMap(([k, v]) =>
							Array.isArray(v)
								? v.map((x): [string, string] => [k, x])
								: [[k, v] as [string, string]],
						),
					).toString(),
					headers: {
						'content-type': 'application/x-www-form-urlencoded',
						authorization: authorization(creds),
					},
					json: true,
				}),
	})) as IDataObject;
	if (channel === 'whatsapp')
		return String(((response.messages as IDataObject[]) ?? [])[0]?.id ?? '');
	if (channel === 'sms') return String(response.sid ?? '');
	return String(response.message_id ?? '');
}
