/**
 * Hostile item data used as keys or cache entries: caches are bounded by size, not only by
 * count, and item data never reaches Object.prototype.
 */
import {
	normalizePhone,
	phoneCacheSize,
	rememberNormalisedPhone,
} from '../../../nodes/shared/address';
import { compileFieldPath } from '../../../nodes/shared/field-path';
import { isValidZone, zoneCacheSize } from '../../../nodes/shared/policy/timezone';
import v8 from 'node:v8';
import vm from 'node:vm';

// A real collection before each heap reading: jest runs without --expose-gc, and without it the
// 300 MB of garbage below is still on the heap when it is read (the check then failed at random).
v8.setFlagsFromString('--expose_gc');
const gc = vm.runInNewContext('gc') as () => void;

describe('bounded caches', () => {
	it('300 distinct 1 MB strings as phones and time zones are refused without being parsed or kept', () => {
		const phonesBefore = phoneCacheSize();
		const zonesBefore = zoneCacheSize();
		gc();
		const heapBefore = process.memoryUsage().heapUsed;
		for (let i = 0; i < 300; i++) {
			const huge = `${i}`.padEnd(1_000_000, '9');
			const phone = normalizePhone(huge);
			expect(phone.ok).toBe(false);
			if (!phone.ok) expect(phone.value.length).toBeLessThan(60);
			expect(isValidZone(huge)).toBe(false);
		}
		expect(phoneCacheSize()).toBe(phonesBefore);
		expect(zoneCacheSize()).toBe(zonesBefore);
		// Nothing of the 300 MB is retained (generous bound for the test runner's own noise).
		gc();
		expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(64 * 1024 * 1024);
	});

	it('the zone cache stays bounded in count for many short distinct names', () => {
		for (let i = 0; i < 5000; i++) isValidZone(`Nowhere/Zone${i}`);
		expect(zoneCacheSize()).toBeLessThanOrEqual(1000);
	});

	it('field paths read own properties only: item data never reaches the prototype', () => {
		expect(compileFieldPath('contact.constructor')({ contact: {} })).toBeUndefined();
		expect(compileFieldPath('toString')({})).toBeUndefined();
		expect(compileFieldPath('contact.__proto__')({ contact: {} })).toBeUndefined();
		expect(compileFieldPath('orders[1].total')({ orders: [{ total: 1 }, { total: 2 }] })).toBe(2);
		expect(compileFieldPath('a.b')({ a: { b: 0 } })).toBe(0);
	});
});

describe('phone cache', () => {
	it('a number with a default country never answers for the same text without one (and the reverse)', () => {
		expect(normalizePhone('600111222', 'ES')).toEqual({ ok: true, e164: '+34600111222' });
		// Without a country a national number cannot be read: the country-keyed entry must not leak.
		expect(normalizePhone('600111222').ok).toBe(false);
		expect(normalizePhone('ES|600111222').ok).toBe(false);
		expect(normalizePhone('600111222', 'es')).toEqual({ ok: true, e164: '+34600111222' });
	});

	it('a formatted number and the E.164 it normalises to give the same answer, from any entry point', () => {
		expect(normalizePhone('+34 600 (999) 111')).toEqual({ ok: true, e164: '+34600999111' });
		expect(normalizePhone('+34600999111')).toEqual({ ok: true, e164: '+34600999111' });
		expect(normalizePhone('+1 212 555 0100 ')).toEqual({ ok: true, e164: '+12125550100' });
		expect(normalizePhone('+12125550100')).toEqual({ ok: true, e164: '+12125550100' });
		expect(normalizePhone('+1212555010').ok).toBe(false);
	});

	it('a number the store holds normalised is remembered as valid; nothing else is (an ID, a formatted number, an e-mail)', () => {
		rememberNormalisedPhone('+34600222333');
		expect(normalizePhone('+34600222333')).toEqual({ ok: true, e164: '+34600222333' });
		for (const other of ['1234567890123', 'psid-77', 'ana@example.com', '+0123456789']) {
			rememberNormalisedPhone(other);
			expect(normalizePhone(other)).toMatchObject({ ok: false });
		}
		// A formatted number is not taken as its own normal form.
		rememberNormalisedPhone('+34 600 222 334');
		expect(normalizePhone('+34 600 222 334')).toEqual({ ok: true, e164: '+34600222334' });
	});
});
