/**
 * Policy core: quiet hours across DST changes and in other zones, zone derivation, addresses,
 * cap rules, and the order of checks.
 */
import { DateTime } from 'luxon';

import { normalizeEmail, normalizePhone } from '../../../nodes/shared/address';
import {
	checkQuietHours,
	evaluatePolicy,
	parseCapRule,
	resolveZone,
} from '../../../nodes/shared/policy';

const at = (iso: string, zone: string) => DateTime.fromISO(iso, { zone }).toMillis();
const local = (ms: number, zone: string) =>
	DateTime.fromMillis(ms, { zone }).toISO({ suppressMilliseconds: true });
const rule = { start: '08:00', end: '21:00' };

describe('quiet hours', () => {
	it('Europe/Madrid spring-forward day (2026-03-29): 22:00 on the 28th -> 08:00 local on the 29th, 23 h later', () => {
		const now = at('2026-03-28T22:00', 'Europe/Madrid');
		const r = checkQuietHours(now, 'Europe/Madrid', rule);
		expect(r.allowed).toBe(false);
		if (!r.allowed) {
			expect(local(r.retryAt, 'Europe/Madrid')).toBe('2026-03-29T08:00:00+02:00');
			expect((r.retryAt - now) / 3600_000).toBe(9);
		}
	});

	it('Europe/Madrid fall-back day (2026-10-25): 02:30 local -> 08:00 local (+01:00)', () => {
		const now = at('2026-10-25T02:30', 'Europe/Madrid');
		const r = checkQuietHours(now, 'Europe/Madrid', rule);
		expect(!r.allowed && local(r.retryAt, 'Europe/Madrid')).toBe('2026-10-25T08:00:00+01:00');
	});

	it('America/New_York DST start (2026-03-08) and end (2026-11-01)', () => {
		const a = checkQuietHours(at('2026-03-07T23:00', 'America/New_York'), 'America/New_York', rule);
		expect(!a.allowed && local(a.retryAt, 'America/New_York')).toBe('2026-03-08T08:00:00-04:00');
		const b = checkQuietHours(at('2026-11-01T01:30', 'America/New_York'), 'America/New_York', rule);
		expect(!b.allowed && local(b.retryAt, 'America/New_York')).toBe('2026-11-01T08:00:00-05:00');
	});

	it("uses the contact's zone, not the server's: 15:00 UTC is allowed in London, quiet in Tokyo", () => {
		const now = Date.UTC(2026, 5, 10, 15, 0);
		expect(checkQuietHours(now, 'Europe/London', rule).allowed).toBe(true);
		const tokyo = checkQuietHours(now, 'Asia/Tokyo', rule);
		expect(!tokyo.allowed && local(tokyo.retryAt, 'Asia/Tokyo')).toBe('2026-06-11T08:00:00+09:00');
	});

	it('no Sundays (France): Saturday 22:30 -> Monday 08:00; windows may cross midnight', () => {
		const sat = at('2026-06-13T22:30', 'Europe/Paris');
		const r = checkQuietHours(sat, 'Europe/Paris', {
			start: '08:00',
			end: '22:00',
			noSunday: true,
		});
		expect(!r.allowed && local(r.retryAt, 'Europe/Paris')).toBe('2026-06-15T08:00:00+02:00');
		const night = { start: '22:00', end: '06:00' };
		expect(checkQuietHours(at('2026-06-13T23:30', 'UTC'), 'UTC', night).allowed).toBe(true);
		expect(checkQuietHours(at('2026-06-13T12:00', 'UTC'), 'UTC', night).allowed).toBe(false);
	});
});

describe('time zone of a contact', () => {
	it('contact zone first; then a single-zone phone country; never a multi-zone one', () => {
		expect(resolveZone({ timeZone: 'Asia/Tokyo', phone: '+4915123456789' }, 'UTC')).toEqual({
			zone: 'Asia/Tokyo',
			source: 'contact',
		});
		expect(resolveZone({ phone: '+4915123456789' }, 'UTC')).toEqual({
			zone: 'Europe/Berlin',
			source: 'phone-country',
		});
		expect(resolveZone({ phone: '+34600111222' }, 'Europe/Madrid').source).toBe('default'); // Canaries
		expect(resolveZone({ phone: '+12025550143' }, 'America/Chicago')).toEqual({
			zone: 'America/Chicago',
			source: 'default',
		});
		expect(() => resolveZone({ timeZone: 'Mars/Olympus' }, 'UTC')).toThrow(/Mars\/Olympus/);
	});
});

describe('addresses and caps', () => {
	it('normalises phones to E.164 and e-mails to lower case; errors name the value', () => {
		expect(normalizePhone('+34 600 11 12 22')).toEqual({ ok: true, e164: '+34600111222' });
		expect(normalizePhone('600111222', 'ES')).toEqual({ ok: true, e164: '+34600111222' });
		const bad = normalizePhone('12345');
		expect(bad.ok === false && bad.message).toContain('"12345"');
		expect(normalizeEmail(' Ana@Example.COM ')).toEqual({ ok: true, email: 'ana@example.com' });
		expect(normalizeEmail('ana@').ok).toBe(false);
	});

	it('parses cap rules and rejects bad fields by name', () => {
		expect(
			parseCapRule({ maxMessages: 2, per: 7, unit: 'days', channel: 'all', purpose: 'marketing' }),
		).toMatchObject({ max: 2, windowMs: 7 * 86400_000, purpose: 'marketing', channel: undefined });
		expect(() => parseCapRule({ maxMessages: 0, per: 7, unit: 'days' })).toThrow(
			/Max Messages "0"/,
		);
		expect(() => parseCapRule({ maxMessages: 1, per: 1, unit: 'fortnights' })).toThrow(
			/Unit "fortnights"/,
		);
	});

	it('checks in order: suppression beats missing consent, window beats quiet hours', () => {
		const now = Date.UTC(2026, 5, 10, 3, 0);
		const contact = { id: 'x', phone: '+34600111222', timeZone: 'UTC' };
		const settings = { now, quietHours: { whatsapp: rule } };
		expect(
			evaluatePolicy(
				{ contact, channel: 'sms', purpose: 'marketing', messageKind: 'free-form' },
				{ suppressed: [{ address: '+34600111222', reason: 'manual' }] },
				settings,
			),
		).toMatchObject({ allowed: false, reason: 'SUPPRESSED' });
		const consent = {
			contactId: 'x',
			channel: 'whatsapp' as const,
			purpose: 'marketing',
			status: 'granted' as const,
			updatedAt: now,
		};
		expect(
			evaluatePolicy(
				{ contact, channel: 'whatsapp', purpose: 'marketing', messageKind: 'free-form' },
				{ consent, addressOwned: true },
				settings,
			),
		).toMatchObject({ reason: 'WINDOW_CLOSED' });
		expect(
			evaluatePolicy(
				{ contact, channel: 'whatsapp', purpose: 'marketing', messageKind: 'template' },
				{ consent, addressOwned: true },
				settings,
			),
		).toMatchObject({ reason: 'QUIET_HOURS' });
	});
});
