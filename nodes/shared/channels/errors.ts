/**
 * Provider errors -> what to do: retry (rate limits, 5xx, network) or not, a stable code, a
 * reason the "best available" fallback understands, and a sentence for the marketer.
 */
import type { Channel } from '../contact';

export interface ProviderError {
	retryable: boolean;
	code: string;
	/** WINDOW_CLOSED and DEAD_TOKEN make "best available" try the next channel. */
	/** AUTH and CONFIG (a broken credential or sender) fail every item: Touchpoint fails the node. */
	reason?:
		| 'WINDOW_CLOSED'
		| 'DEAD_TOKEN'
		| 'RATE_LIMITED'
		| 'INVALID_ADDRESS'
		| 'UNSUBSCRIBED'
		| 'AUTH'
		| 'CONFIG'
		| 'TEMPLATE'
		| 'REJECTED'
		| 'UNKNOWN_OUTCOME';
	message: string;
	httpStatus?: number;
}

// Provider JSON, navigated by the shapes each provider documents; every value read is checked where it is used.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type J = Record<string, any>;

export function classifyError(
	channel: Channel,
	status: number | undefined,
	body: unknown,
): ProviderError {
	const b = (typeof body === 'string' ? safeJson(body) : body) as J | undefined;
	if (status === undefined)
		return {
			retryable: true,
			code: 'NETWORK',
			message: 'The provider could not be reached (network error)',
		};
	// A gateway error comes after the request reached the provider's edge: the message may have
	// been accepted behind it. Retrying could send it twice, so the outcome is reported unknown.
	if ((status === 502 || status === 504) && channel !== 'email') {
		return {
			retryable: false,
			code: String(status),
			reason: 'UNKNOWN_OUTCOME',
			httpStatus: status,
			message: `The provider answered ${status} (gateway error) after the request reached it: the message may have been sent. Not retried, to avoid a duplicate; check the provider's message log.`,
		};
	}
	if (channel === 'whatsapp' || channel === 'messenger' || channel === 'instagram') {
		const e = b?.error ?? {};
		const code = Number(e.code);
		const detail = e.error_data?.details ?? e.message ?? '';
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
	if (channel === 'sms') {
		const code = Number(b?.code);
		if (status === 429 || code === 20429)
			return {
				retryable: true,
				code: String(code || 429),
				reason: 'RATE_LIMITED',
				httpStatus: status,
				message: 'Twilio rate limit: retried with backoff',
			};
		if (code === 21211 || code === 21614)
			return {
				retryable: false,
				code: String(code),
				reason: 'INVALID_ADDRESS',
				httpStatus: status,
				message: `Invalid phone number (${code})`,
			};
		if (code === 21610)
			return {
				retryable: false,
				code: '21610',
				reason: 'UNSUBSCRIBED',
				httpStatus: status,
				message: 'The person replied STOP to this sender (21610): do not text them',
			};
		if (status === 401 || code === 20003)
			return {
				retryable: false,
				code: String(code || 401),
				reason: 'AUTH',
				httpStatus: status,
				message: 'Twilio rejected the Account SID / Auth Token: update the credential',
			};
		if (
			code === 21606 ||
			code === 21212 ||
			code === 21660 ||
			code === 21703 ||
			code === 21704 ||
			code === 20404
		) {
			return {
				retryable: false,
				code: String(code),
				reason: 'CONFIG',
				httpStatus: status,
				message:
					`Twilio refused the sender (${code}): check From or the Messaging Service SID in the credential. ${b?.message ?? ''}`.trim(),
			};
		}
		if (status >= 500)
			return {
				retryable: true,
				code: String(status),
				httpStatus: status,
				message: `Twilio error ${status}: retried`,
			};
		return {
			retryable: false,
			code: String(code || status),
			reason: 'REJECTED',
			httpStatus: status,
			message: `Rejected by Twilio (${code || status}): ${b?.message ?? ''}`,
		};
	}
	if (channel === 'push') {
		const e = b?.error ?? {};
		const fcmCode = (e.details ?? []).find((d: J) => d.errorCode)?.errorCode ?? e.status;
		if (fcmCode === 'UNREGISTERED' || status === 404)
			return {
				retryable: false,
				code: 'UNREGISTERED',
				reason: 'DEAD_TOKEN',
				httpStatus: status,
				message: 'The push token is no longer valid (UNREGISTERED): stop using it',
			};
		if (fcmCode === 'QUOTA_EXCEEDED' || status === 429)
			return {
				retryable: true,
				code: 'QUOTA_EXCEEDED',
				reason: 'RATE_LIMITED',
				httpStatus: status,
				message: 'FCM quota exceeded: retried with backoff',
			};
		if (fcmCode === 'UNAVAILABLE' || fcmCode === 'INTERNAL' || status >= 500)
			return {
				retryable: true,
				code: String(fcmCode ?? status),
				httpStatus: status,
				message: `FCM ${fcmCode ?? status}: retried`,
			};
		if (status === 401 || status === 403)
			return {
				retryable: false,
				code: String(fcmCode ?? status),
				reason: 'AUTH',
				httpStatus: status,
				message: 'FCM refused the service account: check the credential',
			};
		return {
			retryable: false,
			code: String(fcmCode ?? status),
			reason: 'REJECTED',
			httpStatus: status,
			message: `FCM rejected the message: ${e.message ?? ''}`,
		};
	}
	// email: SMTP reply codes
	if (status === 535 || status === 530 || status === 534)
		return {
			retryable: false,
			code: String(status),
			reason: 'AUTH',
			httpStatus: status,
			message: `The mail server refused the login (${status}): check User and Password in the credential`,
		};
	if (status >= 500)
		return {
			retryable: false,
			code: String(status),
			reason: status === 550 ? 'INVALID_ADDRESS' : 'REJECTED',
			httpStatus: status,
			message: `The mail server refused the message (${status})`,
		};
	return {
		retryable: true,
		code: String(status),
		httpStatus: status,
		message: `Temporary mail server error (${status}): retried`,
	};
}

function safeJson(text: string): unknown {
	try {
		return JSON.parse(text);
	} catch {
		return undefined;
	}
}

/**
 * An opt-out a provider reports in an error code (on the send, or later in a status): what it means
 * for the person. Twilio 21610: they replied STOP to the sender, so no text may reach that number
 * (a suppression on SMS); WhatsApp 131050: they stopped marketing from the business (marketing
 * consent withdrawn on WhatsApp; service messages may still go).
 */
export function providerOptOut(
	channel: string,
	code: unknown,
): { action: 'suppress' | 'withdraw'; purpose?: string; source: string } | undefined {
	const c = String(code ?? '');
	if (channel === 'sms' && c === '21610') return { action: 'suppress', source: 'twilio-21610' };
	if (channel === 'whatsapp' && c === '131050')
		return { action: 'withdraw', purpose: 'marketing', source: 'whatsapp-131050' };
	return undefined;
}
