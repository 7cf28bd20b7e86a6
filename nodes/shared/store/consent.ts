/**
 * Consent: the ledger of every grant and withdrawal with its evidence, folded into the current state per person, channel and purpose under the time rule (consent-fold.ts).
 */
import { addressKindOf } from '../address';
import type { Channel } from '../contact';
import {
	LEDGER_FOLD_COLUMNS,
	countedFrom,
	encodeAddresses,
	foldConsent,
	groupLedgerRows,
	supersededBy,
	type FoldEvent,
} from './consent-fold';
import { chunks, inList, insertRows, valuesList, type SqlDb, type SqlParam } from './db';
import { CHUNK, sha256, str, toConsentState, toLedger, type Row } from './sql-rows';
import {
	consentKeyString,
	type ConsentEventInput,
	type ConsentEvidence,
	type ConsentKey,
	type ConsentLedgerEntry,
	type ConsentState,
} from './types';

export async function recordConsent(
	db: SqlDb,
	events: ConsentEventInput[],
): Promise<ConsentLedgerEntry[]> {
	const now = Date.now();
	const out: ConsentLedgerEntry[] = [];
	for (const chunk of chunks(events, CHUNK)) {
		await db.transaction(async (tx) => {
			const rows: SqlParam[] = [];
			// Nothing is dated after it was recorded (the time rule, consent-fold.ts).
			const dated = chunk.map((e) =>
				Number.isFinite(e.occurredAt) ? Math.min(e.occurredAt!, now) : now,
			);
			for (const [n, e] of chunk.entries()) {
				const ev = e.evidence;
				const wordingHash = ev.wordingHash ?? (ev.wording ? sha256(ev.wording) : null);
				rows.push(
					e.contactId,
					e.channel,
					e.purpose,
					e.address ?? null,
					e.action,
					e.keyword ?? null,
					ev.source,
					ev.wording ?? null,
					wordingHash,
					ev.wordingVersion ?? null,
					ev.ipAddress ?? null,
					ev.userAgent ?? null,
					ev.actor ?? null,
					ev.extra ? JSON.stringify(ev.extra) : null,
					dated[n],
					now,
				);
			}
			const inserted = await tx.query<Row>(
				`INSERT INTO consent_events (contact_id, channel, purpose, address, action, keyword, source, wording,
					wording_hash, wording_version, ip_address, user_agent, actor, extra, occurred_at, recorded_at)
				VALUES ${valuesList(chunk.length, 16)} RETURNING *`,
				rows,
			);
			const entries = inserted.map(toLedger);
			out.push(...entries);

			await foldIntoState(tx, chunk, dated, entries, now);
			const tokens = chunk.filter((e) => e.action === 'request' && e.confirmTokenHash);
			if (tokens.length) {
				const params: SqlParam[] = [];
				for (const e of tokens) {
					params.push(
						e.confirmTokenHash!,
						e.contactId,
						e.channel,
						e.purpose,
						e.address ?? null,
						e.confirmExpiresAt ?? now + 7 * 86400_000,
						now,
					);
				}
				await tx.run(
					`INSERT INTO consent_tokens (token_hash, contact_id, channel, purpose, address, expires_at, created_at)
					VALUES ${valuesList(tokens.length, 7)}`,
					params,
				);
			}
		});
	}
	return out;
}

/**
 * Current state: the ledger folded in the order the time rule gives (consent-fold.ts). Events
 * that count after the stored state apply on top of it; a withdrawal, or an event that counts no
 * later than the state (a late re-delivery), refolds that key's whole ledger, so arrival order
 * never decides and a withdrawal wins over all before it. An entry an event counted after it
 * outweighs is marked (supersededBy).
 */
type KeyedEvents = Map<
	string,
	{ key: ConsentKey; events: Array<FoldEvent & { recordedAt: number }> }
>;

/** The chunk's events grouped by person, channel and purpose, each at the time it counts from. */
function eventsByKey(
	chunk: ConsentEventInput[],
	dated: number[],
	entries: ConsentLedgerEntry[],
	now: number,
): KeyedEvents {
	const byKey: KeyedEvents = new Map();
	chunk.forEach((e, n) => {
		const k = consentKeyString(e);
		const entry = byKey.get(k) ?? {
			key: { contactId: e.contactId, channel: e.channel, purpose: e.purpose },
			events: [],
		};
		entry.events.push({
			action: e.action,
			keyword: e.keyword,
			occurredAt: dated[n],
			recordedAt: now,
			address: e.address,
			seq: entries[n].id,
		});
		byKey.set(k, entry);
	});
	return byKey;
}

