/**
 * A contact's IANA time zone: the one on the contact if valid; else the zone of the phone's
 * country when that country has exactly one; else the default. Countries with several zones
 * (or with overseas territories on the same calling code) always fall back to the default.
 */
import { IANAZone } from 'luxon';

import { phoneCountry } from '../address';

/**
 * Countries whose national numbering plan spans one IANA zone (checked against tzdata's
 * zone1970.tab). Any country not listed here is treated as multi-zone (e.g. US, CA, MX, BR,
 * RU, AU, ID, KZ, MN, CL, EC, ES (Canaries), PT (Azores), CD, AR... -> default zone).
 */
const SINGLE_ZONE: Record<string, string> = {
	AD: 'Europe/Andorra',
	AE: 'Asia/Dubai',
	AT: 'Europe/Vienna',
	BE: 'Europe/Brussels',
	BG: 'Europe/Sofia',
	CH: 'Europe/Zurich',
	CO: 'America/Bogota',
	CR: 'America/Costa_Rica',
	CY: 'Asia/Nicosia',
	CZ: 'Europe/Prague',
	DE: 'Europe/Berlin',
	DK: 'Europe/Copenhagen',
	DO: 'America/Santo_Domingo',
	EE: 'Europe/Tallinn',
	EG: 'Africa/Cairo',
	FI: 'Europe/Helsinki',
	FR: 'Europe/Paris',
	GB: 'Europe/London',
	GH: 'Africa/Accra',
	GR: 'Europe/Athens',
	GT: 'America/Guatemala',
	HK: 'Asia/Hong_Kong',
	HR: 'Europe/Zagreb',
	HU: 'Europe/Budapest',
	IE: 'Europe/Dublin',
	IL: 'Asia/Jerusalem',
	IN: 'Asia/Kolkata',
	IS: 'Atlantic/Reykjavik',
	IT: 'Europe/Rome',
	JP: 'Asia/Tokyo',
	KE: 'Africa/Nairobi',
	KR: 'Asia/Seoul',
	LT: 'Europe/Vilnius',
	LU: 'Europe/Luxembourg',
	LV: 'Europe/Riga',
	MA: 'Africa/Casablanca',
	MT: 'Europe/Malta',
	MY: 'Asia/Kuala_Lumpur',
	NG: 'Africa/Lagos',
	NL: 'Europe/Amsterdam',
	NO: 'Europe/Oslo',
	NZ: 'Pacific/Auckland',
	PA: 'America/Panama',
	PE: 'America/Lima',
	PH: 'Asia/Manila',
	PK: 'Asia/Karachi',
	PL: 'Europe/Warsaw',
	PY: 'America/Asuncion',
	QA: 'Asia/Qatar',
	RO: 'Europe/Bucharest',
	RS: 'Europe/Belgrade',
	SA: 'Asia/Riyadh',
	SE: 'Europe/Stockholm',
	SG: 'Asia/Singapore',
	SI: 'Europe/Ljubljana',
	SK: 'Europe/Bratislava',
	SV: 'America/El_Salvador',
	TH: 'Asia/Bangkok',
	TR: 'Europe/Istanbul',
	TW: 'Asia/Taipei',
	UA: 'Europe/Kyiv',
	UY: 'America/Montevideo',
	VE: 'America/Caracas',
	VN: 'Asia/Ho_Chi_Minh',
	ZA: 'Africa/Johannesburg',
};

/**
 * Countries whose numbers span several zones (tzdata zone1970.tab, main populated zones, east to
 * west). Without a zone on the contact and without a Default Time Zone, quiet hours must hold in
 * every one of them: an SMS to a New York number is never decided in UTC.
 */
