/**
 * Click tracking, opt-in per campaign: each http(s) link in a message is replaced by a redirect
 * through your click webhook. Its code stands for the person, channel, campaign and the original
 * URL: short codes (k2, what Touchpoint writes) are kept in the store, the long signed tokens of
 * earlier sends (k1) carry them under an HMAC. Both come from a key only the Convergent store holds
 * (derived from its link key, apart from unsubscribe links), so nobody can forge a click or turn the
 * redirect into an open redirect to a URL we never sent. Deterministic: the same message gets the
 * same links, so re-runs keep their idempotency keys.
 */
import { createHmac } from 'node:crypto';

import { isChannel, type Channel } from '../contact';
import { safeEqual } from '../inbound/signatures';

export interface ClickTarget {
	contactId: string;
	channel: Channel;
	campaign: string;
	url: string;
}

const VERSION = 'k1';
const MAC_CHARS = 22;

/** The click key: derived from the store's link key, so a click token is never an unsubscribe token. */
export function clickKey(linkKey: string): string {
	return createHmac('sha256', linkKey).update('convergent-click-tracking').digest('hex');
}

const mac = (key: string, body: string) =>
	createHmac('sha256', key).update(`${VERSION}.${body}`).digest('base64url').slice(0, MAC_CHARS);

export function signClick(key: string, t: ClickTarget): string {
	const body = Buffer.from(
		JSON.stringify([t.contactId, t.channel, t.campaign, t.url]),
		'utf8',
	).toString('base64url');
	return `${VERSION}.${body}.${mac(key, body)}`;
}

export function verifyClick(key: string, token: unknown): ClickTarget | undefined {
	if (typeof token !== 'string' || token.length > 8192) return undefined;
	const [version, body, given, ...rest] = token.split('.');
	if (version !== VERSION || !body || !given || rest.length || !safeEqual(given, mac(key, body)))
		return undefined;
	try {
		const [contactId, channel, campaign, url] = JSON.parse(
			Buffer.from(body, 'base64url').toString('utf8'),
		) as unknown[];
		if (
			typeof contactId !== 'string' ||
			!contactId ||
			typeof channel !== 'string' ||
			!isChannel(channel) ||
			typeof campaign !== 'string' ||
			typeof url !== 'string' ||
			!/^https?:\/\//i.test(url)
		)
			return undefined;
		return { contactId, channel, campaign, url };
	} catch {
		return undefined;
	}
}

const SHORT = 'k2';
const SHORT_CODE = /^k2\.[A-Za-z0-9_-]{16}$/;

/**
 * The short form Touchpoint writes (an SMS link about 30 characters longer than the webhook URL, not
 * a hundred): `k2.` and 96 bits of the HMAC of person, channel, campaign and URL under the click key.
 * The store keeps what each code stands for; a code it does not hold is no link (nothing to forge:
 * the code cannot be computed without the key, and it never carries a URL of its own).
 */
export function shortClickCode(key: string, t: ClickTarget): string {
	return `${SHORT}.${createHmac('sha256', key)
		.update(`${SHORT}.${JSON.stringify([t.contactId, t.channel, t.campaign, t.url])}`)
		.digest('base64url')
		.slice(0, 16)}`;
}

export function isShortClickCode(token: unknown): token is string {
	return typeof token === 'string' && SHORT_CODE.test(token);
}

/** The redirect a link becomes: the click webhook's URL with the token in `c`. */
export function clickLink(webhookUrl: string, token: string): string {
	const url = new URL(webhookUrl);
	url.searchParams.set('c', token);
	return url.toString();
}

// A URL in running text ends before whitespace, quotes and angle brackets; trailing punctuation stays text.
const TEXT_URL = /https?:\/\/[^\s<>"'`]+/gi;
const TRAILING = /[.,;:!?)\]]+$/;

/** Every http(s) URL in plain text through `wrap` (trailing punctuation kept outside the link). */
export function wrapTextLinks(
	text: string,
	wrap: (url: string) => string,
	skip: (url: string) => boolean = () => false,
): string {
	return text.replace(TEXT_URL, (found) => {
		const tail = TRAILING.exec(found)?.[0] ?? '';
		const url = tail ? found.slice(0, -tail.length) : found;
		return skip(url) ? found : `${wrap(url)}${tail}`;
	});
}

/** Every http(s) `href` in HTML through `wrap` (other attributes and text untouched). */
export function wrapHtmlLinks(
	html: string,
	wrap: (url: string) => string,
	skip: (url: string) => boolean = () => false,
): string {
	return html.replace(
		/(\bhref\s*=\s*)(["'])(https?:\/\/[^"']+)\2/gi,
		(all, pre: string, quote: string, raw: string) => {
			const url = raw.replace(/&amp;/g, '&');
			return skip(url) ? all : `${pre}${quote}${wrap(url).replace(/&/g, '&amp;')}${quote}`;
		},
	);
}
