/**
 * Nearby-store core against distances computed by hand: the haversine great-circle distance on a
 * sphere of radius 6,371,008.8 m (0.0009 degrees of latitude = 6,371,008.8 x 0.0009 x pi / 180 =
 * 100.075 m), the nearest store within its radius, and one key per visit.
 */
import {
	haversineMeters,
	nearestPlace,
	validCoordinates,
	visitKey,
} from '../../../nodes/shared/insights/geo';

const sol = { name: 'Glow Sol', latitude: 40.416775, longitude: -3.70379, radiusMeters: 300 };
const salamanca = {
	name: 'Glow Salamanca',
	latitude: 40.4251,
	longitude: -3.6874,
	radiusMeters: 300,
};

describe('nearby store', () => {
	it('0.0009 degrees north of Puerta del Sol is 100.075 m; one degree of longitude on the equator is 111,195.08 m', () => {
		expect(haversineMeters(sol, { latitude: 40.417675, longitude: -3.70379 })).toBeCloseTo(
			100.075,
			2,
		);
		expect(
			haversineMeters({ latitude: 0, longitude: 0 }, { latitude: 0, longitude: 1 }),
		).toBeCloseTo(111_195.08, 1);
		expect(haversineMeters(sol, sol)).toBe(0);
	});
	it('the nearest store whose radius holds the point; none near gives the nearest, not near', () => {
		expect(
			nearestPlace([salamanca, sol], { latitude: 40.417675, longitude: -3.70379 }),
		).toMatchObject({ place: { name: 'Glow Sol' }, near: true });
		const far = nearestPlace([sol, salamanca], { latitude: 40.45, longitude: -3.69 })!;
		expect([far.place.name, far.near, Math.round(far.distanceMeters)]).toEqual([
			'Glow Salamanca',
			false,
			2777,
		]);
		// A big radius far away does not beat a near store.
		expect(
			nearestPlace([{ ...salamanca, radiusMeters: 5000 }, sol], {
				latitude: 40.4171,
				longitude: -3.7038,
			})!.place.name,
		).toBe('Glow Sol');
	});
	it('one key per person, store and visit window; coordinates out of range are refused', () => {
		const t = Date.UTC(2026, 10, 30, 10, 5);
		expect(visitKey('c1', 'Glow Sol', t, 4)).toBe(visitKey('c1', 'Glow Sol', t + 60 * 60_000, 4));
		expect(visitKey('c1', 'Glow Sol', t, 4)).not.toBe(
			visitKey('c1', 'Glow Sol', t + 4 * 3_600_000, 4),
		);
		expect(visitKey('c1', 'Glow Sol', t, 4)).not.toBe(visitKey('c2', 'Glow Sol', t, 4));
		expect([
			validCoordinates(91, 0),
			validCoordinates(0, -181),
			validCoordinates('40', 3),
			validCoordinates(40.4, -3.7),
		]).toEqual([false, false, false, true]);
	});
});
