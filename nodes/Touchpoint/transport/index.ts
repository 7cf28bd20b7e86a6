/**
 * The only code in Touchpoint that talks to providers: Meta and Twilio over n8n's httpRequest
 * with the credential's own authentication header, FCM HTTP v1 through the googleapis client
 * `@googleapis/fcm` (projects.messages.send; its OAuth token obtained over httpRequest from the service
 * account's own token_uri, which google-auth-library's JWT client cannot be pointed at), SMTP through nodemailer. Per-credential rate limit, retries
 * with exponential backoff + jitter honouring Retry-After on 429 / 5xx / network errors;
 * permanent errors are returned, never retried. Secrets never leave this file.
 */
import { createSign, randomBytes } from 'node:crypto';
import { auth as googleAuth, fcm as fcmClient, type fcm_v1 } from '@googleapis/fcm';
import nodemailer, { type Transporter } from 'nodemailer';
import type { IExecuteFunctions, IDataObject } from 'n8n-workflow';

import type { Channel } from '../../shared/contact';
import type { ProviderError } from '../../shared/channels/errors';
import { classifyError } from '../../shared/channels/registry';
import {
	backoffMs,
	KeyClosedError,
	localLimiter,
	tooLongToWait,
	type RateLimiter,
} from '../../shared/channels/limiter';
import { CLOSED_MAX_MS, MAX_PAUSE_MS } from '../../shared/rate';
import type { BuiltRequest, MediaUploadSpec } from '../../shared/channels/message';
import { DeadlineError, REQUEST_DEADLINE_MS, withDeadline } from '../../shared/deadline';

export type SendOutcome =
	| { ok: true; providerMessageId: string; attempts: number }
	| { ok: false; error: ProviderError; attempts: number };

export interface ChannelCredentials {
	type: string;
	data: IDataObject;
	/** Rate-limit key: one bucket per credential and sender. */
	key: string;
	ratePerSecond: number;
	/** A Dry Run stand-in when the node has no credential for the channel (never sent with). */
	placeholder?: boolean;
}

/** Connection errors that prove the request never reached the provider: safe to retry. */
const NEVER_SENT = new Set([
	'ECONNREFUSED',
	'ENOTFOUND',
	'EAI_AGAIN',
	'ENETUNREACH',
	'EHOSTUNREACH',
]);

const tokens = new Map<string, { token: string; expires: number }>();

async function fcmAccessToken(ctx: IExecuteFunctions, sa: Record<string, string>): Promise<string> {
	const cacheKey = `${sa.client_email}|${sa.token_uri}`;
	const hit = tokens.get(cacheKey);
	if (hit && hit.expires > Date.now() + 60_000) return hit.token;
	const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
	const now = Math.floor(Date.now() / 1000);
	const tokenUri = sa.token_uri || 'https://oauth2.googleapis.com/token';
	const unsigned = `${enc({ alg: 'RS256', typ: 'JWT', kid: sa.private_key_id })}.${enc({ iss: sa.client_email, scope: 'https://www.googleapis.com/auth/firebase.messaging', aud: tokenUri, iat: now, exp: now + 3600 })}`;
	const assertion = `${unsigned}.${createSign('RSA-SHA256').update(unsigned).sign(sa.private_key, 'base64url')}`;
	const res = (await ctx.helpers.httpRequest({
		method: 'POST',
		url: tokenUri,
		body: new URLSearchParams({
			grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
			assertion,
		}).toString(),
		headers: { 'content-type': 'application/x-www-form-urlencoded' },
		json: true,
	})) as { access_token: string; expires_in: number };
	tokens.set(cacheKey, { token: res.access_token, expires: Date.now() + res.expires_in * 1000 });
	return res.access_token;
}

const fcmClients = new Map<string, fcm_v1.Resource$Projects$Messages>();

/** FCM HTTP v1's messages resource (one client per base URL and token), authorised with the access token. */
function fcmMessages(baseUrl: string, accessToken: string): fcm_v1.Resource$Projects$Messages {
	const key = `${baseUrl}|${accessToken}`;
	let messages = fcmClients.get(key);
	if (!messages) {
		const oauth = new googleAuth.OAuth2();
		oauth.setCredentials({ access_token: accessToken });
		messages = fcmClient({ version: 'v1', auth: oauth, rootUrl: `${baseUrl.replace(/\/$/, '')}/` })
			.projects.messages;
		// Tokens last an hour: a client per token, the expired ones dropped.
		if (fcmClients.size >= 16) fcmClients.clear();
		fcmClients.set(key, messages);
	}
	return messages;
}

