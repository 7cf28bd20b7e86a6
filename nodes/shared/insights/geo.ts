/**
 * Nearby-store moments: the nearest store to a person's location, within its radius, by the
 * haversine great-circle distance on a sphere of the Earth's mean radius (IUGG, 6,371,008.8 m),
 * and a key that is the same for one visit (one message per visit).
 */

export interface Place {
	name: string;
	latitude: number;
	longitude: number;
	/** Meters around the place that count as "near". */
	radiusMeters: number;
	address?: string;
}

const EARTH_RADIUS_M = 6_371_008.8;
const rad = (deg: number) => (deg * Math.PI) / 180;

/** Great-circle distance in meters. */
export function haversineMeters(
	a: { latitude: number; longitude: number },
	b: { latitude: number; longitude: number },
): number {
	const dLat = rad(b.latitude - a.latitude);
	const dLon = rad(b.longitude - a.longitude);
	const h =
		Math.sin(dLat / 2) ** 2 +
		Math.cos(rad(a.latitude)) * Math.cos(rad(b.latitude)) * Math.sin(dLon / 2) ** 2;
	return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(h)));
}

export function validCoordinates(latitude: unknown, longitude: unknown): boolean {
	return (
		typeof latitude === 'number' &&
		typeof longitude === 'number' &&
		Number.isFinite(latitude) &&
		Number.isFinite(longitude) &&
		Math.abs(latitude) <= 90 &&
		Math.abs(longitude) <= 180
	);
}

/** The nearest place whose radius holds the point, or the nearest of all (not near) when none does. */
export function nearestPlace(
	places: Place[],
	point: { latitude: number; longitude: number },
): { place: Place; distanceMeters: number; near: boolean } | undefined {
	let best: { place: Place; distanceMeters: number; near: boolean } | undefined;
	let bestNear: typeof best;
	for (const place of places) {
		const distanceMeters = haversineMeters(point, place);
		const near = distanceMeters <= place.radiusMeters;
		if (!best || distanceMeters < best.distanceMeters) best = { place, distanceMeters, near };
		if (near && (!bestNear || distanceMeters < bestNear.distanceMeters))
			bestNear = { place, distanceMeters, near };
	}
	return bestNear ?? best;
}

/** One key per person, place and visit window: a second location in the same visit gives the same key. */
export function visitKey(contactId: string, place: string, at: number, visitHours: number): string {
	return `visit:${contactId}:${place}:${Math.floor(at / (visitHours * 3_600_000))}`;
}
