/**
 * Address normalisation: E.164 phones (libphonenumber-js, full metadata) and e-mails.
 * Results carry the field, the value and what to do, so nodes can raise errors a marketer can act on.
 */
import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';

export type Normalised<K extends string> =
	| ({ ok: true } & Record<K, string>)
	| { ok: false; value: string; message: string };

// Parsing with full metadata costs tens of microseconds; the same numbers recur across runs.
// Bounded by size, not only by count: only short inputs are parsed or cached (a phone number,
// formatted, is far below 40 characters), so hostile megabyte strings cost nothing to keep.
const phoneCache = new Map<string, Normalised<'e164'>>();
const countryPhoneCache = new Map<string, Normalised<'e164'>>();
const MAX_PHONE_INPUT = 40;
const MAX_CACHED_PHONES = 100_000;

export function normalizePhone(raw: string, defaultCountry?: string): Normalised<'e164'> {
	const text = String(raw ?? '');
	if (text.length > MAX_PHONE_INPUT) {
		return {
			ok: false,
			value: `${text.slice(0, 20)}… (${text.length} characters)`,
			message: `A phone number has at most ${MAX_PHONE_INPUT} characters; this value has ${text.length}. Use international format, e.g. +34600111222.`,
		};
	}
	// Without a default country (every call on the send path) the text itself is the key: no string
	// is built per lookup, and each person's number is looked up several times per batch.
	const cache = defaultCountry ? countryPhoneCache : phoneCache;
	const key = defaultCountry ? `${defaultCountry.toUpperCase()}|${text}` : text;
	let hit = cache.get(key);
	if (!hit) {
		hit = parsePhone(text, defaultCountry);
		if (cache.size >= MAX_CACHED_PHONES) cache.clear();
		cache.set(key, hit);
		// The normalised number is what later steps pass in (a Check replaces the item's phone with
		// it): an E.164 number parses to itself whatever the default country, so it is not parsed again.
		if (hit.ok && hit.e164 !== text) {
			if (phoneCache.size >= MAX_CACHED_PHONES) phoneCache.clear();
			phoneCache.set(hit.e164, hit);
		}
	}
	return hit;
}

const E164 = /^\+[1-9]\d{6,14}$/;

/**
 * A number the store keeps normalised (a consent's covered address: normalizePhone made it when the
 * consent was recorded) is known valid: later lookups of exactly that text are not parsed again.
 * Anything not shaped like E.164 is ignored (an e-mail, a PSID, a push token).
 */
export function rememberNormalisedPhone(e164: string): void {
	if (phoneCache.has(e164) || !E164.test(e164)) return;
	if (phoneCache.size >= MAX_CACHED_PHONES) phoneCache.clear();
	phoneCache.set(e164, { ok: true, e164 });
}

/** Of these texts, the ones shaped like E.164 that are not known yet (not worth a lookup otherwise). */
export function unknownE164(texts: Iterable<unknown>): string[] {
	const out = new Set<string>();
	for (const t of texts)
		if (typeof t === 'string' && E164.test(t) && !phoneCache.has(t)) out.add(t);
	return [...out];
}

/** Entries in the phone cache (for the memory test). */
export function phoneCacheSize(): number {
	return phoneCache.size + countryPhoneCache.size;
}

function parsePhone(raw: string, defaultCountry?: string): Normalised<'e164'> {
	const value = String(raw ?? '').trim();
	const parsed = value
		? parsePhoneNumberFromString(
				value,
				defaultCountry ? (defaultCountry.toUpperCase() as CountryCode) : undefined,
			)
		: undefined;
	if (!parsed || !parsed.isValid()) {
		return {
			ok: false,
			value,
			message: `"${value}" is not a valid phone number. Use international format with the country code, e.g. +34600111222.`,
		};
	}
	return { ok: true, e164: parsed.number };
}

/** The ISO country of an E.164 number, when it has one. */
export function phoneCountry(e164: string): string | undefined {
	return parsePhoneNumberFromString(e164)?.country;
}

const EMAIL =
	/^[^\s@"(),:;<>[\\\]]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;

export function normalizeEmail(raw: string): Normalised<'email'> {
	const value = String(raw ?? '').trim();
	const email = value.toLowerCase();
	if (email.length > 254 || !EMAIL.test(email)) {
		return {
			ok: false,
			value,
			message: `"${value}" is not a valid email address, e.g. ana@example.com.`,
		};
	}
	return { ok: true, email };
}

/** The contact-book kind of a channel's address: WhatsApp and SMS share the phone. */
export function addressKindOf(
	channel: string,
	value: string,
): 'email' | 'phone' | 'whatsapp' | 'messenger' | 'instagram' | 'push' | undefined {
	switch (channel) {
		case 'email':
			return 'email';
		case 'sms':
			return 'phone';
		case 'whatsapp':
			return value.startsWith('+') ? 'phone' : 'whatsapp';
		case 'messenger':
		case 'instagram':
		case 'push':
			return channel;
		default:
			return undefined;
	}
}

/**
 * The address an id stands for, by the trigger's id rule (an E.164 phone, "messenger:<PSID>",
 * "instagram:<IGSID>", "whatsapp:<id>") or an e-mail used as id; undefined for a CRM id.
 */
export function addressOfId(
	id: string,
): { kind: 'email' | 'phone' | 'whatsapp' | 'messenger' | 'instagram'; value: string } | undefined {
	if (/^\+[1-9]\d{6,14}$/.test(id)) return { kind: 'phone', value: id };
	const m = /^(messenger|instagram|whatsapp):(.+)$/.exec(id);
	if (m) return { kind: m[1] as 'messenger' | 'instagram' | 'whatsapp', value: m[2] };
	if (id.includes('@')) {
		const e = normalizeEmail(id);
		if (e.ok) return { kind: 'email', value: e.email };
	}
	return undefined;
}

/** The id a new contact gets from an address (the inverse of addressOfId); none for a push token. */
export function idForAddress(a: { kind: string; value: string }): string | undefined {
	if (a.kind === 'phone' || a.kind === 'email') return a.value;
	if (a.kind === 'messenger' || a.kind === 'instagram' || a.kind === 'whatsapp')
		return `${a.kind}:${a.value}`;
	return undefined;
}
