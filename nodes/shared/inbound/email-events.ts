/**
 * Email service events (bounces, complaints, unsubscribes, deliveries) from Amazon SES through
 * SNS (RSA-signed), SendGrid's signed Event Webhook, Mailgun's signed webhooks and Postmark's
 * webhooks (Basic Auth), verified and turned into one shape. What they mean for the person is decided in emailEventEffects.
 */
import { createHmac, createPublicKey, verify } from 'node:crypto';

import { normalizeEmail } from '../address';
import { safeEqual } from './signatures';

export type EmailService = 'ses' | 'sendgrid' | 'mailgun' | 'postmark';

export interface EmailEvent {
	channel: 'email';
	service: EmailService;
	/** The service's id of this event (de-duplication). */
	eventId: string;
	/** bounce (hard: permanent), complaint (spam report), unsubscribe, delivered, open, click, or other. */
	kind: 'bounce' | 'complaint' | 'unsubscribe' | 'delivered' | 'open' | 'click' | 'other';
	hard: boolean;
	email: string;
	/** The service's own event name, e.g. "spamreport", "HardBounce". */
	type: string;
	providerMessageId?: string;
	reason?: string;
	timestamp: string;
}

// Provider JSON, navigated by the shapes each provider documents; every value read is checked where it is used.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type J = Record<string, any>;

const iso = (v: unknown) => {
	const n = Number(v);
	const d =
		Number.isFinite(n) && n > 0 ? new Date(n < 1e12 ? n * 1000 : n) : new Date(String(v ?? ''));
	return Number.isNaN(d.getTime()) ? new Date().toISOString() : d.toISOString();
};
const email = (v: unknown) => {
	const e = normalizeEmail(String(v ?? ''));
	return e.ok ? e.email : undefined;
};

/** SendGrid Signed Event Webhook: ECDSA (P-256, SHA-256) over timestamp + raw body, with the verification key from the SendGrid UI. */
export function verifySendGrid(
	publicKey: string,
	signature: unknown,
	timestamp: unknown,
	rawBody: Buffer | string,
): boolean {
	if (typeof signature !== 'string' || typeof timestamp !== 'string' || !publicKey.trim())
		return false;
	try {
		const pem = publicKey.includes('BEGIN')
			? publicKey
			: `-----BEGIN PUBLIC KEY-----\n${publicKey.trim()}\n-----END PUBLIC KEY-----`;
		return verify(
			'sha256',
			Buffer.concat([
				Buffer.from(timestamp),
				Buffer.isBuffer(rawBody) ? rawBody : Buffer.from(rawBody),
			]),
			createPublicKey(pem),
			Buffer.from(signature, 'base64'),
		);
	} catch {
		return false;
	}
}

/** Mailgun: HMAC-SHA256 of timestamp + token with the HTTP webhook signing key. */
export function verifyMailgun(signingKey: string, body: J): boolean {
	const s = body?.signature;
	if (
		!signingKey ||
		!s ||
		typeof s.timestamp !== 'string' ||
		typeof s.token !== 'string' ||
		typeof s.signature !== 'string'
	)
		return false;
	return safeEqual(
		createHmac('sha256', signingKey)
			.update(s.timestamp + s.token)
			.digest('hex'),
		s.signature,
	);
}

/** Postmark signs nothing: its webhook URL carries Basic Auth credentials, checked here. */
export function verifyPostmark(user: string, password: string, authorization: unknown): boolean {
	// The scheme name is case-insensitive (RFC 7235): "Basic", "basic", "BASIC".
	const m = typeof authorization === 'string' ? /^basic[ \t]+(\S+)\s*$/i.exec(authorization) : null;
	if (!user || !password || !m) return false;
	return safeEqual(m[1], Buffer.from(`${user}:${password}`).toString('base64'));
}

type Push = (e: Omit<EmailEvent, 'channel' | 'service' | 'email'> & { email: unknown }) => void;

