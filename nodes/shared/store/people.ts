/**
 * People in the store: one contact id, any number of addresses, a profile. The SQL for the
 * `contacts`, `contact_addresses` and `store_meta` tables lives here and nowhere else.
 *
 * - A normalised address belongs to at most one contact: (kind, value) is the primary key of
 *   `contact_addresses`, so two executions linking the same address at once leave one owner
 *   (INSERT ... ON CONFLICT is atomic in both databases); the other sees the owner and a conflict.
 * - A merged contact keeps its row with `merged_into` set (always one hop: a merge re-points the
 *   ids merged into the one that goes away), so an old id still resolves to the person.
 * - Lookups are batched: one query per chunk of refs, for ids and addresses together.
 */
import { addressOfId } from '../address';
import { decodeAddresses, encodeAddresses } from './consent-fold';
import { chunks, inList, insertRows, placeholders, type SqlDb } from './db';
import { CHUNK, str, type Row } from './sql-rows';
import {
	addressKey,
	type ContactAddress,
	type PersonRef,
	type ProfileInput,
	type ResolvedPerson,
	type ResolveOptions,
} from './types';

interface Owner {
	owner: string;
	name?: string;
	locale?: string;
	timeZone?: string;
}

/**
 * Owners of ids (following merges) and of addresses, in one query without joins (a join to
 * `contacts` for every address made PostgreSQL hash the whole table). Profiles come with the id
 * rows; the few owners found only by address or through a merge get theirs in a second query.
 */
async function lookup(
	db: SqlDb,
	ids: string[],
	values: string[],
): Promise<{ byId: Map<string, Owner>; byAddress: Map<string, Owner> }> {
	const byId = new Map<string, Owner>();
	const byAddress = new Map<string, Owner>();
	if (!ids.length && !values.length) return { byId, byAddress };
	const idList = inList(db, ids);
	const idParams = ids.length ? idList.params : [];
	const valueList = inList(db, values, idParams.length + 1);
	const rows = await db.query<Row>(
		`SELECT 'id' AS kind, contact_id AS value, merged_into AS owner, name, locale, time_zone FROM contacts WHERE ${ids.length ? `contact_id ${idList.sql}` : '1 = 0'}
		UNION ALL
		SELECT kind, value, contact_id AS owner, NULL, NULL, NULL FROM contact_addresses WHERE ${values.length ? `value ${valueList.sql}` : '1 = 0'}`,
		[...idParams, ...(values.length ? valueList.params : [])],
	);
	const profiles = new Map<string, Owner>();
	const missing = new Set<string>();
	for (const r of rows) {
		if (r.kind === 'id') {
			const id = String(r.value);
			if (r.owner === null || r.owner === undefined) {
				const o: Owner = {
					owner: id,
					name: str(r.name),
					locale: str(r.locale),
					timeZone: str(r.time_zone),
				};
				byId.set(id, o);
				profiles.set(id, o);
			} else {
				byId.set(id, { owner: String(r.owner) });
				missing.add(String(r.owner));
			}
		} else {
			byAddress.set(`${String(r.kind)}:${String(r.value)}`, { owner: String(r.owner) });
			missing.add(String(r.owner));
		}
	}
	for (const id of profiles.keys()) missing.delete(id);
	if (missing.size) {
		const list = [...missing];
		const within = inList(db, list);
		for (const r of await db.query<Row>(
			`SELECT contact_id, name, locale, time_zone FROM contacts WHERE contact_id ${within.sql}`,
			within.params,
		)) {
			profiles.set(String(r.contact_id), {
				owner: String(r.contact_id),
				name: str(r.name),
				locale: str(r.locale),
				timeZone: str(r.time_zone),
			});
		}
	}
	for (const map of [byId, byAddress]) {
		for (const [k, o] of map) {
			const p = profiles.get(o.owner);
			if (p && p !== o) map.set(k, p);
		}
	}
	return { byId, byAddress };
}