const transports = new Map<string, Transporter>();

function smtp(data: IDataObject): Transporter {
	const key = `${data.host}:${data.port}:${data.user}`;
	let t = transports.get(key);
	if (!t) {
		t = nodemailer.createTransport({
			host: String(data.host),
			port: Number(data.port),
			secure: data.secure === true,
			pool: true,
			maxConnections: Number(data.maxConnections ?? 10),
			...(data.user
				? { auth: { user: String(data.user), pass: String(data.password ?? '') } }
				: {}),
			tls: { rejectUnauthorized: true },
		});
		transports.set(key, t);
	}
	return t;
}

export async function verifySmtp(data: IDataObject): Promise<void> {
	await smtp(data).verify();
}

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
async function uploadMedia(
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

async function attempt(
	ctx: IExecuteFunctions,
	channel: Channel,
	built: BuiltRequest,
	creds: ChannelCredentials,
	mediaId: string | undefined,
	signal: AbortSignal,
	deadlineMs: number,
): Promise<string> {
	if (built.kind === 'http') {
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
	if (built.kind === 'fcm') {
		const sa = JSON.parse(String(creds.data.serviceAccountJson)) as Record<string, string>;
		const token = await fcmAccessToken(ctx, sa);
		const res = await fcmMessages(
			String(creds.data.baseUrl || 'https://fcm.googleapis.com'),
			token,
		).send(
			{
				parent: `projects/${String(sa.project_id)}`,
				requestBody: { message: built.message as fcm_v1.Schema$Message },
			},
			// Retries, pacing and Retry-After are this file's (send()), once for every channel.
			{ retry: false, timeout: deadlineMs, signal },
		);
		return String(res.data.name ?? '');
	}
	const info = await smtp(creds.data).sendMail({ ...built.email });
	return String(info.messageId ?? '');
}

/** What a failed request tells: the provider's status, body and Retry-After, or the connection error's code. */
function statusAndBody(error: unknown): {
	status?: number;
	body?: unknown;
	retryAfter?: number;
	netCode: string;
} {
	const e = error as IDataObject & {
		response?: IDataObject;
		httpCode?: string;
		responseCode?: number;
		cause?: IDataObject;
		code?: string;
	};
	const response = (e.response ?? e.cause?.response) as IDataObject | undefined;
	const headers = (response?.headers ?? {}) as IDataObject;
	const status = Number(
		response?.status ?? response?.statusCode ?? e.httpCode ?? e.responseCode ?? NaN,
	);
	const body = response?.data ?? response?.body ?? e.description;
	const ra = Number(
		typeof (headers as { get?: (n: string) => string }).get === 'function'
			? (headers as unknown as Headers).get('retry-after')
			: headers['retry-after'],
	);
	const netCode = String(e.code ?? e.cause?.code ?? '');
	return {
		status: Number.isFinite(status) ? status : undefined,
		body,
		retryAfter: Number.isFinite(ra) ? ra : undefined,
		netCode,
	};
}

/** Not sent, for a later run: the provider asked for a wait longer than a run waits (MAX_PAUSE_MS). */
function closedOutcome(message: string, attempts: number): SendOutcome {
	return {
		ok: false,
		attempts,
		error: { retryable: false, code: 'RETRY_AFTER', reason: 'RATE_LIMITED', message },
	};
}

/**
 * Waits a failed request's back-off, or answers when it cannot: a Retry-After over MAX_PAUSE_MS
 * (a 429's closes the key for every send of this process) ends the send as not sent instead of
 * sleeping it, so no answer can hold a run, or overflow a timer.
 */
async function waitToRetry(
	limiter: RateLimiter,
	creds: ChannelCredentials,
	status: number | undefined,
	retryAfter: number | undefined,
	n: number,
): Promise<SendOutcome | undefined> {
	const wait = backoffMs(n, retryAfter);
	if (status === 429) await limiter.backOff(creds.key, wait, creds.ratePerSecond);
	if (wait > MAX_PAUSE_MS)
		return closedOutcome(
			status === 429
				? new KeyClosedError(Date.now() + Math.min(wait, CLOSED_MAX_MS), wait).message
				: tooLongToWait(wait),
			n + 1,
		);
	await new Promise((r) => setTimeout(r, wait));
	return undefined;
}

/**
 * One message to its provider: paced by the limiter, retried while it provably never arrived, each
 * request ended at `deadlineMs` (a provider that never answers holds a send that long per attempt;
 * the touch is then unknown, never sent again).
 */
export async function send(
	ctx: IExecuteFunctions,
	channel: Channel,
	built: BuiltRequest,
	creds: ChannelCredentials,
	maxRetries: number,
	limiter: RateLimiter = localLimiter,
	mediaIds: MediaIds = new Map(),
	deadlineMs = REQUEST_DEADLINE_MS,
): Promise<SendOutcome> {
	for (let n = 0; ; n++) {
		// A key the provider closed answers at once; any other failure (the store) goes on up as it was.
		const closed = await limiter.acquire(creds.key, creds.ratePerSecond).then(
			() => undefined,
			(error: unknown) => (error instanceof KeyClosedError ? error : Promise.reject(error)),
		);
		if (closed) return closedOutcome(closed.message, n);
		let providerMessageId: string;
		// A file goes first (WhatsApp media from binary data). Whatever became of a failed upload,
		// the message was not sent: retried while it may pass, then failed (never unknown).
		let mediaId: string | undefined;
		if (built.kind === 'http' && built.upload) {
			try {
				mediaId = await uploadMedia(ctx, creds, built.upload, mediaIds, deadlineMs);
			} catch (error) {
				const { status, body, retryAfter, netCode } = statusAndBody(error);
				const answer = status === undefined ? undefined : classifyError(channel, status, body);
				const retryable = !answer || answer.retryable || answer.reason === 'UNKNOWN_OUTCOME';
				const name = built.upload.filename;
				const classified: ProviderError =
					answer && answer.reason !== 'UNKNOWN_OUTCOME'
						? {
								...answer,
								message: `The media upload of "${name}" was refused, so the message was not sent: ${answer.message}`,
							}
						: {
								retryable,
								code: netCode || (status ? String(status) : 'MEDIA_UPLOAD_FAILED'),
								httpStatus: status,
								message: `The media upload of "${name}" failed (${netCode || status || (error as Error).message}), so the message was not sent.`,
							};
				if (!retryable || n >= maxRetries)
					return { ok: false, error: { ...classified, retryable }, attempts: n + 1 };
				const answered = await waitToRetry(limiter, creds, status, retryAfter, n);
				if (answered) return answered;
				continue;
			}
		}
		try {
			providerMessageId = await withDeadline(`The ${channel} provider`, deadlineMs, (signal) =>
				attempt(ctx, channel, built, creds, mediaId, signal, deadlineMs),
			);
		} catch (error) {
			if (error instanceof DeadlineError) {
				return {
					ok: false,
					attempts: n + 1,
					error: {
						retryable: false,
						code: error.code,
						reason: 'UNKNOWN_OUTCOME',
						message: `${error.message}: the message may have been delivered. Not retried, to avoid a duplicate; check the provider's message log.`,
					},
				};
			}
			const { status, body, retryAfter, netCode } = statusAndBody(error);
			if (status === undefined && !NEVER_SENT.has(netCode)) {
				// The request may have reached the provider (reset, timeout): retrying could send twice.
				return {
					ok: false,
					attempts: n + 1,
					error: {
						retryable: false,
						code: netCode || 'UNKNOWN_OUTCOME',
						reason: 'UNKNOWN_OUTCOME',
						message: `The connection failed after the request may have been delivered (${netCode || 'unknown error'}); not retried to avoid a duplicate. Check the provider's message log.`,
					},
				};
			}
			const classified = classifyError(channel, status, body);
			if (!classified.retryable || n >= maxRetries)
				return { ok: false, error: classified, attempts: n + 1 };
			const answered = await waitToRetry(limiter, creds, status, retryAfter, n);
			if (answered) return answered;
			continue;
		}
		// A success without the provider's message id cannot be tied to delivery statuses and may
		// not be a send at all: reported unknown, never retried.
		if (!providerMessageId) {
			return {
				ok: false,
				attempts: n + 1,
				error: {
					retryable: false,
					code: 'NO_MESSAGE_ID',
					reason: 'UNKNOWN_OUTCOME',
					message:
						"The provider answered success without a message id: the message may or may not have been sent. Not retried, to avoid a duplicate; check the provider's message log.",
				},
			};
		}
		return { ok: true, providerMessageId, attempts: n + 1 };
	}
}
