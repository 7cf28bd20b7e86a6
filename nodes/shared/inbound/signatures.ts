/**
 * Webhook signatures. Meta: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app secret, raw body)>`.
 * Twilio: `X-Twilio-Signature: base64 HMAC-SHA1(auth token, full URL + each POST param name+value
 * sorted by name)`; the URL as Twilio saw it, with or without the default port.
 * Comparisons are constant-time.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** Constant-time string comparison (length leaks, content does not). */
export function safeEqual(a: string, b: string): boolean {
	const x = Buffer.from(a);
	const y = Buffer.from(b);
	return x.length === y.length && timingSafeEqual(x, y);
}

export function metaSignature(appSecret: string, rawBody: Buffer | string): string {
	return `sha256=${createHmac('sha256', appSecret).update(rawBody).digest('hex')}`;
}

export function verifyMetaSignature(appSecret: string, rawBody: Buffer | string, header: unknown): boolean {
	if (!appSecret || typeof header !== 'string' || !header.startsWith('sha256=')) return false;
	return safeEqual(metaSignature(appSecret, rawBody), header.trim().toLowerCase());
}

export function twilioSignature(authToken: string, url: string, params: Record<string, string>): string {
	const data = Object.keys(params)
		.sort()
		.reduce((acc, key) => acc + key + params[key], url);
	return createHmac('sha1', authToken).update(Buffer.from(data, 'utf8')).digest('base64');
}

/** The URL variants Twilio may have signed: as given, with and without the default port. */
export function twilioUrlVariants(url: string): string[] {
	const variants = new Set([url]);
	const m = /^(https?):\/\/([^/:?#]+)(:\d+)?(.*)$/i.exec(url);
	if (m) {
		const defaultPort = m[1].toLowerCase() === 'https' ? ':443' : ':80';
		if (!m[3]) variants.add(`${m[1]}://${m[2]}${defaultPort}${m[4]}`);
		else if (m[3] === defaultPort) variants.add(`${m[1]}://${m[2]}${m[4]}`);
	}
	return [...variants];
}

export function verifyTwilioSignature(authToken: string, url: string, params: Record<string, string>, header: unknown): boolean {
	if (!authToken || typeof header !== 'string' || header === '') return false;
	return twilioUrlVariants(url).some((u) => safeEqual(twilioSignature(authToken, u, params), header));
}
