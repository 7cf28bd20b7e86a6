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

export function verifyMetaSignature(
	appSecret: string,
	rawBody: Buffer | string,
	header: unknown,
): boolean {
	if (!appSecret || typeof header !== 'string' || !header.startsWith('sha256=')) return false;
	return safeEqual(metaSignature(appSecret, rawBody), header.trim().toLowerCase());
}

/** A POST parameter as Twilio sends it: a repeated name carries every value. */
export type TwilioParams = Record<string, string | string[]>;

export function twilioSignature(authToken: string, url: string, params: TwilioParams): string {
	// Names sorted; a repeated name's values de-duplicated and sorted, each as name + value (as Twilio's SDKs).
	const data = Object.keys(params)
		.sort()
		.reduce((acc, key) => {
			const value = params[key];
			const values = Array.isArray(value)
				? [...new Set(value.map(String))].sort()
				: [String(value)];
			return acc + values.map((v) => key + v).join('');
		}, url);
	return createHmac('sha1', authToken).update(Buffer.from(data, 'utf8')).digest('base64');
}

/**
 * The URLs Twilio may have signed, as its own SDKs accept them: the URL as given and as a URL
 * parser writes it (a quote in the query as %27), each with the scheme's default port added when
 * it has none, and without any port (an https URL on a non-default port is signed without it).
 */
export function twilioUrlVariants(url: string): string[] {
	const variants = new Set([url]);
	const m = /^(https?):\/\/([^/:?#]+)(:\d+)?(.*)$/i.exec(url);
	if (m) {
		const defaultPort = m[1].toLowerCase() === 'https' ? ':443' : ':80';
		variants.add(`${m[1]}://${m[2]}${m[4]}`);
		if (!m[3]) variants.add(`${m[1]}://${m[2]}${defaultPort}${m[4]}`);
	}
	let parsed: URL;
	try {
		parsed = new URL(url);
	} catch {
		return [...variants];
	}
	variants.add(parsed.toString());
	if (!parsed.port) {
		const auth = parsed.username
			? `${parsed.username}${parsed.password ? `:${parsed.password}` : ''}@`
			: '';
		variants.add(
			`${parsed.protocol}//${auth}${parsed.host}${parsed.protocol === 'https:' ? ':443' : ':80'}${parsed.pathname}${parsed.search}${parsed.hash}`,
		);
	}
	parsed.port = '';
	variants.add(parsed.toString());
	return [...variants];
}

export function verifyTwilioSignature(
	authToken: string,
	url: string,
	params: TwilioParams,
	header: unknown,
): boolean {
	if (!authToken || typeof header !== 'string' || header === '') return false;
	return twilioUrlVariants(url).some((u) =>
		safeEqual(twilioSignature(authToken, u, params), header),
	);
}
