/**
 * Tracked links: every http(s) link wrapped, trailing punctuation kept as text, only hrefs in HTML;
 * codes verify only with the store's key and only as made (no forged click, no open redirect).
 */
import {
	clickKey,
	clickLink,
	isShortClickCode,
	shortClickCode,
	signClick,
	verifyClick,
	wrapHtmlLinks,
	wrapTextLinks,
} from '../../../nodes/shared/insights/clicks';

const key = clickKey('store-link-key');
const target = {
	contactId: 'crm-1',
	channel: 'sms' as const,
	campaign: 'spring',
	url: 'https://glow.example/spring?x=1&y=2',
};

describe('click tracking', () => {
	it('text: each link wrapped, the full stop after it stays text; mailto and the skipped ones untouched', () => {
		const wrap = (u: string) => `[${u}]`;
		expect(
			wrapTextLinks(
				'See https://glow.example/a. Or (https://glow.example/b), mail x@y.z or https://n8n.example.com/webhook/r?c=1!',
				wrap,
				(u) => u.startsWith('https://n8n.example.com/webhook/r'),
			),
		).toBe(
			'See [https://glow.example/a]. Or ([https://glow.example/b]), mail x@y.z or https://n8n.example.com/webhook/r?c=1!',
		);
	});
	it('HTML: only http(s) hrefs, entities decoded for the code and encoded back in the attribute', () => {
		const html =
			'<a href="https://glow.example/s?a=1&amp;b=2">Shop</a> <a href=\'mailto:x@y.z\'>mail</a> https://glow.example/text <img src="https://glow.example/i.png">';
		expect(wrapHtmlLinks(html, (u) => `https://t.example/r?u=${encodeURIComponent(u)}&k=1`)).toBe(
			'<a href="https://t.example/r?u=https%3A%2F%2Fglow.example%2Fs%3Fa%3D1%26b%3D2&amp;k=1">Shop</a> <a href=\'mailto:x@y.z\'>mail</a> https://glow.example/text <img src="https://glow.example/i.png">',
		);
	});
	it('a code verifies with the key it was made with, and says who, where and which URL; the same message gives the same code', () => {
		const code = signClick(key, target);
		expect(signClick(key, target)).toBe(code);
		expect(verifyClick(key, code)).toEqual(target);
		expect(clickLink('https://n8n.example.com/webhook/r', code)).toBe(
			`https://n8n.example.com/webhook/r?c=${code}`,
		);
	});
	it('forged, altered or foreign codes are refused: no click for someone else, no redirect to a URL never sent', () => {
		const code = signClick(key, target);
		const [v, body, mac] = code.split('.');
		const evil = Buffer.from(
			JSON.stringify(['crm-1', 'sms', 'spring', 'https://evil.example/']),
		).toString('base64url');
		expect(verifyClick(key, `${v}.${evil}.${mac}`)).toBeUndefined();
		expect(
			verifyClick(key, `${v}.${body}.${mac.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'))}`),
		).toBeUndefined();
		expect(verifyClick(clickKey('another-store'), code)).toBeUndefined();
		expect(verifyClick(key, `u1.${body}.${mac}`)).toBeUndefined();
		expect(verifyClick(key, undefined)).toBeUndefined();
		const js = signClick(key, { ...target, url: 'javascript:alert(1)' });
		expect(verifyClick(key, js)).toBeUndefined();
	});
	it('short codes: 19 characters whatever the URL, the same for the same message, different for another person, campaign, URL or store', () => {
		const code = shortClickCode(key, target);
		expect(code).toMatch(/^k2\.[A-Za-z0-9_-]{16}$/);
		expect(shortClickCode(key, target)).toBe(code);
		expect(
			shortClickCode(key, { ...target, url: `${target.url}&long=${'x'.repeat(500)}` }),
		).toHaveLength(19);
		const others = [
			{ ...target, contactId: 'crm-2' },
			{ ...target, campaign: 'autumn' },
			{ ...target, channel: 'email' as const },
			{ ...target, url: 'https://glow.example/other' },
		].map((t) => shortClickCode(key, t));
		others.push(shortClickCode(clickKey('another-store'), target));
		expect(new Set([code, ...others]).size).toBe(6);
		expect(isShortClickCode(code)).toBe(true);
		for (const not of [
			signClick(key, target),
			'k2.short',
			`${code}x`,
			'k3.AAAAAAAAAAAAAAAA',
			undefined,
			42,
		])
			expect(isShortClickCode(not)).toBe(false);
	});
});
