/** Signed one-click unsubscribe links: only the store's key makes them, nothing else verifies. */
import {
	signUnsubscribeToken,
	unsubscribeLink,
	verifyUnsubscribeToken,
} from '../../../nodes/shared/policy/unsubscribe';

const key = 'a'.repeat(64);
const target = { contactId: 'crm-77', channel: 'email' as const, purpose: 'marketing' };

describe('signed unsubscribe links', () => {
	it('a token made with the key names its person, channel and purpose', () => {
		const token = signUnsubscribeToken(key, target);
		expect(token).toMatch(/^u1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}$/);
		expect(verifyUnsubscribeToken(key, token)).toEqual(target);
	});

	it('an altered token, one of another store, or garbage verifies to nothing', () => {
		const token = signUnsubscribeToken(key, target);
		const [v, body, mac] = token.split('.');
		const other = Buffer.from(JSON.stringify(['victim', 'email', 'marketing'])).toString(
			'base64url',
		);
		expect(verifyUnsubscribeToken(key, `${v}.${other}.${mac}`)).toBeUndefined();
		expect(
			verifyUnsubscribeToken(
				key,
				`${v}.${body}.${mac.slice(0, -1)}${mac.endsWith('A') ? 'B' : 'A'}`,
			),
		).toBeUndefined();
		expect(verifyUnsubscribeToken('b'.repeat(64), token)).toBeUndefined();
		for (const junk of [
			'',
			'u1',
			'u1..',
			`u2.${body}.${mac}`,
			`${token}.x`,
			42,
			null,
			undefined,
			'x'.repeat(5000),
		]) {
			expect(verifyUnsubscribeToken(key, junk)).toBeUndefined();
		}
		// Signed, but not a channel: refused too.
		const bad = signUnsubscribeToken(key, { ...target, channel: 'fax' as never });
		expect(verifyUnsubscribeToken(key, bad)).toBeUndefined();
	});

	it("the link keeps the webhook URL's own query and adds the token", () => {
		const token = signUnsubscribeToken(key, target);
		expect(unsubscribeLink('https://n8n.example.com/webhook/unsubscribe', token)).toBe(
			`https://n8n.example.com/webhook/unsubscribe?token=${token}`,
		);
		expect(unsubscribeLink('https://n8n.example.com/webhook/unsubscribe?list=news', token)).toBe(
			`https://n8n.example.com/webhook/unsubscribe?list=news&token=${token}`,
		);
	});
});
