/**
 * Hostile item data used as keys or cache entries: caches are bounded by size, not only by
 * count, and item data never reaches Object.prototype.
 */
import { normalizePhone, phoneCacheSize } from '../../../nodes/shared/address';
import { compileFieldPath } from '../../../nodes/shared/n8n/field-path';
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
