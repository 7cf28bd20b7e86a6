/**
 * Signed one-click unsubscribe links (RFC 8058). A link names the person, channel and purpose it
 * withdraws, and carries an HMAC under a key only the Convergent store holds (derived from the
 * store's own secret), so nobody can make a link for someone else and a link cannot be altered.
 * Stateless: nothing is stored per link, and a link keeps working (withdrawing twice is harmless).
 */
import { createHmac } from 'node:crypto';

import { isChannel, type Channel } from '../contact';
import { safeEqual } from '../inbound/signatures';

export interface UnsubscribeTarget {
	contactId: string;
	channel: Channel;
	purpose: string;
}

const VERSION = 'u1';
/** 128 bits of the HMAC-SHA256: forging one is 2^128 guesses. */
const MAC_CHARS = 22;

const mac = (key: string, body: string) =>
	createHmac('sha256', key).update(`${VERSION}.${body}`).digest('base64url').slice(0, MAC_CHARS);

export function signUnsubscribeToken(key: string, target: UnsubscribeTarget): string {
	const body = Buffer.from(
		JSON.stringify([target.contactId, target.channel, target.purpose]),
		'utf8',
	).toString('base64url');
	return `${VERSION}.${body}.${mac(key, body)}`;
}

/** The target of a token made with this key, or undefined for anything else (altered, another store's, garbage). */
export function verifyUnsubscribeToken(key: string, token: unknown): UnsubscribeTarget | undefined {
	if (typeof token !== 'string' || token.length > 2048) return undefined;
	const [version, body, given, ...rest] = token.split('.');
	if (version !== VERSION || !body || !given || rest.length) return undefined;
	if (!safeEqual(given, mac(key, body))) return undefined;
	try {
		const [contactId, channel, purpose] = JSON.parse(
			Buffer.from(body, 'base64url').toString('utf8'),
		) as unknown[];
		if (
			typeof contactId !== 'string' ||
			!contactId ||
			typeof purpose !== 'string' ||
			!purpose ||
			typeof channel !== 'string' ||
			!isChannel(channel)
		)
			return undefined;
		return { contactId, channel, purpose };
	} catch {
		return undefined;
	}
}

/** The URL a person unsubscribes at: the webhook's URL with the token added to its query. */
export function unsubscribeLink(baseUrl: string, token: string): string {
	const url = new URL(baseUrl);
	url.searchParams.set('token', token);
	return url.toString();
}
