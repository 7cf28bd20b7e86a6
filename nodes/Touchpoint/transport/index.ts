/**
 * The only code in Touchpoint that talks to providers (http.ts: Meta and Twilio; fcm.ts: FCM;
 * smtp.ts: email; templates.ts: WhatsApp templates). Here, once for every channel: the
 * per-credential rate limit, retries with exponential backoff + jitter honouring Retry-After on
 * 429 / 5xx / network errors, a deadline on every request; permanent errors are returned, never
 * retried. Secrets never leave the transport.
 */
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
import type { ChannelCredentials, SendOutcome } from './types';
import { DeadlineError, REQUEST_DEADLINE_MS, withDeadline } from '../../shared/deadline';
import { sendFcm } from './fcm';
import { sendHttp, uploadMedia, type MediaIds } from './http';
import { sendEmail } from './smtp';

export { verifySmtp } from './smtp';
export type { MediaIds } from './http';

export type { ChannelCredentials, SendOutcome } from './types';

/** Connection errors that prove the request never reached the provider: safe to retry. */
const NEVER_SENT = new Set([
	'ECONNREFUSED',
	'ENOTFOUND',
	'EAI_AGAIN',
	'ENETUNREACH',
	'EHOSTUNREACH',
]);

async function attempt(
	ctx: IExecuteFunctions,
	channel: Channel,
	built: BuiltRequest,
	creds: ChannelCredentials,
	mediaId: string | undefined,
	signal: AbortSignal,
	deadlineMs: number,
): Promise<string> {
	if (built.kind === 'http')
		return await sendHttp(ctx, channel, built, creds, mediaId, signal, deadlineMs);
	if (built.kind === 'fcm') return await sendFcm(ctx, creds, built.message, signal, deadlineMs);
	return await sendEmail(creds.data, built.email);
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

/** A step of a send: its outcome, or a retry after the back-off (undefined: go on). */
type Step = { outcome: SendOutcome } | { retry: true } | undefined;

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
		// A file goes first (WhatsApp media from binary data).
		let mediaId: string | undefined;
		if (built.kind === 'http' && built.upload) {
			const uploaded = await upload(ctx, channel, built.upload, creds, mediaIds, deadlineMs);
			if ('error' in uploaded) {
				const step = await afterFailure(uploaded.error, limiter, creds, maxRetries, n, uploaded);
				if (step && 'outcome' in step) return step.outcome;
				continue;
			}
			mediaId = uploaded.mediaId;
		}
		let providerMessageId: string;
		try {
			providerMessageId = await withDeadline(`The ${channel} provider`, deadlineMs, (signal) =>
				attempt(ctx, channel, built, creds, mediaId, signal, deadlineMs),
			);
		} catch (error) {
			const step = await requestFailed(error, channel, limiter, creds, maxRetries, n);
			if (step && 'outcome' in step) return step.outcome;
			continue;
		}
		return sentOutcome(providerMessageId, n);
	}
}

/**
 * A success without the provider's message id cannot be tied to delivery statuses and may not be
 * a send at all: reported unknown, never retried.
 */
function sentOutcome(providerMessageId: string, n: number): SendOutcome {
	if (providerMessageId) return { ok: true, providerMessageId, attempts: n + 1 };
	return unknownOutcome(
		'NO_MESSAGE_ID',
		"The provider answered success without a message id: the message may or may not have been sent. Not retried, to avoid a duplicate; check the provider's message log.",
		n,
	);
}

/**
 * Whatever became of a failed upload, the message was not sent: retried while it may pass, then
 * failed (never unknown).
 */
async function upload(
	ctx: IExecuteFunctions,
	channel: Channel,
	spec: MediaUploadSpec,
	creds: ChannelCredentials,
	mediaIds: MediaIds,
	deadlineMs: number,
): Promise<{ mediaId: string } | { error: ProviderError; status?: number; retryAfter?: number }> {
	try {
		return { mediaId: await uploadMedia(ctx, creds, spec, mediaIds, deadlineMs) };
	} catch (error) {
		const { status, body, retryAfter, netCode } = statusAndBody(error);
		const answer = status === undefined ? undefined : classifyError(channel, status, body);
		const retryable = !answer || answer.retryable || answer.reason === 'UNKNOWN_OUTCOME';
		const name = spec.filename;
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
		return { error: { ...classified, retryable }, status, retryAfter };
	}
}

/** A failed request: unknown when it may have arrived, else retried while it may pass. */
async function requestFailed(
	error: unknown,
	channel: Channel,
	limiter: RateLimiter,
	creds: ChannelCredentials,
	maxRetries: number,
	n: number,
): Promise<Step> {
	if (error instanceof DeadlineError) {
		return {
			outcome: unknownOutcome(
				error.code,
				`${error.message}: the message may have been delivered. Not retried, to avoid a duplicate; check the provider's message log.`,
				n,
			),
		};
	}
	const { status, body, retryAfter, netCode } = statusAndBody(error);
	if (status === undefined && !NEVER_SENT.has(netCode)) {
		// The request may have reached the provider (reset, timeout): retrying could send twice.
		return {
			outcome: unknownOutcome(
				netCode || 'UNKNOWN_OUTCOME',
				`The connection failed after the request may have been delivered (${netCode || 'unknown error'}); not retried to avoid a duplicate. Check the provider's message log.`,
				n,
			),
		};
	}
	const classified = classifyError(channel, status, body);
	return await afterFailure(classified, limiter, creds, maxRetries, n, { status, retryAfter });
}

/** Not retryable or out of retries: the outcome; else the back-off, then a retry. */
async function afterFailure(
	error: ProviderError,
	limiter: RateLimiter,
	creds: ChannelCredentials,
	maxRetries: number,
	n: number,
	answer: { status?: number; retryAfter?: number },
): Promise<Step> {
	if (!error.retryable || n >= maxRetries)
		return { outcome: { ok: false, error, attempts: n + 1 } };
	const answered = await waitToRetry(limiter, creds, answer.status, answer.retryAfter, n);
	return answered ? { outcome: answered } : { retry: true };
}

/** The message may have reached the person: never retried, never sent again (the touch is unknown). */
function unknownOutcome(code: string, message: string, n: number): SendOutcome {
	return {
		ok: false,
		attempts: n + 1,
		error: { retryable: false, code, reason: 'UNKNOWN_OUTCOME', message },
	};
}