/** One service's request body as events, one per recipient (an address that is not one is left out). */
export function normalizeEmailEvents(service: EmailService, body: unknown): EmailEvent[] {
	const out: EmailEvent[] = [];
	const push: Push = (e) => {
		const address = email(e.email);
		if (address) out.push({ ...e, channel: 'email', service, email: address });
	};
	const read = { ses: sesEvents, sendgrid: sendGridEvents, mailgun: mailgunEvents }[
		service as 'ses' | 'sendgrid' | 'mailgun'
	];
	(read ?? postmarkEvents)(body, push);
	return out;
}

/** An SNS notification carrying an SES notification (notificationType) or event (eventType). */
function sesEvents(body: unknown, push: Push): void {
	const sns = (body ?? {}) as J;
	let ses: J;
	try {
		ses = JSON.parse(String(sns.Message ?? '')) as J;
	} catch {
		return;
	}
	const t = String(ses.notificationType ?? ses.eventType ?? '');
	const messageId = ses.mail?.commonHeaders?.messageId ?? ses.mail?.messageId;
	const base = {
		providerMessageId: messageId ? String(messageId) : undefined,
		timestamp: iso(sns.Timestamp),
	};
	if (t === 'Bounce') {
		const hard = ses.bounce?.bounceType === 'Permanent';
		for (const r of (ses.bounce?.bouncedRecipients ?? []) as J[])
			push({
				...base,
				eventId: `${sns.MessageId}:${r.emailAddress}`,
				kind: 'bounce',
				hard,
				email: r.emailAddress,
				type: `Bounce/${ses.bounce?.bounceType}`,
				reason: r.diagnosticCode ? String(r.diagnosticCode) : undefined,
			});
	} else if (t === 'Complaint') {
		for (const r of (ses.complaint?.complainedRecipients ?? []) as J[])
			push({
				...base,
				eventId: `${sns.MessageId}:${r.emailAddress}`,
				kind: 'complaint',
				hard: false,
				email: r.emailAddress,
				type: 'Complaint',
				reason: ses.complaint?.complaintFeedbackType
					? String(ses.complaint.complaintFeedbackType)
					: undefined,
			});
	} else {
		for (const r of (ses.delivery?.recipients ?? ses.mail?.destination ?? []) as unknown[])
			push({
				...base,
				eventId: `${sns.MessageId}:${String(r)}`,
				kind:
					t === 'Delivery'
						? 'delivered'
						: t === 'Open'
							? 'open'
							: t === 'Click'
								? 'click'
								: 'other',
				hard: false,
				email: r,
				type: t,
			});
	}
}

function sendGridEvents(body: unknown, push: Push): void {
	for (const ev of Array.isArray(body) ? (body as J[]) : []) {
		const t = String(ev.event ?? '');
		const kind =
			t === 'bounce'
				? 'bounce'
				: t === 'spamreport'
					? 'complaint'
					: t === 'unsubscribe' || t === 'group_unsubscribe'
						? 'unsubscribe'
						: t === 'delivered'
							? 'delivered'
							: t === 'open'
								? 'open'
								: t === 'click'
									? 'click'
									: 'other';
		// SendGrid's "bounce" of type "blocked" is temporary; "dropped" repeats an earlier verdict.
		push({
			eventId: String(ev.sg_event_id ?? `${t}:${ev.sg_message_id}:${ev.email}`),
			kind,
			hard: kind === 'bounce' && ev.type !== 'blocked',
			email: ev.email,
			type: t,
			providerMessageId: ev.sg_message_id ? String(ev.sg_message_id) : undefined,
			reason: ev.reason ? String(ev.reason) : undefined,
			timestamp: iso(ev.timestamp),
		});
	}
}

function mailgunEvents(body: unknown, push: Push): void {
	const ev = (body as J)?.['event-data'] ?? {};
	const t = String(ev.event ?? '');
	const kind =
		t === 'failed'
			? 'bounce'
			: t === 'complained'
				? 'complaint'
				: t === 'unsubscribed'
					? 'unsubscribe'
					: t === 'delivered'
						? 'delivered'
						: t === 'opened'
							? 'open'
							: t === 'clicked'
								? 'click'
								: 'other';
	push({
		eventId: String(ev.id ?? `${t}:${ev.timestamp}:${ev.recipient}`),
		kind,
		hard: kind === 'bounce' && ev.severity === 'permanent',
		email: ev.recipient,
		type: t,
		providerMessageId: ev.message?.headers?.['message-id']
			? String(ev.message.headers['message-id'])
			: undefined,
		reason:
			ev['delivery-status']?.description ||
			ev['delivery-status']?.message ||
			ev.reason ||
			undefined,
		timestamp: iso(ev.timestamp),
	});
}