function decide(
	ref: PersonRef,
	byId: Map<string, Owner>,
	byAddress: Map<string, Owner>,
): ResolvedPerson {
	const owners = new Map<string, string>();
	for (const a of ref.addresses) {
		const o = byAddress.get(addressKey(a));
		if (o) owners.set(addressKey(a), o.owner);
	}
	const id = ref.id?.trim() || undefined;
	if (id) {
		// An id that is not a contact but stands for an address by the trigger's id rule ("+34600...",
		// "instagram:<IGSID>") is the person who holds that address.
		const standsFor = byId.has(id) ? undefined : addressOfId(id);
		const o = byId.get(id) ?? (standsFor ? byAddress.get(addressKey(standsFor)) : undefined);
		const contactId = o?.owner ?? id;
		const foreign = ref.addresses.find(
			(a) => owners.has(addressKey(a)) && owners.get(addressKey(a)) !== contactId,
		);
		return {
			contactId,
			known: !!o,
			created: false,
			owners,
			...(o ? { profile: profileOf(o) } : {}),
			...(foreign
				? { conflict: { address: foreign, owner: owners.get(addressKey(foreign))! } }
				: {}),
		};
	}
	// No id: the person who holds the addresses; two holders is a conflict, none a new person.
	const held = ref.addresses.filter((a) => owners.has(addressKey(a)));
	if (held.length) {
		const first = byAddress.get(addressKey(held[0]))!;
		const foreign = held.find((a) => owners.get(addressKey(a)) !== first.owner);
		return {
			contactId: first.owner,
			known: true,
			created: false,
			owners,
			profile: profileOf(first),
			...(foreign
				? { conflict: { address: foreign, owner: owners.get(addressKey(foreign))! } }
				: {}),
		};
	}
	const fallback = ref.fallbackId ? byId.get(ref.fallbackId) : undefined;
	if (fallback)
		return {
			contactId: fallback.owner,
			known: true,
			created: false,
			owners,
			profile: profileOf(fallback),
		};
	return { contactId: ref.fallbackId ?? '', known: false, created: false, owners };
}

function profileOf(o: Owner): ResolvedPerson['profile'] {
	return {
		...(o.name ? { name: o.name } : {}),
		...(o.locale ? { locale: o.locale } : {}),
		...(o.timeZone ? { timeZone: o.timeZone } : {}),
	};
}

/** Which of these phone numbers the contact book holds (each was normalised when it was linked). */
export async function knownPhones(db: SqlDb, values: string[]): Promise<Set<string>> {
	const known = new Set<string>();
	for (const chunk of chunks([...new Set(values)], CHUNK)) {
		const within = inList(db, chunk, 2);
		const rows = await db.query<Row>(
			`SELECT value FROM contact_addresses WHERE kind = $1 AND value ${within.sql}`,
			['phone', ...within.params],
		);
		for (const r of rows) known.add(String(r.value));
	}
	return known;
}

export async function resolveContacts(
	db: SqlDb,
	refs: PersonRef[],
	options: ResolveOptions = {},
): Promise<ResolvedPerson[]> {
	const out: ResolvedPerson[] = [];
	const write = options.create || options.link;
	for (const chunk of chunks(refs, CHUNK)) {
		const ids = [
			...new Set(
				chunk.flatMap((r) => [r.id?.trim(), r.fallbackId].filter((x): x is string => !!x)),
			),
		];
		const values = [
			...new Set(
				chunk.flatMap((r) =>
					[
						...r.addresses.map((a) => a.value),
						...(r.id ? [addressOfId(r.id.trim())?.value] : []),
					].filter((v): v is string => !!v),
				),
			),
		];
		const decide_ = async (tx: SqlDb) => {
			const { byId, byAddress } = await lookup(tx, ids, values);
			return chunk.map((r) => decide(r, byId, byAddress));
		};
		const read = await decide_(db);
		// Nothing to write when every person is known and holds every address (the usual inbound
		// message from a known sender): no transaction, one statement to mark the addresses seen.
		if (!write || settled(chunk, read, options)) {
			if (write) await markSeen(db, chunk, options.now ?? Date.now());
			out.push(...read);
			continue;
		}
		out.push(
			...(await db.transaction(
				async (tx) => await linkAndCreate(tx, chunk, await decide_(tx), options),
			)),
		);
	}
	return out;
}

function settled(refs: PersonRef[], decided: ResolvedPerson[], options: ResolveOptions): boolean {
	return decided.every((d, i) => {
		if (d.conflict) return options.onConflict !== 'move';
		if (!d.contactId) return true;
		if (!d.known) return !options.create;
		if (refs[i].profile?.name && !d.profile?.name) return false;
		return (
			!options.link || refs[i].addresses.every((a) => d.owners.get(addressKey(a)) === d.contactId)
		);
	});
}

async function markSeen(db: SqlDb, refs: PersonRef[], now: number): Promise<void> {
	const values = [...new Set(refs.flatMap((r) => r.addresses.map((a) => a.value)))];
	if (!values.length) return;
	await db.run(
		`UPDATE contact_addresses SET last_seen = $1 WHERE value IN (${placeholders(values.length, 2)}) AND last_seen < $1`,
		[now, ...values],
	);
}

/** An address moved to another contact (onConflict: move): the old holder's consent no longer covers it. */
async function moveAddress(
	tx: SqlDb,
	m: { a: ContactAddress; contactId: string; from: string },
	source: string | null,
	now: number,
): Promise<void> {
	await tx.run(
		'UPDATE contact_addresses SET contact_id = $1, source = $2, last_seen = $3 WHERE kind = $4 AND value = $5',
		[m.contactId, source, now, m.a.kind, m.a.value],
	);
	// The address is no longer the old holder's: their consent no longer covers it.
	const states = await tx.query<Row>(
		'SELECT channel, purpose, addresses FROM consent_state WHERE contact_id = $1 AND addresses IS NOT NULL',
		[m.from],
	);
	for (const st of states) {
		const list = decodeAddresses(st.addresses);
		if (!list.includes(m.a.value)) continue;
		await tx.run(
			'UPDATE consent_state SET addresses = $1 WHERE contact_id = $2 AND channel = $3 AND purpose = $4',
			[
				encodeAddresses(list.filter((v) => v !== m.a.value)),
				m.from,
				st.channel as string,
				st.purpose as string,
			],
		);
	}
}