export const COUNTRY_ZONES: Record<string, string[]> = {
	US: [
		'America/New_York',
		'America/Chicago',
		'America/Denver',
		'America/Phoenix',
		'America/Los_Angeles',
		'America/Anchorage',
		'Pacific/Honolulu',
	],
	CA: [
		'America/St_Johns',
		'America/Halifax',
		'America/Toronto',
		'America/Winnipeg',
		'America/Regina',
		'America/Edmonton',
		'America/Vancouver',
	],
	MX: [
		'America/Cancun',
		'America/Mexico_City',
		'America/Chihuahua',
		'America/Hermosillo',
		'America/Tijuana',
	],
	BR: ['America/Noronha', 'America/Sao_Paulo', 'America/Manaus', 'America/Rio_Branco'],
	RU: [
		'Europe/Kaliningrad',
		'Europe/Moscow',
		'Europe/Samara',
		'Asia/Yekaterinburg',
		'Asia/Omsk',
		'Asia/Novosibirsk',
		'Asia/Irkutsk',
		'Asia/Yakutsk',
		'Asia/Vladivostok',
		'Asia/Magadan',
		'Asia/Kamchatka',
	],
	AU: [
		'Australia/Sydney',
		'Australia/Brisbane',
		'Australia/Adelaide',
		'Australia/Darwin',
		'Australia/Perth',
	],
	ID: ['Asia/Jayapura', 'Asia/Makassar', 'Asia/Jakarta'],
	KZ: ['Asia/Almaty', 'Asia/Aqtobe'],
	MN: ['Asia/Ulaanbaatar', 'Asia/Hovd'],
	CL: ['America/Santiago', 'Pacific/Easter'],
	EC: ['America/Guayaquil', 'Pacific/Galapagos'],
	ES: ['Europe/Madrid', 'Atlantic/Canary'],
	PT: ['Europe/Lisbon', 'Atlantic/Azores'],
	AR: ['America/Argentina/Buenos_Aires'],
	CD: ['Africa/Kinshasa', 'Africa/Lubumbashi'],
};

export type ZoneSource = 'contact' | 'phone-country' | 'phone-country-all-zones' | 'default';

export class InvalidZoneError extends Error {
	constructor(
		readonly field: string,
		readonly value: string,
	) {
		super(
			`"${value}" is not a valid IANA time zone. Use a name such as Europe/Madrid or America/New_York.`,
		);
	}
}

// Bounded by size: IANA names are short (the longest is ~30 characters); a longer string is not a
// zone and is neither checked nor kept.
const validity = new Map<string, boolean>();
const MAX_ZONE_NAME = 64;
export function isValidZone(zone: string): boolean {
	if (typeof zone !== 'string' || zone.length === 0 || zone.length > MAX_ZONE_NAME) return false;
	let ok = validity.get(zone);
	if (ok === undefined) {
		ok = IANAZone.isValidZone(zone);
		if (validity.size >= 1000) validity.clear();
		validity.set(zone, ok);
	}
	return ok;
}

/** Entries in the zone cache (for the memory test). */
export function zoneCacheSize(): number {
	return validity.size;
}

/**
 * The zone(s) whose local time decides quiet hours: the contact's; else the phone country's single
 * zone; else the Default Time Zone when one is set; else every zone of the phone's country (the
 * strictest reading); else UTC.
 */
export function resolveZone(
	contact: { timeZone?: string; phone?: string },
	defaultZone?: string,
): { zone: string; zones?: string[]; source: ZoneSource } {
	if (contact.timeZone) {
		if (!isValidZone(contact.timeZone)) throw new InvalidZoneError('timeZone', contact.timeZone);
		return { zone: contact.timeZone, source: 'contact' };
	}
	const country = contact.phone ? phoneCountry(contact.phone) : undefined;
	const single = country ? SINGLE_ZONE[country] : undefined;
	if (single) return { zone: single, source: 'phone-country' };
	if (defaultZone) return { zone: defaultZone, source: 'default' };
	const all = country ? COUNTRY_ZONES[country] : undefined;
	if (all)
		return all.length === 1
			? { zone: all[0], source: 'phone-country' }
			: { zone: all[0], zones: all, source: 'phone-country-all-zones' };
	return { zone: 'UTC', source: 'default' };
}
