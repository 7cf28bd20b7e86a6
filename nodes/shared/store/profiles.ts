/** What the store holds about a person besides consent: profile (name, locale, time zone, preferred channel, attributes) and addresses. */
import { chunks, inList, insertRows, placeholders, type SqlDb } from './db';
import type { AddressRecord, ContactProfile, ProfileInput } from './types';
import { CHUNK, type Row } from './sql-rows';

export async function upsertProfiles(
	db: SqlDb,
	rows: Array<ProfileInput & { contactId: string }>,
): Promise<void> {
	const now = Date.now();
	const latest = [...new Map(rows.map((r) => [r.contactId, r])).values()];
	for (const part of chunks(latest, CHUNK)) {
		await db.transaction(async (tx) => {
			const existing = await getProfiles(
				tx,
				part.map((r) => r.contactId),
			);
			await insertRows(
				tx,
				'INSERT INTO contacts (contact_id, name, locale, time_zone, preferred_channel, attributes, created_at, updated_at)',
				8,
				part.map((r) => {
					const attributes = r.attributes
						? { ...(existing.get(r.contactId)?.attributes ?? {}), ...r.attributes }
						: undefined;
					return [
						r.contactId,
						r.name ?? null,
						r.locale ?? null,
						r.timeZone ?? null,
						r.preferredChannel ?? null,
						attributes ? JSON.stringify(attributes) : null,
						now,
						now,
					];
				}),
				`ON CONFLICT (contact_id) DO UPDATE SET name = COALESCE(excluded.name, contacts.name), locale = COALESCE(excluded.locale, contacts.locale),
				time_zone = COALESCE(excluded.time_zone, contacts.time_zone), preferred_channel = COALESCE(excluded.preferred_channel, contacts.preferred_channel),
				attributes = COALESCE(excluded.attributes, contacts.attributes), updated_at = excluded.updated_at`,
			);
		});
	}
}

function toProfile(r: Row): ContactProfile {
	return {
		contactId: String(r.contact_id),
		...(r.name != null ? { name: String(r.name) } : {}),
		...(r.locale != null ? { locale: String(r.locale) } : {}),
		...(r.time_zone != null ? { timeZone: String(r.time_zone) } : {}),
		...(r.preferred_channel != null ? { preferredChannel: String(r.preferred_channel) } : {}),
		...(r.attributes != null ? { attributes: JSON.parse(String(r.attributes)) } : {}),
		createdAt: Number(r.created_at),
		updatedAt: Number(r.updated_at),
	};
}

export async function getProfiles(
	db: SqlDb,
	contactIds: string[],
): Promise<Map<string, ContactProfile>> {
	const map = new Map<string, ContactProfile>();
	for (const part of chunks([...new Set(contactIds)], CHUNK)) {
		const rows = await db.query<Row>(
			`SELECT * FROM contacts WHERE contact_id IN (${placeholders(part.length)})`,
			part,
		);
		for (const r of rows) map.set(String(r.contact_id), toProfile(r));
	}
	return map;
}

export async function getTimeZones(db: SqlDb, contactIds: string[]): Promise<Map<string, string>> {
	const map = new Map<string, string>();
	for (const part of chunks([...new Set(contactIds)], CHUNK)) {
		const within = inList(db, part);
		const rows = await db.query<Row>(
			`SELECT contact_id, time_zone FROM contacts WHERE contact_id ${within.sql} AND time_zone IS NOT NULL`,
			within.params,
		);
		for (const r of rows) map.set(String(r.contact_id), String(r.time_zone));
	}
	return map;
}

export async function getAddresses(db: SqlDb, contactIds: string[]): Promise<AddressRecord[]> {
	const out: AddressRecord[] = [];
	for (const part of chunks([...new Set(contactIds)], CHUNK)) {
		const rows = await db.query<Row>(
			`SELECT * FROM contact_addresses WHERE contact_id IN (${placeholders(part.length)}) ORDER BY first_seen, kind, value`,
			part,
		);
		for (const r of rows) {
			out.push({
				kind: r.kind as AddressRecord['kind'],
				value: String(r.value),
				contactId: String(r.contact_id),
				...(r.source != null ? { source: String(r.source) } : {}),
				firstSeen: Number(r.first_seen),
				lastSeen: Number(r.last_seen),
			});
		}
	}
	return out;
}
