/**
 * Item data in email HTML and headers: the unsubscribe URL is normalised and escaped (it goes into
 * a header and an href), and only http(s), mailto and tel links leave.
 */
import { escapeHtml, safeUrl } from '../../../nodes/shared/channels/markup';
import type { OutboundMessage } from '../../../nodes/shared/channels/message';
import { buildRequest } from '../../../nodes/shared/channels/registry';

const base: OutboundMessage = {
	channel: 'email',
	to: 'ana@example.com',
	purpose: 'marketing',
	subject: 'Spring',
	html: '<p>Hi</p>',
	text: undefined,
	unsubscribeUrl: 'https://shop.example/unsubscribe?c=ana&t=1',
	postalAddress: 'Shop SL <Calle Mayor 1> & Co, Madrid',
} as OutboundMessage;
const ctx = {
	apiVersion: 'v21.0',
	phoneNumberId: '',
	accountSid: '',
	emailFrom: 'news@shop.example',
};

describe('email HTML from item data', () => {
	it('the footer escapes the postal address and the unsubscribe URL in href', () => {
		const r = buildRequest(base, ctx);
		expect(r.ok).toBe(true);
		if (!r.ok || r.built.kind !== 'email') throw new Error('not built');
		expect(r.built.email.html).toContain('Shop SL &lt;Calle Mayor 1&gt; &amp; Co, Madrid');
		expect(r.built.email.html).toContain(
			'<a href="https://shop.example/unsubscribe?c=ana&amp;t=1">Unsubscribe</a>',
		);
		expect(r.built.email.headers['List-Unsubscribe']).toBe(
			'<https://shop.example/unsubscribe?c=ana&t=1>',
		);
	});

	it.each([
		'https://shop.example/u?c=1"><script>alert(1)</script>',
		'https://shop.example/u?c=1>, <https://evil.example/',
		'https://shop.example/u\r\nBcc: victim@example.com',
		'javascript:alert(1)',
		'http://shop.example/unsubscribe',
	])('an unsubscribe URL that could break out, or is not https, is refused: %j', (url) => {
		const r = buildRequest({ ...base, unsubscribeUrl: url }, ctx);
		expect(r.ok).toBe(false);
		if (!r.ok) expect(r.violations.map((v) => v.code)).toContain('NO_ONE_CLICK_UNSUBSCRIBE');
	});

	it.each([
		'javascript:alert(1)',
		'JaVaScRiPt:alert(1)',
		'data:text/html;base64,PHNjcmlwdD4=',
		'vbscript:x',
	])('a %j link in the body is not sent (UNSAFE_LINK)', (href) => {
		const r = buildRequest(
			{ ...base, html: `<p><a href="${href}">Back to your cart</a></p>` },
			ctx,
		);
		expect(r.ok).toBe(false);
		if (!r.ok) expect(r.violations.map((v) => v.code)).toContain('UNSAFE_LINK');
	});

	it('http(s), mailto, tel and anchors pass', () => {
		const html =
			'<a href="https://a.example/x?y=1&amp;z=2">a</a><a href=\'mailto:a@b.example\'>m</a><a href=tel:+34600111222>t</a><a href="#top">top</a>';
		expect(buildRequest({ ...base, html }, ctx).ok).toBe(true);
	});

	it('helpers', () => {
		expect(escapeHtml('<a href="x">\'&\'</a>')).toBe(
			'&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;',
		);
		expect(safeUrl('https://shop.example/a b')).toBeUndefined();
		expect(safeUrl('https://shop.example/ä')).toBe('https://shop.example/%C3%A4');
	});

	it("the derived text part decodes entities and keeps each link's URL", () => {
		const r = buildRequest(
			{
				...base,
				html: '<h1>Spring</h1><p>Caf&eacute; &amp; croissant &mdash; 20&nbsp;% off. <a href="https://shop.example/sale">Shop now</a></p><p>Or call <a href="tel:+34600111222">+34600111222</a><img src="https://shop.example/p.png" alt="pixel"></p><script>track()</script>',
			},
			ctx,
		);
		if (!r.ok || r.built.kind !== 'email') throw new Error('not built');
		const text = r.built.email.text;
		expect(text).toContain(
			'Café & croissant — 20\u00a0% off. Shop now [https://shop.example/sale]',
		);
		expect(text).toContain('Spring');
		expect(text).not.toMatch(/&eacute;|&amp;|&mdash;|<p|<a|track\(\)|p\.png/);
		expect(text).toContain('https://shop.example/unsubscribe?c=ana&t=1');
	});
});