/** A name learned from a channel (a WhatsApp profile name) fills an empty profile, never overwrites. */
async function fillNames(
	tx: SqlDb,
	refs: PersonRef[],
	decided: ResolvedPerson[],
	now: number,
): Promise<void> {
	const names = decided.flatMap((d, i) =>
		d.known && d.contactId && !d.conflict && refs[i].profile?.name
			? [[d.contactId, refs[i].profile!.name!]]
			: [],
	);
	for (const [id, name] of names) {
		await tx.run(
			'UPDATE contacts SET name = $1, updated_at = $2 WHERE contact_id = $3 AND name IS NULL',
			[name, now, id],
		);
	}
}

async function linkAndCreate(
	tx: SqlDb,
	refs: PersonRef[],
	decided: ResolvedPerson[],
	options: ResolveOptions,
): Promise<ResolvedPerson[]> {
	const now = options.now ?? Date.now();
	const source = options.source ?? null;
	const move = options.onConflict === 'move';
	const creates = new Map<string, ProfileInput>();
	const links = new Map<string, { a: ContactAddress; contactId: string }>();
	const moves: Array<{ a: ContactAddress; contactId: string; from: string }> = [];
	decided.forEach((d, i) => {
		if (!d.contactId || (d.conflict && !move)) return;
		if (!d.known && options.create)
			creates.set(d.contactId, { ...creates.get(d.contactId), ...refs[i].profile });
		if (!options.link || (!d.known && !options.create)) return;
		for (const a of refs[i].addresses) {
			const owner = d.owners.get(addressKey(a));
			if (owner === undefined || owner === d.contactId)
				links.set(addressKey(a), { a, contactId: d.contactId });
			else if (move) moves.push({ a, contactId: d.contactId, from: owner });
		}
	});
	await insertRows(
		tx,
		'INSERT INTO contacts (contact_id, name, locale, time_zone, created_at, updated_at)',
		6,
		[...creates].map(([id, p]) => [
			id,
			p.name ?? null,
			p.locale ?? null,
			p.timeZone ?? null,
			now,
			now,
		]),
		'ON CONFLICT (contact_id) DO NOTHING',
	);
	await fillNames(tx, refs, decided, now);
	for (const m of moves) await moveAddress(tx, m, source, now);
	const linkRows = [...links.values()];
	for (const part of chunks(linkRows, CHUNK)) {
		await insertRows(
			tx,
			'INSERT INTO contact_addresses (kind, value, contact_id, source, first_seen, last_seen)',
			6,
			part.map((l) => [l.a.kind, l.a.value, l.contactId, source, now, now]),
			'ON CONFLICT (kind, value) DO UPDATE SET last_seen = excluded.last_seen WHERE contact_addresses.contact_id = excluded.contact_id',
		);
	}
	// Who owns them now: a concurrent execution may have linked one first (one owner, always).
	const touched = [...linkRows, ...moves];
	const after = touched.length
		? (await lookup(tx, [], [...new Set(touched.map((l) => l.a.value))])).byAddress
		: new Map<string, Owner>();
	return decided.map((d, i) => {
		if (!d.contactId || (d.conflict && !move)) return d;
		const res: ResolvedPerson = {
			...d,
			known: d.known || !!options.create,
			created: !d.known && !!options.create && creates.has(d.contactId),
		};
		if (move) delete res.conflict;
		for (const a of refs[i].addresses) {
			const o = after.get(addressKey(a));
			if (!o) continue;
			res.owners.set(addressKey(a), o.owner);
			if (o.owner !== d.contactId && !res.conflict) res.conflict = { address: a, owner: o.owner };
		}
		return res;
	});
}

/** The person's id and every id merged into it (erase and export work on all of them). */
export async function personIds(
	db: SqlDb,
	contactId: string,
): Promise<{ canonical: string; ids: string[] }> {
	const [row] = await db.query<Row>(
		'SELECT COALESCE(merged_into, contact_id) AS owner FROM contacts WHERE contact_id = $1',
		[contactId],
	);
	const canonical = row ? String(row.owner) : contactId;
	const merged = await db.query<Row>('SELECT contact_id FROM contacts WHERE merged_into = $1', [
		canonical,
	]);
	return {
		canonical,
		ids: [...new Set([canonical, contactId, ...merged.map((r) => String(r.contact_id))])],
	};
}
