/**
 * Twilio's request signature, accepted exactly where Twilio's own SDKs accept it (their published
 * validation cases: the URL with or without its port, a quote in the query written ' or %27,
 * repeated parameter names), and Postmark's Basic Auth with the scheme in any case (RFC 7235).
 */
import { createHmac } from 'node:crypto';

import { verifyPostmark } from '../../../nodes/shared/inbound/email-events';
import { twilioSignature, verifyTwilioSignature } from '../../../nodes/shared/inbound/signatures';

const TOKEN = 's3cr3t';
/** How Twilio's SDKs sign: the URL as a URL parser writes it, names sorted, a repeated name's values sorted. */
const sdkSignature = (url: string, params: Record<string, string | string[]>) => {
	const data = Object.keys(params)
		.sort()
		.reduce((acc, k) => {
			const v = params[k];
			return (
				acc +
				(Array.isArray(v)
					? [...new Set(v)]
							.sort()
							.map((x) => k + x)
							.join('')
					: k + v)
			);
		}, new URL(url).toString());
	return createHmac('sha1', TOKEN).update(Buffer.from(data, 'utf8')).digest('base64');
};

describe('verifyTwilioSignature', () => {
	it.each([
		['https://example.com:443/path?test=param', 'https://example.com:443/path?test=param'],
		['https://example.com:443/path?test=param', 'https://example.com/path?test=param'],
		['https://example.com/path?test=param', 'https://example.com/path?test=param'],
		['https://example.com/path?test=param', 'https://example.com:443/path?test=param'],
		[
			"https://example.com/path?test=param'WithQuote",
			"https://example.com/path?test=param'WithQuote",
		],
		[
			"https://example.com/path?test=param'WithQuote",
			'https://example.com/path?test=param%27WithQuote',
		],
		[
			'https://example.com/path?test=param%27WithQuote',
			"https://example.com/path?test=param'WithQuote",
		],
		[
			'https://example.com/path?test=param%27WithQuote',
			'https://example.com/path?test=param%27WithQuote',
		],
		// An https URL on a non-default port, signed without the port.
		['https://example.com/webhook/sms', 'https://example.com:8443/webhook/sms'],
		['http://n8n.example.com/webhook/sms', 'http://n8n.example.com:5678/webhook/sms'],
	])('signed for %s, received at %s: accepted', (signedUrl, receivedUrl) => {
		const params = {
			From: '+34600111222',
			Body: 'Hola',
			MessageSid: 'SM0123456789abcdef0123456789abcdef',
		};
		expect(verifyTwilioSignature(TOKEN, receivedUrl, params, sdkSignature(signedUrl, params))).toBe(
			true,
		);
	});

	it('another URL, another token, another value: refused', () => {
		const params = { From: '+34600111222', Body: 'Hola' };
		expect(
			verifyTwilioSignature(
				TOKEN,
				'https://example.com/path?test=param2',
				params,
				sdkSignature('https://example.com/path?test=param', params),
			),
		).toBe(false);
		expect(
			verifyTwilioSignature(
				'other-token',
				'https://example.com/path',
				params,
				sdkSignature('https://example.com/path', params),
			),
		).toBe(false);
		expect(
			verifyTwilioSignature(
				TOKEN,
				'https://example.com/path',
				{ ...params, Body: 'Adiós' },
				sdkSignature('https://example.com/path', params),
			),
		).toBe(false);
		expect(
			verifyTwilioSignature(
				TOKEN,
				'https://other.example/path',
				params,
				sdkSignature('https://example.com/path', params),
			),
		).toBe(false);
	});

	it('a repeated parameter name: every value counts, sorted (before, the values were read as one "a,b")', () => {
		const params = {
			From: '+34600111222',
			MediaUrl: ['https://b.example/2.jpg', 'https://a.example/1.jpg'],
		};
		const signature = sdkSignature('https://example.com/sms', params);
		expect(verifyTwilioSignature(TOKEN, 'https://example.com/sms', params, signature)).toBe(true);
		expect(twilioSignature(TOKEN, 'https://example.com/sms', params)).toBe(signature);
		expect(
			verifyTwilioSignature(
				TOKEN,
				'https://example.com/sms',
				{ ...params, MediaUrl: ['https://a.example/1.jpg'] },
				signature,
			),
		).toBe(false);
	});
});

describe('verifyPostmark', () => {
	const user = 'postmark-hook';
	const password = 'a-long-password-1';
	const encoded = Buffer.from(`${user}:${password}`).toString('base64');
	it.each(['Basic', 'basic', 'BASIC', 'bAsIc'])(
		'the scheme "%s" is accepted (RFC 7235: case-insensitive)',
		(scheme) => {
			expect(verifyPostmark(user, password, `${scheme} ${encoded}`)).toBe(true);
		},
	);
	it('wrong credentials, another scheme or nothing: refused', () => {
		expect(
			verifyPostmark(user, password, `Basic ${Buffer.from(`${user}:wrong`).toString('base64')}`),
		).toBe(false);
		expect(verifyPostmark(user, password, `Bearer ${encoded}`)).toBe(false);
		expect(verifyPostmark(user, password, undefined)).toBe(false);
		expect(verifyPostmark(user, '', `Basic ${Buffer.from(`${user}:`).toString('base64')}`)).toBe(
			false,
		);
	});
});
