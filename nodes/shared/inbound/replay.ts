/**
 * Replay (ARCHITECTURE.md: replay), in one place for every signed webhook: a captured request sent
 * again must not be taken as new. Where the provider signs a time, the request is taken only
 * within that provider's window around it; where it signs a one-time token (Mailgun), the token is
 * taken once. What no provider signs is covered by de-duplication on the provider's own event or
 * message ids, and by the consent time rule (store/consent-fold.ts) for any time in the body.
 *
 * | provider | signed time | window | single use |
 * |---|---|---|---|
 * | SendGrid Event Webhook | X-Twilio-Email-Event-Webhook-Timestamp | 5 min | event ids (sg_event_id) |
 * | Mailgun | signature.timestamp | 5 min | signature.token, and event ids |
 * | Amazon SES via SNS | Timestamp (kept on SNS's retries) | 1 h | MessageId, and event ids |
 * | Postmark (Basic Auth) | none | - | event ids |
 * | Meta, Twilio | none (body HMAC) | - | message / status ids |
 */
import type { EmailService } from './email-events';

export const REPLAY_WINDOW_MS: Record<EmailService, number | undefined> = {
	sendgrid: 5 * 60_000,
	mailgun: 5 * 60_000,
	// SNS retries a notification with the Timestamp it was published at, for up to an hour by its default policies.
	ses: 60 * 60_000,
	postmark: undefined,
};

/** The time a provider signed with this request (ms), when it signs one. */
export function signedAt(
	service: EmailService,
	headers: Record<string, unknown>,
	body: unknown,
): number | undefined {
	const b = (body ?? {}) as Record<string, unknown>;
	const seconds = (v: unknown) =>
		typeof v === 'string' && /^\d{9,11}$/.test(v.trim()) ? Number(v) * 1000 : NaN;
	switch (service) {
		case 'sendgrid':
			return seconds(headers['x-twilio-email-event-webhook-timestamp']);
		case 'mailgun':
			return seconds((b.signature as Record<string, unknown> | undefined)?.timestamp);
		case 'ses':
			return Date.parse(String(b.Timestamp ?? ''));
		default:
			return undefined;
	}
}

/**
 * Why a verified request is refused as a replay (its signed time outside the window, or missing
 * where the provider always signs one), or undefined when it may be taken.
 */
export function replayRefusal(
	service: EmailService,
	signed: number | undefined,
	now = Date.now(),
): string | undefined {
	const window = REPLAY_WINDOW_MS[service];
	if (window === undefined) return undefined;
	if (signed === undefined || !Number.isFinite(signed))
		return 'The request carries no signed time: refused as a possible replay';
	if (Math.abs(now - signed) > window) {
		return `The request was signed at ${new Date(signed).toISOString()}, outside the ${window / 60_000}-minute window around now: refused as a replay (check the server's clock if this was a real delivery)`;
	}
	return undefined;
}

/** Mailgun's one-time token, taken once per trigger (kept with the trigger's de-duplication keys). */
export function singleUseToken(service: EmailService, body: unknown): string | undefined {
	if (service !== 'mailgun') return undefined;
	const token = ((body ?? {}) as { signature?: { token?: unknown } }).signature?.token;
	return typeof token === 'string' && token ? `signature-token:${token}` : undefined;
}