async function foldIntoState(
	tx: SqlDb,
	chunk: ConsentEventInput[],
	dated: number[],
	entries: ConsentLedgerEntry[],
	now: number,
): Promise<void> {
	const byKey = eventsByKey(chunk, dated, entries, now);
	const current = await consentStatesTx(
		tx,
		[...byKey.values()].map((v) => v.key),
	);
	const refold = [...byKey].filter(([k, v]) => {
		const cur = current.get(k);
		return (
			cur &&
			v.events.some(
				(e) =>
					e.action === 'withdraw' ||
					Math.floor(e.occurredAt / 1000) <= Math.floor(cur.updatedAt / 1000),
			)
		);
	});
	const ledger = refold.length
		? await ledgerFoldEvents(
				tx,
				refold.map(([, v]) => v.key),
			)
		: new Map<string, FoldEvent[]>();
	const upserts: SqlParam[][] = [];
	const entryById = new Map(entries.map((e) => [e.id, e]));
	for (const [k, v] of byKey) {
		const cur = current.get(k);
		const counted = ledger.get(k) ?? countedFrom(v.events);
		const state = ledger.has(k)
			? foldConsent(counted)
			: foldConsent(
					counted,
					cur
						? {
								status: cur.status,
								restorable: cur.restorable === true,
								updatedAt: cur.updatedAt,
								addresses: cur.addresses ?? [],
							}
						: undefined,
				);
		// An event that an event counted after it outweighs says so (its item tells the user).
		for (const e of counted) {
			const entry = entryById.get(e.seq);
			const by = entry && supersededBy(e, state);
			if (by) entry.supersededBy = by;
		}
		if (!state.status) continue;
		upserts.push([
			v.key.contactId,
			v.key.channel,
			v.key.purpose,
			state.status,
			state.updatedAt,
			state.restorable ? 1 : 0,
			encodeAddresses(state.addresses),
		]);
	}
	await insertRows(
		tx,
		'INSERT INTO consent_state (contact_id, channel, purpose, status, updated_at, restorable, addresses)',
		7,
		upserts,
		'ON CONFLICT (contact_id, channel, purpose) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at, restorable = excluded.restorable, addresses = excluded.addresses',
	);
}

/** Every ledger event of these keys, as fold input (the ledger is indexed by contact). */
async function ledgerFoldEvents(db: SqlDb, keys: ConsentKey[]): Promise<Map<string, FoldEvent[]>> {
	const wanted = new Set(keys.map(consentKeyString));
	const map = new Map<string, FoldEvent[]>();
	for (const chunk of chunks([...new Set(keys.map((k) => k.contactId))], CHUNK)) {
		const within = inList(db, chunk);
		const rows = await db.query<Row>(
			`SELECT ${LEDGER_FOLD_COLUMNS} FROM consent_events WHERE contact_id ${within.sql}`,
			within.params,
		);
		for (const [k, { events }] of groupLedgerRows(rows)) if (wanted.has(k)) map.set(k, events);
	}
	return map;
}

async function consentStatesTx(db: SqlDb, keys: ConsentKey[]): Promise<Map<string, ConsentState>> {
	// Look up by contact id (the primary key's prefix, indexed in both databases), then keep
	// the wanted channel/purpose pairs: row-value IN lists defeat SQLite's index.
	const wanted = new Set(keys.map(consentKeyString));
	const contacts = [...new Set(keys.map((k) => k.contactId))];
	const map = new Map<string, ConsentState>();
	for (const chunk of chunks(contacts, CHUNK)) {
		const within = inList(db, chunk);
		const rows = await db.query<Row>(
			`SELECT contact_id, channel, purpose, status, updated_at, restorable, addresses FROM consent_state
			WHERE contact_id ${within.sql}`,
			within.params,
		);
		for (const r of rows) {
			// The other channels and purposes of these contacts are skipped before anything is built.
			const key = consentKeyString({
				contactId: String(r.contact_id),
				channel: r.channel as Channel,
				purpose: String(r.purpose),
			});
			if (!wanted.has(key)) continue;
			map.set(key, toConsentState(r));
		}
	}
	return map;
}

export async function getConsentStates(
	db: SqlDb,
	keys: ConsentKey[],
): Promise<Map<string, ConsentState>> {
	const unique = new Map(keys.map((k) => [consentKeyString(k), k]));
	return await consentStatesTx(db, [...unique.values()]);
}

export async function confirmConsent(
	db: SqlDb,
	tokenHash: string,
	evidence: ConsentEvidence,
	now = Date.now(),
) {
	return await db.transaction(async (tx) => {
		const [token] = await tx.query<Row>('SELECT * FROM consent_tokens WHERE token_hash = $1', [
			tokenHash,
		]);
		if (!token) return { outcome: 'unknown' as const };
		if (token.used_at !== null && token.used_at !== undefined) return { outcome: 'used' as const };
		if (Number(token.expires_at) < now) return { outcome: 'expired' as const };
		const { changes } = await tx.run(
			'UPDATE consent_tokens SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL',
			[now, tokenHash],
		);
		if (changes !== 1) return { outcome: 'used' as const };
		// The grant covers the address the request was made for, if it is still the person's (it
		// may have moved to someone else since the link was sent).
		let address = str(token.address);
		const kind = address ? addressKindOf(String(token.channel), address) : undefined;
		if (address && kind) {
			const [holder] = await tx.query<Row>(
				'SELECT contact_id FROM contact_addresses WHERE kind = $1 AND value = $2',
				[kind, address],
			);
			if (holder && String(holder.contact_id) !== String(token.contact_id)) address = undefined;
		}
		const [entry] = await recordConsentIn(tx, {
			contactId: String(token.contact_id),
			channel: token.channel as Channel,
			purpose: String(token.purpose),
			address,
			action: 'confirm',
			evidence,
			occurredAt: now,
		});
		return { outcome: 'confirmed' as const, entry };
	});
}

/** recordConsent inside an open transaction (SQLite/PG transactions nest into the outer one). */
async function recordConsentIn(tx: SqlDb, event: ConsentEventInput): Promise<ConsentLedgerEntry[]> {
	return await recordConsent(tx, [event]);
}
