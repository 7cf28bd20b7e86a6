/**
 * Meta's Graph API (WhatsApp, Messenger, Instagram): one home for its address, the version a
 * credential asks for, and what its error answers mean.
 */
import type { ProviderError } from './errors';
import type { ProviderBody } from './message';

export const GRAPH_URL = 'https://graph.facebook.com';
export const GRAPH_VERSION = 'v21.0';

/** The Graph API root a credential points at (its Base URL, e.g. a test server, and API version). */
export function graphRoot(data: { baseUrl?: unknown; apiVersion?: unknown }): string {
	return `${String(data.baseUrl || GRAPH_URL).replace(/\/$/, '')}/${String(data.apiVersion || GRAPH_VERSION)}`;
}

/** A Graph API error answer: Meta's error codes, then the HTTP status. */
export function classifyGraphError(status: number, b: ProviderBody): ProviderError {
	const e = b?.error ?? {};
	const code = Number(e.code);
	if (code === 131047 || (code === 10 && e.error_subcode === 2018278))
		return {
			retryable: false,
			code: String(code),
			reason: 'WINDOW_CLOSED',
			httpStatus: status,
			message: `Outside the 24 h window (${code}): send an approved template (WhatsApp) or use the HUMAN_AGENT tag`,
		};
	if (code === 130429 || code === 131056 || code === 4 || code === 80007 || status === 429)
		return {
			retryable: true,
			code: String(code || 429),
			reason: 'RATE_LIMITED',
			httpStatus: status,
			message: `Rate limit (${code || 429}): retried with backoff`,
		};
	if (code === 190 || status === 401)
		return {
			retryable: false,
			code: String(code || 401),
			reason: 'AUTH',
			httpStatus: status,
			message: 'The access token is invalid or expired: update the credential',
		};
	// Wrong phone number ID / page (object does not exist), or a token without the permission.
	if (
		(code === 100 && e.error_subcode === 33) ||
		code === 200 ||
		code === 3 ||
		(code === 10 && e.error_subcode !== 2018278) ||
		status === 403
	) {
		return {
			retryable: false,
			code: String(code || status),
			reason: 'CONFIG',
			httpStatus: status,
			message:
				`The sender in the credential cannot send (${code || status}): check the phone number ID or page and the token's permissions. ${e.message ?? ''}`.trim(),
		};
	}
	return graphOutcome(status, code, e.error_data?.details ?? e.message ?? '');
}

/** The answers about this message (its template, its recipient, the person's choice). */
function graphOutcome(status: number, code: number, detail: string): ProviderError {
	if (code === 132000 || code === 132001 || code === 132012)
		return {
			retryable: false,
			code: String(code),
			reason: 'TEMPLATE',
			httpStatus: status,
			message: `Template problem (${code}): ${detail}`,
		};
	if (code === 131026 || code === 131030)
		return {
			retryable: false,
			code: String(code),
			reason: 'INVALID_ADDRESS',
			httpStatus: status,
			message: `The recipient cannot receive this message (${code})`,
		};
	if (code === 131050)
		return {
			retryable: false,
			code: '131050',
			reason: 'UNSUBSCRIBED',
			httpStatus: status,
			message:
				'The person stopped marketing messages from your business on WhatsApp (131050): their WhatsApp marketing consent is withdrawn',
		};
	if (code === 131049)
		return {
			retryable: false,
			code: '131049',
			reason: 'REJECTED',
			httpStatus: status,
			message:
				'Meta limited marketing messages to this user (131049): try later or another channel',
		};
	if (status >= 500)
		return {
			retryable: true,
			code: String(code || status),
			httpStatus: status,
			message: `Provider error ${status}: retried`,
		};
	return {
		retryable: false,
		code: String(code || status),
		reason: 'REJECTED',
		httpStatus: status,
		message: `Rejected (${code || status}): ${detail}`,
	};
}
