/**
 * In-app messages: shown inside your app (a banner, a card, an inbox), sent as an FCM data message
 * (the app decides how to show it; no system notification) and kept in the Convergent store's
 * in-app inbox until they expire, so the app can list them and mark them read through a webhook.
 * The app proves whose inbox it asks for with a token signed for that person (sent in each
 * message's data), under a key only the store holds.
 */
import { createHash, createHmac } from 'node:crypto';

import { safeEqual } from '../inbound/signatures';

/**
 * Stands for the expiry until the send's key is known: the key is made from the message, and a
 * time in it would give every run a new key. Same length as an ISO time, so the size check holds.
 */
export const EXPIRES_PLACEHOLDER = '0000-00-00T00:00:00.000Z';

/** The message's id: derived from the send's idempotency key, so a replayed send is the same message. */
export function inAppId(idempotencyKey: string): string {
	return `iam_${createHash('sha256').update(idempotencyKey).digest('base64url').slice(0, 22)}`;
}

const VERSION = 'i1';
const MAC_CHARS = 22;
export function inboxKey(linkKey: string): string {
	return createHmac('sha256', linkKey).update('convergent-in-app-inbox').digest('hex');
}
const mac = (key: string, body: string) =>
	createHmac('sha256', key).update(`${VERSION}.${body}`).digest('base64url').slice(0, MAC_CHARS);

/** A person's inbox token: the app sends it to list and mark read; it names only that person. */
export function signInboxToken(key: string, contactId: string): string {
	const body = Buffer.from(contactId, 'utf8').toString('base64url');
	return `${VERSION}.${body}.${mac(key, body)}`;
}

export function verifyInboxToken(key: string, token: unknown): string | undefined {
	if (typeof token !== 'string' || token.length > 1024) return undefined;
	const [version, body, given, ...rest] = token.split('.');
	if (version !== VERSION || !body || !given || rest.length || !safeEqual(given, mac(key, body)))
		return undefined;
	const contactId = Buffer.from(body, 'base64url').toString('utf8');
	return contactId || undefined;
}
