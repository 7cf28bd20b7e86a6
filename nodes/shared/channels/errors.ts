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

/**
 * The answers every channel reads alike: no answer at all (network), and a gateway error after the
 * request reached the provider; undefined when the channel's own module must read the answer.
 */
export function commonAnswer(
	channel: Channel,
	status: number | undefined,
): ProviderError | undefined {
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
	return undefined;
}

/** A provider's answer body as JSON, when it is JSON text. */
export function parseProviderBody(text: string): unknown {
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
