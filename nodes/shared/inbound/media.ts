/**
 * Files people send (WhatsApp media, Messenger / Instagram attachments, MMS), fetched so a
 * workflow gets them as binary data: where each provider keeps them and with which key, checked
 * (WhatsApp's SHA-256, a size limit) before they are handed on. Pure of n8n: the trigger passes
 * its HTTP client in. A file that cannot be fetched is reported on its media entry; the message
 * itself is never lost for it.
 */
import { createHash } from 'node:crypto';

import type { ConversationEvent, MediaRef } from '../contact';

export interface MediaHttp {
	/** GET returning the parsed JSON body. */
	json(url: string, headers: Record<string, string>): Promise<Record<string, unknown>>;
	/** GET returning the bytes and the content type. */
	bytes(
		url: string,
		headers: Record<string, string>,
	): Promise<{ body: Buffer; contentType?: string }>;
}

export interface MediaKeys {
	/** WhatsApp Cloud API: media ids are resolved to a URL on the Graph API, both with the token. */
	whatsapp?: { baseUrl: string; apiVersion: string; accessToken: string };
	/** Twilio: MMS media URLs ask for the account's basic auth (SID from the URL, the auth token). */
	twilioAuthToken?: string;
}

export interface FetchedMedia {
	/** The item's binary property: media_0, media_1, ... in the order of the event's media. */
	property: string;
	body: Buffer;
	mimeType: string;
	fileName: string;
}

const EXTENSIONS: Record<string, string> = {
	'image/jpeg': 'jpg',
	'image/png': 'png',
	'image/webp': 'webp',
	'image/gif': 'gif',
	'audio/ogg': 'ogg',
	'audio/mpeg': 'mp3',
	'audio/mp4': 'm4a',
	'audio/aac': 'aac',
	'audio/amr': 'amr',
	'video/mp4': 'mp4',
	'video/3gpp': '3gp',
	'application/pdf': 'pdf',
	'text/plain': 'txt',
	'text/vcard': 'vcf',
};

function fileName(e: ConversationEvent, k: number, mimeType: string, given?: string): string {
	if (given) return given.replace(/[/\\\r\n"]/g, '_');
	const ext = EXTENSIONS[mimeType.split(';')[0].trim().toLowerCase()] ?? 'bin';
	return `${e.channel}-${e.providerMessageId.replace(/[^\w.-]+/g, '_').slice(-40)}-${k}.${ext}`;
}

async function fetchOne(
	e: ConversationEvent,
	m: MediaRef,
	keys: MediaKeys,
	http: MediaHttp,
	maxBytes: number,
): Promise<{ body: Buffer; mimeType: string; sha256: string[] }> {
	const tooBig = (n: number) =>
		new Error(
			`The file is ${(n / 1048576).toFixed(1)} MB; Max Media Size is ${(maxBytes / 1048576).toFixed(0)} MB`,
		);
	if (e.channel === 'whatsapp') {
		if (!m.id) throw new Error('The WhatsApp message names no media id');
		if (!keys.whatsapp)
			throw new Error(
				'Select a WhatsApp Cloud API credential on the trigger to download WhatsApp media',
			);
		const auth = { authorization: `Bearer ${keys.whatsapp.accessToken}` };
		const base = keys.whatsapp.baseUrl.replace(/\/$/, '');
		const info = await http.json(
			`${base}/${keys.whatsapp.apiVersion}/${encodeURIComponent(m.id)}`,
			auth,
		);
		if (typeof info.url !== 'string') throw new Error(`Meta answered no URL for media ${m.id}`);
		if (Number(info.file_size) > maxBytes) throw tooBig(Number(info.file_size));
		const got = await http.bytes(info.url, auth);
		// The hash in the webhook and the one the media endpoint gives must both hold.
		return {
			body: got.body,
			mimeType: String(
				info.mime_type ?? m.mimeType ?? got.contentType ?? 'application/octet-stream',
			),
			sha256: [info.sha256, m.sha256].filter((h): h is string => typeof h === 'string' && h !== ''),
		};
	}
	if (!m.url) throw new Error('The message names no media URL');
	if (!/^https?:\/\//i.test(m.url))
		throw new Error(`The media URL "${m.url.slice(0, 80)}" is not http(s)`);
	if (e.channel === 'sms') {
		// Twilio's media URL: /2010-04-01/Accounts/{AccountSid}/Messages/{MessageSid}/Media/{MediaSid}
		const sid = /\/Accounts\/(AC[0-9a-fA-F]{32})\//.exec(m.url)?.[1];
		const headers: Record<string, string> =
			sid && keys.twilioAuthToken
				? {
						authorization: `Basic ${Buffer.from(`${sid}:${keys.twilioAuthToken}`).toString('base64')}`,
					}
				: {};
		const got = await http.bytes(m.url, headers);
		return {
			body: got.body,
			mimeType: m.mimeType ?? got.contentType ?? 'application/octet-stream',
			sha256: [],
		};
	}
	// Messenger and Instagram attachments are on Meta's CDN behind a signed URL: no key is sent.
	const got = await http.bytes(m.url, {});
	return {
		body: got.body,
		mimeType: got.contentType ?? m.mimeType ?? 'application/octet-stream',
		sha256: [],
	};
}

/**
 * Every file of the event, fetched. The returned media entries say, each, which binary property
 * holds the file, or why it is not there (`downloadError`).
 */
export async function fetchEventMedia(
	e: ConversationEvent,
	keys: MediaKeys,
	http: MediaHttp,
	maxBytes: number,
): Promise<{
	media: Array<MediaRef & { binaryProperty?: string; downloadError?: string }>;
	files: FetchedMedia[];
}> {
	const files: FetchedMedia[] = [];
	const media = await Promise.all(
		(e.media ?? []).map(async (m, k) => {
			// A shared location or a link preview (Messenger's "fallback": a link to anywhere) is not a file.
			if (m.type === 'location' || m.type === 'fallback') return m;
			try {
				const got = await fetchOne(e, m, keys, http, maxBytes);
				if (got.body.length > maxBytes)
					throw new Error(
						`The file is ${(got.body.length / 1048576).toFixed(1)} MB; Max Media Size is ${(maxBytes / 1048576).toFixed(0)} MB`,
					);
				// Meta writes the hash in base64 in webhooks; hex is taken too.
				const digest = got.sha256.length
					? createHash('sha256').update(got.body).digest()
					: Buffer.alloc(0);
				if (
					got.sha256.some(
						(h) => h.toLowerCase() !== digest.toString('hex') && h !== digest.toString('base64'),
					)
				) {
					throw new Error(
						'The downloaded file does not match the SHA-256 WhatsApp gave for it: not kept',
					);
				}
				const property = `media_${k}`;
				files.push({
					property,
					body: got.body,
					mimeType: got.mimeType,
					fileName: fileName(e, k, got.mimeType, m.filename),
				});
				return { ...m, mimeType: got.mimeType, binaryProperty: property };
			} catch (error) {
				const status =
					(error as { httpCode?: string; response?: { status?: number } }).httpCode ??
					(error as { response?: { status?: number } }).response?.status;
				return {
					...m,
					downloadError: `${(error as Error).message}${status ? ` (HTTP ${status})` : ''}`.slice(
						0,
						300,
					),
				};
			}
		}),
	);
	files.sort((a, b) => a.property.localeCompare(b.property, 'en', { numeric: true }));
	return { media, files };
}
