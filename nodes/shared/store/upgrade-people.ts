/**
 * Migration 007's data step: a store written before people existed upgrades in place.
 * - The store gets its secret, and every old tombstone (SHA-256 of the address) becomes the
 *   keyed tombstone (HMAC of that SHA-256), so erased addresses stay recognised.
 * - Every id already present in any table becomes a contact.
 * - Addresses: those recorded with consent events (oldest first: the first holder keeps an
 *   address), then the addresses that ids stand for (an inbound phone id holds its phone).
 * - Consent states learn the addresses their grants covered (the ledger folded again).
 */
import { addressKindOf, addressOfId } from '../address';
import { encodeAddresses, foldConsent, groupLedgerRows, LEDGER_FOLD_COLUMNS } from './consent-fold';
import { chunks, insertRows, valuesList, type SqlDb, type SqlParam } from './db';
import { ensureSecret, tombstone } from './secret';

type Row = Record<string, unknown>;

const ID_TABLES = [
	'consent_events',
	'consent_state',
	'consent_tokens',
	'touches',
	'inbound',
	'engagement',
	'journey_state',
	'journey_events',
	'conversation_turns',
	'form_sessions',
];

export async function upgradeToPeople(tx: SqlDb): Promise<void> {
	const now = Date.now();
	const secret = await ensureSecret(tx);

	await rekeyTombstones(tx, secret);

	await tx.run(
		`INSERT INTO contacts (contact_id, created_at, updated_at)
		SELECT DISTINCT contact_id, CAST($1 AS BIGINT), CAST($1 AS BIGINT) FROM (${ID_TABLES.map((t) => `SELECT contact_id FROM ${t}`).join(' UNION ')}) ids
		WHERE contact_id IS NOT NULL ON CONFLICT (contact_id) DO NOTHING`,
		[now],
	);

	const ledger = await tx.query<Row>(
		`SELECT ${LEDGER_FOLD_COLUMNS} FROM consent_events ORDER BY occurred_at, id`,
	);
	const links: SqlParam[][] = [];
	for (const r of ledger) {
		if (r.address == null || r.action === 'withdraw') continue;
		const kind = addressKindOf(String(r.channel), String(r.address));
		if (kind)
			links.push([
				kind,
				String(r.address),
				String(r.contact_id),
				'upgrade:consent',
				Number(r.occurred_at),
				Number(r.occurred_at),
			]);
	}
	const ids = await tx.query<Row>('SELECT contact_id, created_at FROM contacts');
	for (const r of ids) {
		const a = addressOfId(String(r.contact_id));
		if (a)
			links.push([
				a.kind,
				a.value,
				String(r.contact_id),
				'upgrade:id',
				Number(r.created_at),
				Number(r.created_at),
			]);
	}
	for (const part of chunks(links, 300)) {
		// The first holder keeps an address; a statement cannot touch one key twice in PostgreSQL.
		const unique = [...new Map(part.reverse().map((l) => [`${l[0]}:${l[1]}`, l])).values()];
		await insertRows(
			tx,
			'INSERT INTO contact_addresses (kind, value, contact_id, source, first_seen, last_seen)',
			6,
			unique,
			'ON CONFLICT (kind, value) DO NOTHING',
		);
	}

	// A consent covers only addresses its contact holds (the first holder of an address kept it).
	const owner = new Map(
		(await tx.query<Row>('SELECT value, contact_id FROM contact_addresses')).map((r) => [
			String(r.value),
			String(r.contact_id),
		]),
	);
	const updates = [...groupLedgerRows(ledger).values()].flatMap(({ key, events }) => {
		const addresses = (foldConsent(events).addresses ?? []).filter(
			(a) => owner.get(a) === key.contactId,
		);
		return addresses.length
			? [[key.contactId, key.channel, key.purpose, encodeAddresses(addresses)]]
			: [];
	});
	for (const part of chunks(updates, 300)) {
		await tx.run(
			`UPDATE consent_state SET addresses = v.column4 FROM (VALUES ${valuesList(part.length, 4)}) AS v
			WHERE consent_state.contact_id = v.column1 AND consent_state.channel = v.column2 AND consent_state.purpose = v.column3`,
			part.flat(),
		);
	}
}

/** Tombstones written before the store had a secret, keyed under it (tombstone()). */
async function rekeyTombstones(tx: SqlDb, secret: string): Promise<void> {
	const old = await tx.query<Row>('SELECT address_hash, erased_at FROM erased_addresses');
	if (old.length) {
		await tx.run('DELETE FROM erased_addresses');
		for (const part of chunks(old, 300)) {
			await insertRows(
				tx,
				'INSERT INTO erased_addresses (address_hash, erased_at)',
				2,
				part.map((r) => [tombstone(secret, String(r.address_hash)), Number(r.erased_at)]),
				'ON CONFLICT (address_hash) DO NOTHING',
			);
		}
	}
}
