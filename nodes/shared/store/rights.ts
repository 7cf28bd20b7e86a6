/**
 * Data subject rights: a person's export (GDPR art. 15/20) and erasure (art. 17), erased addresses remembered as hashes only.
 */
import { addressOfId } from '../address';
import type { Channel } from '../contact';
import { chunks, inList, insertRows, placeholders, type SqlDb } from './db';
import { CONTACT_TABLES } from './migrations';
import * as people from './people';
import { CHUNK, sha256, toConsentState, toLedger, toTouch, type Row } from './sql-rows';
import { findSuppressions } from './suppressions';
import type { ContactExport } from './types';
import { getAddresses, getProfiles } from './profiles';
import { tombstone } from './secret';

/** How erased addresses are remembered: a hash, never the address itself. */
export function addressHash(address: string): string {
	return sha256(`convergent-erased:${address.trim().toLowerCase()}`);
}

export async function exportContact(db: SqlDb, contactId: string): Promise<ContactExport> {
	const { canonical, ids } = await people.personIds(db, contactId);
	const list = placeholders(ids.length);
	const ledger = await db.query<Row>(
		`SELECT * FROM consent_events WHERE contact_id IN (${list}) ORDER BY occurred_at, id`,
		ids,
	);
	const states = await db.query<Row>(
		`SELECT * FROM consent_state WHERE contact_id IN (${list})`,
		ids,
	);
	const touches = await db.query<Row>(
		`SELECT * FROM touches WHERE contact_id IN (${list}) ORDER BY created_at`,
		ids,
	);
	const inbound = await db.query<Row>(`SELECT * FROM inbound WHERE contact_id IN (${list})`, ids);
	const book = await getAddresses(db, ids);
	const addresses = [
		...new Set(
			[...ledger.map((r) => r.address), ...book.map((a) => a.value)].filter(
				(a): a is string => typeof a === 'string',
			),
		),
	];
	const result: ContactExport = {
		contactId: canonical,
		ids,
		profile: (await getProfiles(db, [canonical])).get(canonical) ?? null,
		merges: await db.query(
			`SELECT from_id, into_id, actor, at FROM contact_merges WHERE from_id IN (${list}) OR into_id IN (${list}) ORDER BY at, id`,
			ids,
		),
		consentLedger: ledger.map(toLedger),
		consentStates: states.map(toConsentState),
		suppressions: addresses.length ? await findSuppressions(db, addresses) : [],
		touches: touches.map(toTouch),
		inbound: inbound.map((r) => ({
			contactId: String(r.contact_id),
			channel: r.channel as Channel,
			at: Number(r.last_at),
		})),
	};
	for (const extra of CONTACT_TABLES.filter(
		(t) => !['consent_events', 'consent_state', 'touches', 'inbound'].includes(t.table),
	)) {
		result[extra.exportAs] = await db.query(
			`SELECT * FROM ${extra.table} WHERE ${extra.column} IN (${list})`,
			ids,
		);
	}
	return result;
}

export async function eraseContact(
	db: SqlDb,
	addressSecret: () => Promise<string>,
	contactId: string,
	addresses: string[],
): Promise<{ tablesTouched: number; ids: string[] }> {
	const secret = await addressSecret();
	return await db.transaction(async (tx) => {
		const { ids } = await people.personIds(tx, contactId);
		const list = placeholders(ids.length);
		const known = await tx.query<Row>(
			`SELECT address FROM consent_events WHERE contact_id IN (${list}) AND address IS NOT NULL
			UNION SELECT value FROM contact_addresses WHERE contact_id IN (${list})`,
			ids,
		);
		const fromIds = ids.map((id) => addressOfId(id)?.value).filter((a): a is string => !!a);
		const all = [
			...new Set(
				[...addresses, ...fromIds, ...known.map((r) => String(r.address))]
					.map((a) => a.trim())
					.filter(Boolean),
			),
		];
		let tablesTouched = 0;
		const count = (r: { changes: number }) => {
			if (r.changes) tablesTouched++;
		};
		for (const { table, column } of CONTACT_TABLES)
			count(await tx.run(`DELETE FROM ${table} WHERE ${column} IN (${list})`, ids));
		count(
			await tx.run(
				`DELETE FROM contact_merges WHERE from_id IN (${list}) OR into_id IN (${list})`,
				ids,
			),
		);
		count(
			await tx.run(
				`DELETE FROM contacts WHERE contact_id IN (${list}) OR merged_into IN (${list})`,
				ids,
			),
		);
		// An event kept for replay that no person was tied to (a delivery status for a send the
		// log does not know) is erased by the addresses its JSON names, a phone with or without its +.
		const forms = [
			...new Set(all.flatMap((a) => [a, a.replace(/^\+/, '')]).filter((a) => a.length >= 5)),
		];
		const contains = db.dialect === 'sqlite' ? 'instr(event, $N) > 0' : 'strpos(event, $N) > 0';
		for (const part of chunks(forms, CHUNK)) {
			count(
				await tx.run(
					`DELETE FROM processed_ids WHERE event IS NOT NULL AND (${part.map((_, k) => contains.replace('$N', `$${k + 1}`)).join(' OR ')})`,
					part,
				),
			);
		}
		for (const part of chunks(all, CHUNK)) {
			count(
				await tx.run(
					`DELETE FROM suppressions WHERE address IN (${placeholders(part.length)})`,
					part,
				),
			);
			const now = Date.now();
			const hashes = [...new Set(part.map((a) => tombstone(secret, addressHash(a))))];
			await insertRows(
				tx,
				'INSERT INTO erased_addresses (address_hash, erased_at)',
				2,
				hashes.map((h) => [h, now]),
				'ON CONFLICT (address_hash) DO UPDATE SET erased_at = excluded.erased_at',
			);
		}
		return { tablesTouched, ids };
	});
}

export async function findErasedAddresses(
	db: SqlDb,
	addressSecret: () => Promise<string>,
	addresses: string[],
): Promise<Set<string>> {
	const found = new Set<string>();
	if (!addresses.length) return found;
	// A store where nobody was ever erased has no tombstone to match: no keyed hash per address
	// (an HMAC each, ~2 µs) and no lookups. One row is enough to take the full path.
	if (!(await db.query('SELECT 1 AS x FROM erased_addresses LIMIT 1')).length) return found;
	const secret = await addressSecret();
	// Distinct addresses have distinct tombstones (SHA-256 under one key).
	const byHash = new Map<string, string>();
	for (const a of new Set(addresses)) byHash.set(tombstone(secret, addressHash(a)), a);
	for (const chunk of chunks([...byHash.keys()], CHUNK)) {
		const within = inList(db, chunk);
		const rows = await db.query<Row>(
			`SELECT address_hash FROM erased_addresses WHERE address_hash ${within.sql}`,
			within.params,
		);
		for (const r of rows) {
			const a = byHash.get(String(r.address_hash));
			if (a !== undefined) found.add(a);
		}
	}
	return found;
}
