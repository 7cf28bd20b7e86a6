/**
 * Click tracking, opt-in per campaign: each http(s) link in a message is replaced by a signed
 * redirect through your click webhook. The token names the person, channel, campaign and the
 * original URL, under an HMAC with a key only the Convergent store holds (derived from its link
 * key, apart from unsubscribe links), so nobody can forge a click or turn the redirect into an
 * open redirect to a URL we never sent. Deterministic: the same message gets the same links, so
 * re-runs keep their idempotency keys.
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

const mac = (key: string, body: string) => createHmac('sha256', key).update(`${VERSION}.${body}`).digest('base64url').slice(0, MAC_CHARS);

export function signClick(key: string, t: ClickTarget): string {
	const body = Buffer.from(JSON.stringify([t.contactId, t.channel, t.campaign, t.url]), 'utf8').toString('base64url');
	return `${VERSION}.${body}.${mac(key, body)}`;
}

export function verifyClick(key: string, token: unknown): ClickTarget | undefined {
	if (typeof token !== 'string' || token.length > 8192) return undefined;
	const [version, body, given, ...rest] = token.split('.');
	if (version !== VERSION || !body || !given || rest.length || !safeEqual(given, mac(key, body))) return undefined;
	try {
		const [contactId, channel, campaign, url] = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as unknown[];
		if (typeof contactId !== 'string' || !contactId || typeof channel !== 'string' || !isChannel(channel) || typeof campaign !== 'string' || typeof url !== 'string' || !/^https?:\/\//i.test(url)) return undefined;
		return { contactId, channel, campaign, url };
	} catch {
		return undefined;
	}
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
export function wrapTextLinks(text: string, wrap: (url: string) => string, skip: (url: string) => boolean = () => false): string {
	return text.replace(TEXT_URL, (found) => {
		const tail = TRAILING.exec(found)?.[0] ?? '';
		const url = tail ? found.slice(0, -tail.length) : found;
		return skip(url) ? found : `${wrap(url)}${tail}`;
	});
}

/** Every http(s) `href` in HTML through `wrap` (other attributes and text untouched). */
export function wrapHtmlLinks(html: string, wrap: (url: string) => string, skip: (url: string) => boolean = () => false): string {
	return html.replace(/(\bhref\s*=\s*)(["'])(https?:\/\/[^"']+)\2/gi, (all, pre: string, quote: string, raw: string) => {
		const url = raw.replace(/&amp;/g, '&');
		return skip(url) ? all : `${pre}${quote}${wrap(url).replace(/&/g, '&amp;')}${quote}`;
	});
}