function postmarkEvents(body: unknown, push: Push): void {
	const ev = (body ?? {}) as J;
	const t = String(ev.RecordType ?? '');
	const kind =
		t === 'Bounce'
			? 'bounce'
			: t === 'SpamComplaint'
				? 'complaint'
				: t === 'SubscriptionChange' && ev.SuppressSending === true
					? 'unsubscribe'
					: t === 'Delivery'
						? 'delivered'
						: t === 'Open'
							? 'open'
							: t === 'Click'
								? 'click'
								: 'other';
	push({
		eventId: String(
			ev.ID ??
				`${t}:${ev.MessageID}:${ev.Email ?? ev.Recipient}:${ev.ReceivedAt ?? ev.DeliveredAt ?? ev.BouncedAt ?? ev.ChangedAt ?? ''}`,
		),
		kind,
		hard: kind === 'bounce' && ev.Type === 'HardBounce',
		email: ev.Email ?? ev.Recipient,
		type: ev.Type ? String(ev.Type) : t,
		providerMessageId: ev.MessageID ? String(ev.MessageID) : undefined,
		reason: ev.Description ? String(ev.Description) : undefined,
		timestamp: iso(ev.BouncedAt ?? ev.ReceivedAt ?? ev.DeliveredAt ?? ev.ChangedAt),
	});
}

/** The SNS host Amazon signs from: https://sns.<region>.amazonaws.com(.cn)/... */
export const AWS_SNS_CERT_PATTERN = '^https://sns\\.[a-z0-9-]+\\.amazonaws\\.com(\\.cn)?/';

/** Whether a URL is on Amazon's SNS hosts (or matches the credential's pattern); an invalid pattern trusts nothing. */
export function trustedSnsUrl(url: unknown, pattern: string): boolean {
	try {
		return typeof url === 'string' && new RegExp(pattern || AWS_SNS_CERT_PATTERN).test(url);
	} catch {
		return false;
	}
}

/** The text SNS signs: the message's fields, in this order, each as "Name\nvalue\n" (Amazon's rule). */
export function snsStringToSign(m: J): string {
	const fields =
		m.Type === 'Notification'
			? ['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type']
			: ['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'];
	return fields
		.filter((f) => m[f] !== undefined && m[f] !== null)
		.map((f) => `${f}\n${String(m[f])}\n`)
		.join('');
}

/**
 * An SNS message is Amazon's when its certificate comes from an allowed URL (Amazon's SNS hosts,
 * or what the credential allows, e.g. LocalStack) and its RSA signature (SignatureVersion 1:
 * SHA1, 2: SHA256) verifies, and it is for the topic the credential names.
 */
export async function verifySns(
	m: J,
	options: { topicArn: string; certPattern: string; fetchCert: (url: string) => Promise<string> },
): Promise<boolean> {
	if (
		!m ||
		typeof m !== 'object' ||
		typeof m.Signature !== 'string' ||
		typeof m.SigningCertURL !== 'string'
	)
		return false;
	if (!options.topicArn || m.TopicArn !== options.topicArn) return false;
	const algorithm =
		String(m.SignatureVersion) === '2'
			? 'RSA-SHA256'
			: String(m.SignatureVersion) === '1'
				? 'RSA-SHA1'
				: undefined;
	if (!algorithm || !trustedSnsUrl(m.SigningCertURL, options.certPattern)) return false;
	try {
		const key = createPublicKey(await options.fetchCert(m.SigningCertURL));
		return verify(
			algorithm,
			Buffer.from(snsStringToSign(m)),
			key,
			Buffer.from(m.Signature, 'base64'),
		);
	} catch {
		return false;
	}
}
