/**
 * The Store contract implemented once over SqlDb, for SQLite and PostgreSQL alike.
 * Every list method works in chunks: a fixed number of statements per chunk, never per item.
 */
import { createHmac, hash } from 'node:crypto';

import { mapLimit } from '../pool';
import { MAX_PAUSE_MS, SLOW_DOWN } from '../rate';
import type { Channel } from '../contact';
import {
	chunks,
	inList,
	insertRows,
	placeholders,
	valuesList,
	type SqlDb,
	type SqlParam,
} from './db';
import {
	countedFrom,
	decodeAddresses,
	encodeAddresses,
	foldConsent,
	groupLedgerRows,
	LEDGER_FOLD_COLUMNS,
	supersededBy,
	type FoldEvent,
} from './consent-fold';
import { addressKindOf, addressOfId } from '../address';
import { CONTACT_TABLES, migrate } from './migrations';
import * as people from './people';
import type {
	AddressRecord,
	ClaimResult,
	PersonRef,
	ProfileInput,
	ResolvedPerson,
	AbMetric,
	AiUsageRow,
	CampaignReport,
	InAppMessage,
	TrackedLink,
	AiUsageTotal,
	ResolveOptions,
	ConsentEventInput,
	ConsentEvidence,
	ConsentKey,
	ConsentLedgerEntry,
	ConsentState,
	ConsentStatus,
	ContactExport,
	FormSession,
	InboxEvent,
	InboxKey,
	InboundRecord,
	JourneyStateRow,
	JourneyTransitionRow,
	ReservationRequest,
	ReservationResult,
	Store,
	SuppressionEntry,
	TouchRecord,
} from './types';
import { consentKeyString, inboundKeyString } from './types';

const CHUNK = 300;
/**
 * SQLite reservations per write transaction. Idempotency keys are hashes, so each chunk's inserts
 * land on pages all over the key index: every transaction rewrites those pages into the WAL. One
 * transaction for many chunks writes each page once (100,000 reservations: about half the time);
 * the write lock is held for ~0.1-0.3 s, well inside the 10 s busy timeout other writers wait.
 */
const SQLITE_RESERVE_TX = 10_000;
/** How far back a message counts as a reply to a send (reports take a shorter Reply Window within it). */
export const REPLY_LOOKBACK_MS = 30 * 86_400_000;

export function sha256(text: string): string {
	return hash('sha256', text, 'hex');
}

/** How erased addresses are remembered: a hash, never the address itself. */
export function addressHash(address: string): string {
	return sha256(`convergent-erased:${address.trim().toLowerCase()}`);
}

type Row = Record<string, unknown>;

const str = (v: unknown) => (v === null || v === undefined ? undefined : String(v));

function toTouch(r: Row): TouchRecord {
	return {
		idempotencyKey: String(r.idempotency_key),
		contactId: String(r.contact_id),
		channel: r.channel as Channel,
		purpose: String(r.purpose),
		campaign: str(r.campaign),
		status: r.status as TouchRecord['status'],
		providerMessageId: str(r.provider_message_id),
		errorCode: str(r.error_code),
		errorMessage: str(r.error_message),
		deliveryStatus: str(r.delivery_status),
		variant: str(r.variant),
		createdAt: Number(r.created_at),
		updatedAt: Number(r.updated_at),
		...(r.sent_at != null ? { sentAt: Number(r.sent_at) } : {}),
		...(r.complained_at != null ? { complainedAt: Number(r.complained_at) } : {}),
		...(r.bounced_at != null ? { bouncedAt: Number(r.bounced_at) } : {}),
	};
}

function toJourneyState(r: Row): JourneyStateRow {
	const st: JourneyStateRow = { stage: String(r.stage), enteredAt: Number(r.entered_at) };
	if (r.goal_reached_at !== null && r.goal_reached_at !== undefined)
		st.goalReachedAt = Number(r.goal_reached_at);
	if (r.exited_at !== null && r.exited_at !== undefined) st.exitedAt = Number(r.exited_at);
	return st;
}

function toLedger(r: Row): ConsentLedgerEntry {
	const evidence: ConsentEvidence = { source: String(r.source) };
	if (r.wording != null) evidence.wording = String(r.wording);
	if (r.wording_hash != null) evidence.wordingHash = String(r.wording_hash);
	if (r.wording_version != null) evidence.wordingVersion = String(r.wording_version);
	if (r.ip_address != null) evidence.ipAddress = String(r.ip_address);
	if (r.user_agent != null) evidence.userAgent = String(r.user_agent);
	if (r.actor != null) evidence.actor = String(r.actor);
	if (r.extra != null) evidence.extra = JSON.parse(String(r.extra));
	return {
		id: Number(r.id),
		contactId: String(r.contact_id),
		channel: r.channel as Channel,
		purpose: String(r.purpose),
		address: str(r.address),
		action: r.action as ConsentEventInput['action'],
		...(r.keyword != null ? { keyword: String(r.keyword) as 'stop' | 'start' } : {}),
		evidence,
		occurredAt: Number(r.occurred_at),
		recordedAt: Number(r.recorded_at),
	};
}

/**
 * Where a delivery status stands in a message's life: a status replaces only a lower one. Unknown
 * statuses rank 1, above none (so they are kept), below everything providers report in order.
 */
const DELIVERY_RANKS: Record<string, number> = {
	sent: 2,
	delivered: 3,
	read: 4,
	clicked: 5,
	undelivered: 6,
	failed: 6,
	bounced: 7,
	complaint: 8,
};
export function deliveryRank(status: string): number {
	return DELIVERY_RANKS[status] ?? 1;
}
const DELIVERY_RANK_SQL = `(CASE COALESCE(delivery_status, '') ${Object.entries(DELIVERY_RANKS)
	.map(([k, v]) => `WHEN '${k}' THEN ${v}`)
	.join(' ')} WHEN '' THEN 0 ELSE 1 END)`;

/**
 * What a send led to, as SQL over the touches row `t` (Campaign Report and Pick A/B Winner share
 * them): a reply on its channel within the window, the journey's goal within the window, each
 * measured from when the message left (LEFT_AT), never before it.
 */
const LEFT_AT = 'COALESCE(t.sent_at, t.created_at)';
const REPLIED_WITHIN = (window: string) =>
	`t.replied_at >= ${LEFT_AT} AND t.replied_at <= ${LEFT_AT} + ${window}`;
const CONVERTED_WITHIN = (journey: string, window: string) =>
	`EXISTS (SELECT 1 FROM journey_state j WHERE j.journey = ${journey} AND j.contact_id = t.contact_id AND j.goal_reached_at >= ${LEFT_AT} AND j.goal_reached_at <= ${LEFT_AT} + ${window})`;

/** The later of a key's next free slot on the shared rate clock and $2 (µs): now, or a pause's end. */
const NEXT_OR_GIVEN =
	'CASE WHEN rate_slots.next_at > CAST($2 AS BIGINT) THEN rate_slots.next_at ELSE CAST($2 AS BIGINT) END';
// A slot is never further than MAX_PAUSE_MS ahead: a clock pushed further (by an answer from
// before the bound, or a worker's clock running ahead) recovers at the next slot taken.
const NEXT_WITHIN_PAUSE = `CASE WHEN rate_slots.next_at > CAST($2 AS BIGINT) + ${MAX_PAUSE_MS * 1000} THEN CAST($2 AS BIGINT) + ${MAX_PAUSE_MS * 1000} ELSE ${NEXT_OR_GIVEN} END`;

export class SqlStore implements Store {
	private initialised?: Promise<void>;

	constructor(
		readonly db: SqlDb,
		private readonly schema?: string,
	) {}

	get dialect() {
		return this.db.dialect;
	}

	init(): Promise<void> {
		this.initialised ??= migrate(this.db, this.schema).then(() => undefined);
		return this.initialised;
	}

	async close(): Promise<void> {
		await this.db.close();
	}

	// ---- consent -------------------------------------------------------------------------

	async recordConsent(events: ConsentEventInput[]): Promise<ConsentLedgerEntry[]> {
		const now = Date.now();
		const out: ConsentLedgerEntry[] = [];
		for (const chunk of chunks(events, CHUNK)) {
			await this.db.transaction(async (tx) => {
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

				await this.foldIntoState(tx, chunk, dated, entries, now);
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
	private async foldIntoState(
		tx: SqlDb,
		chunk: ConsentEventInput[],
		dated: number[],
		entries: ConsentLedgerEntry[],
		now: number,
	): Promise<void> {
		const byKey = new Map<
			string,
			{ key: ConsentKey; events: Array<FoldEvent & { recordedAt: number }> }
		>();
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
		const current = await this.consentStatesTx(
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
			? await this.ledgerFoldEvents(
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
	private async ledgerFoldEvents(db: SqlDb, keys: ConsentKey[]): Promise<Map<string, FoldEvent[]>> {
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

	private async consentStatesTx(db: SqlDb, keys: ConsentKey[]): Promise<Map<string, ConsentState>> {
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
				const state: ConsentState = {
					contactId: String(r.contact_id),
					channel: r.channel as Channel,
					purpose: String(r.purpose),
					status: r.status as ConsentStatus,
					updatedAt: Number(r.updated_at),
					addresses: decodeAddresses(r.addresses),
				};
				if (Number(r.restorable) === 1) state.restorable = true;
				map.set(key, state);
			}
		}
		return map;
	}

	async getConsentStates(keys: ConsentKey[]): Promise<Map<string, ConsentState>> {
		const unique = new Map(keys.map((k) => [consentKeyString(k), k]));
		return await this.consentStatesTx(this.db, [...unique.values()]);
	}

	async confirmConsent(tokenHash: string, evidence: ConsentEvidence, now = Date.now()) {
		return await this.db.transaction(async (tx) => {
			const [token] = await tx.query<Row>('SELECT * FROM consent_tokens WHERE token_hash = $1', [
				tokenHash,
			]);
			if (!token) return { outcome: 'unknown' as const };
			if (token.used_at !== null && token.used_at !== undefined)
				return { outcome: 'used' as const };
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
			const [entry] = await this.recordConsentIn(tx, {
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
	private async recordConsentIn(
		tx: SqlDb,
		event: ConsentEventInput,
	): Promise<ConsentLedgerEntry[]> {
		const inner = new SqlStore(tx);
		return await inner.recordConsent([event]);
	}

	// ---- suppression ---------------------------------------------------------------------

	async addSuppressions(entries: SuppressionEntry[]): Promise<void> {
		const now = Date.now();
		for (const chunk of chunks(entries, CHUNK)) {
			const params: SqlParam[] = [];
			for (const e of chunk)
				params.push(e.address, e.channel ?? '', e.reason, e.note ?? null, e.createdAt ?? now);
			await this.db.run(
				`INSERT INTO suppressions (address, channel, reason, note, created_at) VALUES ${valuesList(chunk.length, 5)}
				ON CONFLICT (address, channel) DO UPDATE SET reason = excluded.reason, note = excluded.note`,
				params,
			);
		}
	}

	async removeSuppressions(
		entries: Array<{ address: string; channel?: Channel }>,
	): Promise<number> {
		let removed = 0;
		for (const chunk of chunks(entries, CHUNK)) {
			const params: SqlParam[] = [];
			for (const e of chunk) params.push(e.address, e.channel ?? '');
			const r = await this.db.run(
				`DELETE FROM suppressions WHERE (address, channel) IN (VALUES ${valuesList(chunk.length, 2)})`,
				params,
			);
			removed += r.changes;
		}
		return removed;
	}

	async findSuppressions(addresses: string[]): Promise<SuppressionEntry[]> {
		const out: SuppressionEntry[] = [];
		for (const chunk of chunks([...new Set(addresses)], CHUNK)) {
			const within = inList(this.db, chunk);
			const rows = await this.db.query<Row>(
				`SELECT address, channel, reason, note, created_at FROM suppressions WHERE address ${within.sql}`,
				within.params,
			);
			for (const r of rows) {
				out.push({
					address: String(r.address),
					channel: r.channel ? (r.channel as Channel) : undefined,
					reason: String(r.reason),
					note: str(r.note),
					createdAt: Number(r.created_at),
				});
			}
		}
		return out;
	}

	// ---- touches -------------------------------------------------------------------------

	async reserveTouches(
		requests: ReservationRequest[],
		now = Date.now(),
	): Promise<ReservationResult[]> {
		const groups = chunks(requests, this.db.dialect === 'sqlite' ? SQLITE_RESERVE_TX : CHUNK);
		const reserve = (group: ReservationRequest[]) =>
			this.db.transaction(async (tx) => {
				const out: ReservationResult[] = [];
				for (const chunk of chunks(group, CHUNK))
					out.push(...(await this.reserveChunk(tx, chunk, now)));
				return out;
			});
		// PostgreSQL, when no contact is in two chunks: two chunks reserve side by side on two pool
		// connections (their per-contact locks never meet), so the server works on one while this
		// process prepares the next. A contact in several chunks keeps them in order: its caps count
		// its touches in the order of the items.
		const parallel =
			this.db.dialect === 'postgres' &&
			groups.length > 1 &&
			new Set(requests.map((r) => r.contactId)).size === requests.length;
		const results = parallel ? await mapLimit(groups, 2, reserve) : [];
		if (!parallel) for (const group of groups) results.push(await reserve(group));
		return results.flat();
	}

	private async reserveChunk(
		tx: SqlDb,
		chunk: ReservationRequest[],
		now: number,
	): Promise<ReservationResult[]> {
		const contacts = [...new Set(chunk.map((r) => r.contactId))].sort();
		if (tx.dialect === 'postgres') {
			// Per-contact locks, taken in a fixed order: two workers reserving for the same contact
			// are serialised; different contacts do not wait for each other.
			await tx.query(
				`SELECT pg_advisory_xact_lock(hashtext(c)) FROM (SELECT unnest($1::text[]) AS c ORDER BY 1) s`,
				[contacts as unknown as SqlParam],
			);
		}
		const keys = chunk.map((r) => r.idempotencyKey);
		const existing = new Map<string, TouchRecord>();
		const byKey = inList(tx, keys);
		for (const r of await tx.query<Row>(
			`SELECT * FROM touches WHERE idempotency_key ${byKey.sql}`,
			byKey.params,
		)) {
			existing.set(String(r.idempotency_key), toTouch(r));
		}
		const maxWindow = Math.max(0, ...chunk.flatMap((r) => r.caps.map((c) => c.windowMs)));
		// Touches counted by caps, per contact: reserved or sent (failed ones do not count).
		const counted = new Map<string, Array<{ channel: string; purpose: string; at: number }>>();
		if (maxWindow > 0) {
			const byContact = inList(tx, contacts, 2);
			const rows = await tx.query<Row>(
				`SELECT contact_id, channel, purpose, created_at FROM touches
				WHERE created_at > $1 AND contact_id ${byContact.sql} AND status IN ('reserved', 'sending', 'sent', 'unknown')`,
				[now - maxWindow, ...byContact.params],
			);
			for (const r of rows) {
				const list = counted.get(String(r.contact_id)) ?? [];
				list.push({
					channel: String(r.channel),
					purpose: String(r.purpose),
					at: Number(r.created_at),
				});
				counted.set(String(r.contact_id), list);
			}
		}
		const results: ReservationResult[] = [];
		const inserts: SqlParam[][] = [];
		for (const req of chunk) {
			const prior = existing.get(req.idempotencyKey);
			// A touch that failed provably never reached the person (the provider refused it, or the
			// connection was refused): the next run may take it again, under the caps like a new one.
			const retake =
				prior?.status === 'failed' &&
				prior.contactId === req.contactId &&
				prior.channel === req.channel &&
				prior.purpose === req.purpose;
			if (prior && !retake) {
				results.push({ idempotencyKey: req.idempotencyKey, outcome: 'duplicate', existing: prior });
				continue;
			}
			const touches = counted.get(req.contactId) ?? [];
			let capped: ReservationResult | undefined;
			for (const cap of req.caps) {
				const inWindow = touches
					.filter(
						(t) =>
							t.at > now - cap.windowMs &&
							(cap.channel === undefined || t.channel === cap.channel) &&
							(cap.purpose === undefined || t.purpose === cap.purpose),
					)
					.map((t) => t.at)
					.sort((a, b) => a - b);
				if (inWindow.length >= cap.max) {
					// Room again when enough of the oldest touches have left the window.
					const retryAt = inWindow[inWindow.length - cap.max] + cap.windowMs;
					if (!capped || retryAt > (capped as { retryAt: number }).retryAt) {
						capped = {
							idempotencyKey: req.idempotencyKey,
							outcome: 'capped',
							capId: cap.id,
							retryAt,
						};
					}
				}
			}
			if (capped) {
				results.push(capped);
				continue;
			}
			touches.push({ channel: req.channel, purpose: req.purpose, at: now });
			counted.set(req.contactId, touches);
			existing.set(req.idempotencyKey, {
				idempotencyKey: req.idempotencyKey,
				contactId: req.contactId,
				channel: req.channel,
				purpose: req.purpose,
				campaign: req.campaign,
				status: 'reserved',
				createdAt: now,
				updatedAt: now,
			});
			inserts.push([
				req.idempotencyKey,
				req.contactId,
				req.channel,
				req.purpose,
				req.campaign ?? null,
				'reserved',
				now,
				now,
			]);
			results.push({ idempotencyKey: req.idempotencyKey, outcome: 'reserved' });
		}
		await insertRows(
			tx,
			'INSERT INTO touches (idempotency_key, contact_id, channel, purpose, campaign, status, created_at, updated_at)',
			8,
			inserts,
			`ON CONFLICT (idempotency_key) DO UPDATE SET status = 'reserved', created_at = excluded.created_at, updated_at = excluded.updated_at,
			provider_message_id = NULL, error_code = NULL, error_message = NULL, delivery_status = NULL WHERE touches.status = 'failed'`,
			['text', 'text', 'text', 'text', 'text', 'text', 'int8', 'int8'],
		);
		return results;
	}

	async completeTouch(
		idempotencyKey: string,
		outcome:
			| { status: 'sent'; providerMessageId?: string; variant?: string }
			| {
					status: 'failed' | 'unknown';
					errorCode?: string;
					errorMessage?: string;
					variant?: string;
			  },
	): Promise<void> {
		const now = Date.now();
		if (outcome.status === 'sent') {
			// It left when it was claimed, just before its request (Touchpoint claims every send; a
			// touch completed without a claim left when it was reserved). A reply kept from before then
			// (written while a re-run's earlier attempt failed) is not a reply to it.
			const left = `CASE WHEN status = 'sending' THEN updated_at ELSE created_at END`;
			await this.db.run(
				`UPDATE touches SET status = 'sent', provider_message_id = $1, error_code = NULL, error_message = NULL, updated_at = $2, variant = COALESCE($4, variant),
					sent_at = ${left}, replied_at = CASE WHEN replied_at >= ${left} THEN replied_at ELSE NULL END
				WHERE idempotency_key = $3`,
				[outcome.providerMessageId ?? null, now, idempotencyKey, outcome.variant ?? null],
			);
		} else {
			// The A/B arm is kept whatever the outcome, so a refused send counts under its arm.
			await this.db.run(
				`UPDATE touches SET status = $1, error_code = $2, error_message = $3, updated_at = $4, variant = COALESCE($6, variant)
				WHERE idempotency_key = $5 AND status <> 'sent'`,
				[
					outcome.status,
					outcome.errorCode ?? null,
					outcome.errorMessage ?? null,
					now,
					idempotencyKey,
					outcome.variant ?? null,
				],
			);
		}
	}

	async claimTouches(
		idempotencyKeys: string[],
		now = Date.now(),
	): Promise<Map<string, ClaimResult>> {
		const result = new Map<string, ClaimResult>();
		for (const chunk of chunks([...new Set(idempotencyKeys)], CHUNK)) {
			// One conditional UPDATE: a row moves from reserved to sending for exactly one caller.
			const keys = inList(this.db, chunk, 2);
			const claimed = await this.db.transaction((tx) =>
				tx.query<{ idempotency_key: string }>(
					`UPDATE touches SET status = 'sending', updated_at = $1
					WHERE status = 'reserved' AND idempotency_key ${keys.sql} RETURNING idempotency_key`,
					[now, ...keys.params],
				),
			);
			for (const r of claimed) result.set(r.idempotency_key, 'claimed');
			const rest = chunk.filter((k) => !result.has(k));
			if (!rest.length) continue;
			const within = inList(this.db, rest);
			const rows = await this.db.query<{ idempotency_key: string; status: string }>(
				`SELECT idempotency_key, status FROM touches WHERE idempotency_key ${within.sql}`,
				within.params,
			);
			const status = new Map(rows.map((r) => [r.idempotency_key, r.status]));
			for (const k of rest) {
				const s = status.get(k);
				result.set(
					k,
					s === 'sent' || s === 'sending' || s === 'failed' || s === 'unknown'
						? s
						: s === 'reserved'
							? 'sending'
							: 'missing',
				);
			}
		}
		return result;
	}

	async releaseTouches(idempotencyKeys: string[]): Promise<void> {
		for (const chunk of chunks([...new Set(idempotencyKeys)], CHUNK)) {
			const within = inList(this.db, chunk);
			await this.db.run(
				`DELETE FROM touches WHERE status = 'reserved' AND idempotency_key ${within.sql}`,
				within.params,
			);
		}
	}

	async getTouches(idempotencyKeys: string[]): Promise<Map<string, TouchRecord>> {
		const map = new Map<string, TouchRecord>();
		for (const chunk of chunks([...new Set(idempotencyKeys)], CHUNK)) {
			const within = inList(this.db, chunk);
			const rows = await this.db.query<Row>(
				`SELECT * FROM touches WHERE idempotency_key ${within.sql}`,
				within.params,
			);
			for (const r of rows) map.set(String(r.idempotency_key), toTouch(r));
		}
		return map;
	}

	async updateDeliveryStatus(
		providerMessageId: string,
		deliveryStatus: string,
	): Promise<TouchRecord | undefined> {
		// Statuses arrive out of order (WhatsApp's "read" often before its "delivered"): a status
		// replaces only one earlier in the message's life, so a late "delivered" never hides a "read".
		// A complaint or a bounce is kept beside what happened before it, never over it: a complaint
		// means the message was delivered; a bounce after a delivery, read or click leaves those.
		const delivered = deliveryRank('delivered');
		const [row] = await this.db.query<Row>(
			`UPDATE touches SET
				delivery_status = CASE
					WHEN $1 = 'complaint' THEN (CASE WHEN ${DELIVERY_RANK_SQL} < ${delivered} THEN 'delivered' ELSE delivery_status END)
					WHEN $1 = 'bounced' AND ${DELIVERY_RANK_SQL} >= ${delivered} AND ${DELIVERY_RANK_SQL} < $4 THEN delivery_status
					WHEN ${DELIVERY_RANK_SQL} < $4 THEN $1 ELSE delivery_status END,
				complained_at = CASE WHEN $1 = 'complaint' THEN COALESCE(complained_at, CAST($2 AS BIGINT)) ELSE complained_at END,
				bounced_at = CASE WHEN $1 = 'bounced' THEN COALESCE(bounced_at, CAST($2 AS BIGINT)) ELSE bounced_at END,
				updated_at = $2
			WHERE provider_message_id = $3 RETURNING *`,
			[deliveryStatus, Date.now(), providerMessageId, deliveryRank(deliveryStatus)],
		);
		return row ? toTouch(row) : undefined;
	}

	// ---- inbound -------------------------------------------------------------------------

	async recordInbound(records: InboundRecord[]): Promise<void> {
		const latest = new Map<string, InboundRecord>();
		for (const r of records) {
			const k = inboundKeyString(r.contactId, r.channel);
			const prev = latest.get(k);
			if (!prev || prev.at < r.at) latest.set(k, r);
		}
		for (const chunk of chunks([...latest.values()], CHUNK)) {
			const params: SqlParam[] = [];
			for (const r of chunk) params.push(r.contactId, r.channel, r.at);
			await this.db.run(
				`INSERT INTO inbound (contact_id, channel, last_at) VALUES ${valuesList(chunk.length, 3)}
				ON CONFLICT (contact_id, channel) DO UPDATE SET last_at = CASE WHEN excluded.last_at > inbound.last_at THEN excluded.last_at ELSE inbound.last_at END`,
				params,
			);
		}
		// Each message is a reply to the sends before it on its channel (within REPLY_LOOKBACK_MS):
		// the earliest message after a send is kept on it, whatever order the messages arrive in.
		for (const r of records) {
			await this.db.run(
				`UPDATE touches SET replied_at = $1
				WHERE contact_id = $2 AND channel = $3 AND COALESCE(sent_at, created_at) < $1 AND COALESCE(sent_at, created_at) >= $4 AND (replied_at IS NULL OR replied_at > $1)`,
				[r.at, r.contactId, r.channel, r.at - REPLY_LOOKBACK_MS],
			);
		}
	}

	async getLastInbound(
		keys: Array<{ contactId: string; channel: Channel }>,
	): Promise<Map<string, number>> {
		const wanted = new Set(keys.map((k) => inboundKeyString(k.contactId, k.channel)));
		const map = new Map<string, number>();
		for (const chunk of chunks([...new Set(keys.map((k) => k.contactId))], CHUNK)) {
			const within = inList(this.db, chunk);
			const rows = await this.db.query<Row>(
				`SELECT contact_id, channel, last_at FROM inbound WHERE contact_id ${within.sql}`,
				within.params,
			);
			for (const r of rows) {
				const key = inboundKeyString(String(r.contact_id), r.channel as Channel);
				if (wanted.has(key)) map.set(key, Number(r.last_at));
			}
		}
		return map;
	}

	// ---- shared rate limits ------------------------------------------------------------------

	async takeRateSlot(key: string, intervalUs: number, nowUs: number): Promise<number> {
		// One statement, atomic in both databases (every right-hand side reads the row as it was):
		// the slot after the key's last one, or now; the next one a slowed interval on, and the slow
		// factor a step back towards 1 (limiter.ts spedUp).
		const spedUp = `rate_slots.slow_factor * (1 - CAST($4 AS DOUBLE PRECISION) / rate_slots.slow_streak)`;
		const [row] = await this.db.query<Row>(
			`INSERT INTO rate_slots (key, next_at, slot_at, slow_factor, slowed_at, slow_streak) VALUES ($1, CAST($2 AS BIGINT) + CAST($3 AS BIGINT), CAST($2 AS BIGINT), 1, 0, 1)
			ON CONFLICT (key) DO UPDATE SET
				slot_at = ${NEXT_WITHIN_PAUSE},
				next_at = ${NEXT_WITHIN_PAUSE} + CAST(ROUND(CAST($3 AS BIGINT) * rate_slots.slow_factor) AS BIGINT),
				slow_factor = CASE WHEN ${spedUp} > 1 THEN ${spedUp} ELSE 1 END
			RETURNING slot_at`,
			[key, Math.round(nowUs), Math.round(intervalUs), 1 - SLOW_DOWN.speedUp],
		);
		return Number(row.slot_at);
	}

	async slowRate(key: string, intervalUs: number, nowUs: number): Promise<void> {
		// The 429s of one burst (SLOW_DOWN.burstMs) slow the key once, and a burst within calmMs of
		// the one before lengthens the streak; each 429 gives back one turn. (As the local queue.)
		const since = `CAST($2 AS BIGINT) - rate_slots.slowed_at`;
		const sameBurst = `${since} < CAST($4 AS BIGINT)`;
		const slowed = `CASE WHEN ${sameBurst} THEN rate_slots.slow_factor
			WHEN rate_slots.slow_factor * CAST($5 AS DOUBLE PRECISION) > CAST($6 AS DOUBLE PRECISION) THEN CAST($6 AS DOUBLE PRECISION)
			ELSE rate_slots.slow_factor * CAST($5 AS DOUBLE PRECISION) END`;
		await this.db.run(
			`INSERT INTO rate_slots (key, next_at, slot_at, slow_factor, slowed_at, slow_streak) VALUES ($1, CAST($2 AS BIGINT) + CAST(ROUND(CAST($3 AS BIGINT) * CAST($5 AS DOUBLE PRECISION)) AS BIGINT), CAST($2 AS BIGINT), CAST($5 AS DOUBLE PRECISION), CAST($2 AS BIGINT), 1)
			ON CONFLICT (key) DO UPDATE SET
				slow_factor = ${slowed},
				slow_streak = CASE WHEN ${sameBurst} THEN rate_slots.slow_streak
					WHEN ${since} >= CAST($7 AS BIGINT) THEN 1
					WHEN rate_slots.slow_streak >= CAST($8 AS INTEGER) THEN CAST($8 AS INTEGER)
					ELSE rate_slots.slow_streak + 1 END,
				slowed_at = CASE WHEN ${sameBurst} THEN rate_slots.slowed_at ELSE CAST($2 AS BIGINT) END,
				next_at = ${NEXT_OR_GIVEN} + CAST(ROUND(CAST($3 AS BIGINT) * (${slowed})) AS BIGINT)`,
			[
				key,
				Math.round(nowUs),
				Math.round(intervalUs),
				SLOW_DOWN.burstMs * 1000,
				SLOW_DOWN.by,
				SLOW_DOWN.max,
				SLOW_DOWN.calmMs * 1000,
				SLOW_DOWN.maxStreak,
			],
		);
	}

	/** How far PostgreSQL's clock is ahead of this process's (ms), from the middle of one round trip; 0 on SQLite (this machine's clock). */
	async clockOffsetMs(): Promise<number> {
		if (this.db.dialect !== 'postgres') return 0;
		const before = Date.now();
		const [row] = await this.db.query<Row>(
			'SELECT CAST(FLOOR(EXTRACT(EPOCH FROM clock_timestamp()) * 1000) AS BIGINT) AS now',
		);
		return Number(row.now) - Math.round((before + Date.now()) / 2);
	}

	async pauseRate(key: string, untilUs: number): Promise<void> {
		await this.db.run(
			`INSERT INTO rate_slots (key, next_at) VALUES ($1, CAST($2 AS BIGINT))
			ON CONFLICT (key) DO UPDATE SET next_at = ${NEXT_OR_GIVEN}`,
			[key, Math.round(untilUs)],
		);
	}

	// ---- de-duplication ------------------------------------------------------------------

	async findProcessed(scope: string, ids: string[]): Promise<Set<string>> {
		const seen = new Set<string>();
		for (const chunk of chunks([...new Set(ids)], CHUNK)) {
			const rows = await this.db.query<Row>(
				`SELECT id FROM processed_ids WHERE scope = $1 AND id IN (${placeholders(chunk.length, 2)})`,
				[scope, ...chunk],
			);
			for (const r of rows) seen.add(String(r.id));
		}
		return seen;
	}

	async markProcessed(
		scope: string,
		ids: string[],
		contactOf?: Map<string, string>,
		inbox?: { workflowId: string; events: Map<string, string> },
	): Promise<Set<string>> {
		const fresh = new Set<string>();
		const now = Date.now();
		for (const chunk of chunks([...new Set(ids)], CHUNK)) {
			const params: SqlParam[] = [];
			for (const id of chunk) {
				const event = inbox?.events.get(id);
				params.push(
					scope,
					id,
					now,
					contactOf?.get(id) ?? null,
					inbox?.workflowId ?? null,
					inbox ? (event === undefined ? 'done' : 'pending') : null,
					event ?? null,
					inbox && event !== undefined ? now : null,
					inbox && event !== undefined ? 1 : null,
					inbox && event === undefined ? now : null,
				);
			}
			const rows = await this.db.query<Row>(
				`INSERT INTO processed_ids (scope, id, at, contact_id, workflow_id, state, event, emitted_at, attempts, done_at) VALUES ${valuesList(chunk.length, 10)}
				ON CONFLICT (scope, id) DO NOTHING RETURNING id`,
				params,
			);
			for (const r of rows) fresh.add(String(r.id));
		}
		return fresh;
	}

	async markInboxDone(events: InboxKey[], now = Date.now()): Promise<Set<string>> {
		const done = new Set<string>();
		const byScope = new Map<string, string[]>();
		for (const e of events) byScope.set(e.scope, [...(byScope.get(e.scope) ?? []), e.id]);
		for (const [scope, ids] of byScope) {
			for (const chunk of chunks([...new Set(ids)], CHUNK)) {
				const rows = await this.db.query<Row>(
					`UPDATE processed_ids SET state = 'done', done_at = $2, event = NULL
					WHERE scope = $1 AND state = 'pending' AND id IN (${placeholders(chunk.length, 3)}) RETURNING id`,
					[scope, now, ...chunk],
				);
				for (const r of rows) done.add(`${scope}/${String(r.id)}`);
			}
		}
		return done;
	}

	async claimInboxReplay(
		workflowId: string,
		options: { olderThan: number; limit: number; maxAttempts: number; now?: number },
	) {
		const now = options.now ?? Date.now();
		const toEvent = (r: Row): InboxEvent => ({
			scope: String(r.scope),
			id: String(r.id),
			event: String(r.event),
			attempts: Number(r.attempts),
			receivedAt: Number(r.at),
		});
		const due = `state = 'pending' AND workflow_id = $1 AND emitted_at < $2`;
		// PostgreSQL: a concurrent replay skips the rows another one is taking instead of waiting for
		// them and then finding them gone (SQLite serialises writers anyway).
		const skipLocked = this.db.dialect === 'postgres' ? ' FOR UPDATE SKIP LOCKED' : '';
		return await this.db.transaction(async (tx) => {
			// Given up: read with their payload (kept for the Abandoned output), then closed; only the
			// rows this statement closed are reported, so two replays never both report one.
			const spent = await tx.query<Row>(
				`SELECT scope, id, event, attempts, at FROM processed_ids WHERE ${due} AND attempts >= $3 ORDER BY emitted_at LIMIT $4${skipLocked}`,
				[workflowId, options.olderThan, options.maxAttempts, options.limit],
			);
			const closed = new Set<string>();
			for (const chunk of chunks(spent, CHUNK)) {
				const rows = await tx.query<Row>(
					`UPDATE processed_ids SET state = 'abandoned', done_at = $3, event = NULL
					WHERE state = 'pending' AND workflow_id = $1 AND emitted_at < $2 AND (scope, id) IN (VALUES ${valuesList(chunk.length, 2, 4)}) RETURNING scope, id`,
					[
						workflowId,
						options.olderThan,
						now,
						...chunk.flatMap((r) => [String(r.scope), String(r.id)]),
					],
				);
				for (const r of rows) closed.add(`${String(r.scope)}/${String(r.id)}`);
			}
			// Replayed: one statement; the outer WHERE re-checks each row too.
			const replay = await tx.query<Row>(
				`UPDATE processed_ids SET emitted_at = $5, attempts = attempts + 1
				WHERE ${due} AND attempts < $3
				AND (scope, id) IN (SELECT scope, id FROM processed_ids WHERE ${due} AND attempts < $3 ORDER BY emitted_at LIMIT $4${skipLocked})
				RETURNING scope, id, event, attempts, at`,
				[workflowId, options.olderThan, options.maxAttempts, options.limit, now],
			);
			return {
				replay: replay.map(toEvent).sort((x, y) => x.receivedAt - y.receivedAt),
				abandoned: spent
					.filter((r) => closed.has(`${String(r.scope)}/${String(r.id)}`))
					.map(toEvent),
			};
		});
	}

	async atomically<T>(fn: (store: Store) => Promise<T>): Promise<T> {
		await this.init();
		return await this.db.transaction(async (tx) => {
			const inTx = new SqlStore(tx, this.schema);
			inTx.initialised = this.initialised;
			return await fn(inTx);
		});
	}

	// ---- engagement ----------------------------------------------------------------------

	async getEngagement(
		contactIds: string[],
	): Promise<Map<string, { score: number; updatedAt: number }>> {
		const map = new Map<string, { score: number; updatedAt: number }>();
		for (const chunk of chunks([...new Set(contactIds)], CHUNK)) {
			const within = inList(this.db, chunk);
			const rows = await this.db.query<Row>(
				`SELECT contact_id, score, updated_at FROM engagement WHERE contact_id ${within.sql}`,
				within.params,
			);
			for (const r of rows)
				map.set(String(r.contact_id), { score: Number(r.score), updatedAt: Number(r.updated_at) });
		}
		return map;
	}

	async saveEngagement(
		rows: Array<{ contactId: string; score: number; updatedAt: number }>,
	): Promise<void> {
		const latest = new Map(rows.map((r) => [r.contactId, r]));
		for (const chunk of chunks([...latest.values()], CHUNK)) {
			const params: SqlParam[] = [];
			for (const r of chunk) params.push(r.contactId, r.score, r.updatedAt);
			await this.db.run(
				`INSERT INTO engagement (contact_id, score, updated_at) VALUES ${valuesList(chunk.length, 3)}
				ON CONFLICT (contact_id) DO UPDATE SET score = excluded.score, updated_at = excluded.updated_at`,
				params,
			);
		}
	}

	// ---- AI cache and conversations ---------------------------------------------------------

	async getCached(hashes: string[]): Promise<Map<string, string>> {
		const map = new Map<string, string>();
		for (const chunk of chunks([...new Set(hashes)], CHUNK)) {
			const rows = await this.db.query<Row>(
				`SELECT prompt_hash, response FROM ai_cache WHERE prompt_hash IN (${placeholders(chunk.length)})`,
				chunk,
			);
			for (const r of rows) map.set(String(r.prompt_hash), String(r.response));
		}
		return map;
	}

	async putCached(
		entries: Array<{ hash: string; response: string; contactId?: string }>,
	): Promise<void> {
		const now = Date.now();
		const unique = [...new Map(entries.map((e) => [e.hash, e])).values()];
		for (const chunk of chunks(unique, CHUNK)) {
			await insertRows(
				this.db,
				'INSERT INTO ai_cache (prompt_hash, response, created_at, contact_id)',
				4,
				chunk.map((e) => [e.hash, e.response, now, e.contactId ?? null]),
				'ON CONFLICT (prompt_hash) DO UPDATE SET response = excluded.response, created_at = excluded.created_at, contact_id = excluded.contact_id',
			);
		}
	}

	async addInAppMessages(rows: InAppMessage[]): Promise<void> {
		for (const chunk of chunks(rows, CHUNK)) {
			await insertRows(
				this.db,
				'INSERT INTO inapp_messages (id, contact_id, campaign, title, body, image_url, cta_label, cta_url, created_at, expires_at)',
				10,
				chunk.map((m) => [
					m.id,
					m.contactId,
					m.campaign ?? null,
					m.title,
					m.body,
					m.imageUrl ?? null,
					m.ctaLabel ?? null,
					m.ctaUrl ?? null,
					m.createdAt,
					m.expiresAt,
				]),
				'ON CONFLICT (id) DO NOTHING',
			);
		}
	}

	async saveTrackedLinks(links: TrackedLink[]): Promise<void> {
		const now = Date.now();
		// The first word for a code stands, within a call as across calls (ON CONFLICT DO NOTHING).
		const first = new Map<string, TrackedLink>();
		for (const l of links) if (!first.has(l.code)) first.set(l.code, l);
		for (const chunk of chunks([...first.values()], CHUNK)) {
			await insertRows(
				this.db,
				'INSERT INTO tracked_links (code, contact_id, channel, campaign, url, created_at)',
				6,
				chunk.map((l) => [l.code, l.contactId, l.channel, l.campaign, l.url, now]),
				'ON CONFLICT (code) DO NOTHING',
				['text', 'text', 'text', 'text', 'text', 'int8'],
			);
		}
	}

	async findTrackedLinks(codes: string[]): Promise<Map<string, TrackedLink>> {
		const found = new Map<string, TrackedLink>();
		for (const chunk of chunks([...new Set(codes)], CHUNK)) {
			const within = inList(this.db, chunk);
			for (const r of await this.db.query<Row>(
				`SELECT code, contact_id, channel, campaign, url FROM tracked_links WHERE code ${within.sql}`,
				within.params,
			)) {
				found.set(String(r.code), {
					code: String(r.code),
					contactId: String(r.contact_id),
					channel: r.channel as Channel,
					campaign: String(r.campaign),
					url: String(r.url),
				});
			}
		}
		return found;
	}

	async listInAppMessages(contactId: string, now: number, limit: number): Promise<InAppMessage[]> {
		const rows = await this.db.query<Row>(
			'SELECT * FROM inapp_messages WHERE contact_id = $1 AND expires_at > $2 ORDER BY created_at DESC, id LIMIT $3',
			[contactId, now, limit],
		);
		return rows.map((r) => ({
			id: String(r.id),
			contactId: String(r.contact_id),
			campaign: str(r.campaign),
			title: String(r.title),
			body: String(r.body),
			imageUrl: str(r.image_url),
			ctaLabel: str(r.cta_label),
			ctaUrl: str(r.cta_url),
			createdAt: Number(r.created_at),
			expiresAt: Number(r.expires_at),
			...(r.read_at === null || r.read_at === undefined ? {} : { readAt: Number(r.read_at) }),
		}));
	}

	async markInAppRead(contactId: string, ids: string[], now: number): Promise<number> {
		let changed = 0;
		for (const chunk of chunks([...new Set(ids)], CHUNK)) {
			const rows = await this.db.query<Row>(
				`UPDATE inapp_messages SET read_at = $1 WHERE contact_id = $2 AND read_at IS NULL AND id IN (${placeholders(chunk.length, 3)}) RETURNING id`,
				[now, contactId, ...chunk],
			);
			changed += rows.length;
		}
		return changed;
	}

	async countBlocked(
		rows: Array<{ campaign?: string; channel: string; reason: string; at: number }>,
	): Promise<void> {
		const counts = new Map<
			string,
			{ campaign: string; channel: string; reason: string; day: number; count: number }
		>();
		for (const r of rows) {
			const day = Math.floor(r.at / 86_400_000) * 86_400_000;
			const k = JSON.stringify([r.campaign ?? '', r.channel, r.reason, day]);
			const c = counts.get(k) ?? {
				campaign: r.campaign ?? '',
				channel: r.channel,
				reason: r.reason,
				day,
				count: 0,
			};
			c.count++;
			counts.set(k, c);
		}
		for (const chunk of chunks([...counts.values()], CHUNK)) {
			await insertRows(
				this.db,
				'INSERT INTO blocked_counts (campaign, channel, reason, day, count)',
				5,
				chunk.map((c) => [c.campaign, c.channel, c.reason, c.day, c.count]),
				'ON CONFLICT (campaign, channel, reason, day) DO UPDATE SET count = blocked_counts.count + excluded.count',
			);
		}
	}

	async campaignReport(options: {
		since: number;
		campaign?: string;
		replyWindowMs: number;
		conversionWindowMs: number;
		journey: string;
	}): Promise<CampaignReport> {
		const only = options.campaign !== undefined;
		// One pass over the campaign's touches: statuses by CASE, replies, conversions and opt-outs by
		// an indexed EXISTS each (inbound by person and channel, journey_state by journey and person,
		// consent_events by person and time).
		const params: SqlParam[] = [
			options.since,
			options.replyWindowMs,
			options.conversionWindowMs,
			options.journey,
			...(only ? [options.campaign!] : []),
		];
		const where = `t.created_at >= $1${only ? " AND COALESCE(t.campaign, '') = $5" : ''}`;
		const rows = await this.db.query<Row>(
			`SELECT COALESCE(t.campaign, '') AS campaign, t.channel AS channel, COALESCE(t.variant, '') AS variant,
				SUM(CASE WHEN t.status IN ('reserved', 'sending') THEN 1 ELSE 0 END) AS reserved,
				SUM(CASE WHEN t.status = 'sent' THEN 1 ELSE 0 END) AS sent,
				SUM(CASE WHEN t.status = 'sent' AND t.delivery_status IN ('delivered', 'read', 'clicked') THEN 1 ELSE 0 END) AS delivered,
				SUM(CASE WHEN t.status = 'sent' AND t.delivery_status IN ('read', 'clicked') THEN 1 ELSE 0 END) AS read_count,
				SUM(CASE WHEN t.status = 'sent' AND t.delivery_status = 'clicked' THEN 1 ELSE 0 END) AS clicked,
				SUM(CASE WHEN t.status IN ('failed', 'unknown') OR t.delivery_status IN ('failed', 'undelivered', 'bounced') THEN 1 ELSE 0 END) AS failed,
				SUM(CASE WHEN t.status = 'sent' AND ${REPLIED_WITHIN('$2')} THEN 1 ELSE 0 END) AS replied,
				SUM(CASE WHEN t.status = 'sent' AND ${CONVERTED_WITHIN('$4', '$3')} THEN 1 ELSE 0 END) AS converted,
				SUM(CASE WHEN t.status = 'sent' AND EXISTS (SELECT 1 FROM consent_events c WHERE c.contact_id = t.contact_id AND c.channel = t.channel AND c.action = 'withdraw' AND c.occurred_at >= ${LEFT_AT} AND c.occurred_at <= ${LEFT_AT} + $3) THEN 1 ELSE 0 END) AS opt_outs,
				SUM(CASE WHEN t.complained_at IS NOT NULL THEN 1 ELSE 0 END) AS complaints,
				SUM(CASE WHEN t.bounced_at IS NOT NULL THEN 1 ELSE 0 END) AS bounces
			FROM touches t WHERE ${where}
			GROUP BY COALESCE(t.campaign, ''), t.channel, COALESCE(t.variant, '') ORDER BY 1, 2, 3`,
			params,
		);
		const failures = await this.db.query<Row>(
			`SELECT COALESCE(t.campaign, '') AS campaign, t.channel AS channel, COALESCE(t.variant, '') AS variant,
				CASE WHEN t.status IN ('failed', 'unknown') THEN COALESCE(t.error_code, t.status) ELSE t.delivery_status END AS why, COUNT(*) AS n
			FROM touches t WHERE ${where.replace('$5', '$2')} AND (t.status IN ('failed', 'unknown') OR t.delivery_status IN ('failed', 'undelivered', 'bounced'))
			GROUP BY 1, 2, 3, 4`,
			[options.since, ...(only ? [options.campaign!] : [])],
		);
		const blockedRows = await this.db.query<Row>(
			`SELECT campaign, channel, reason, SUM(count) AS n FROM blocked_counts WHERE day >= $1${only ? ' AND campaign = $2' : ''} GROUP BY campaign, channel, reason ORDER BY campaign, channel, reason`,
			[Math.floor(options.since / 86_400_000) * 86_400_000, ...(only ? [options.campaign!] : [])],
		);
		const key = (r: Row) =>
			JSON.stringify([String(r.campaign), String(r.channel), String(r.variant)]);
		const failedBy = new Map<string, Record<string, number>>();
		for (const f of failures) {
			const m = failedBy.get(key(f)) ?? {};
			m[String(f.why ?? 'unknown')] = Number(f.n);
			failedBy.set(key(f), m);
		}
		const blocked = new Map<
			string,
			{ campaign: string; channel: string; byReason: Record<string, number>; total: number }
		>();
		for (const b of blockedRows) {
			const k = JSON.stringify([String(b.campaign), String(b.channel)]);
			const e = blocked.get(k) ?? {
				campaign: String(b.campaign),
				channel: String(b.channel),
				byReason: {},
				total: 0,
			};
			e.byReason[String(b.reason)] = Number(b.n);
			e.total += Number(b.n);
			blocked.set(k, e);
		}
		return {
			rows: rows.map((r) => ({
				campaign: String(r.campaign),
				channel: String(r.channel),
				variant: String(r.variant),
				reserved: Number(r.reserved),
				sent: Number(r.sent),
				delivered: Number(r.delivered),
				read: Number(r.read_count),
				clicked: Number(r.clicked),
				failed: Number(r.failed),
				failedBy: failedBy.get(key(r)) ?? {},
				replied: Number(r.replied),
				converted: Number(r.converted),
				optOuts: Number(r.opt_outs),
				complaints: Number(r.complaints),
				bounces: Number(r.bounces),
			})),
			blocked: [...blocked.values()],
		};
	}

	async recordClick(
		contactId: string,
		channel: string,
		campaign: string,
	): Promise<TouchRecord | undefined> {
		const [row] = await this.db.query<Row>(
			`UPDATE touches SET delivery_status = CASE WHEN ${DELIVERY_RANK_SQL} < $4 THEN 'clicked' ELSE delivery_status END, updated_at = $5
			WHERE idempotency_key = (SELECT idempotency_key FROM touches WHERE contact_id = $1 AND channel = $2 AND COALESCE(campaign, '') = $3 AND status = 'sent' ORDER BY created_at DESC LIMIT 1)
			RETURNING *`,
			[contactId, channel, campaign, deliveryRank('clicked'), Date.now()],
		);
		return row ? toTouch(row) : undefined;
	}

	async abTestResults(
		campaign: string,
		metric: AbMetric,
		options: { windowMs: number; journey?: string },
	): Promise<Array<{ variant: string; sent: number; successes: number }>> {
		const success: Record<AbMetric, string> = {
			delivered: "t.delivery_status IN ('delivered', 'read', 'clicked')",
			read: "t.delivery_status IN ('read', 'clicked')",
			clicked: "t.delivery_status = 'clicked'",
			replied: REPLIED_WITHIN('$2'),
			converted: CONVERTED_WITHIN('$3', '$2'),
		};
		// Only the parameters the metric uses (PostgreSQL types every one it is given).
		const params: SqlParam[] =
			metric === 'replied'
				? [campaign, options.windowMs]
				: metric === 'converted'
					? [campaign, options.windowMs, options.journey ?? '']
					: [campaign];
		const rows = await this.db.query<Row>(
			`SELECT t.variant AS variant, COUNT(*) AS sent, SUM(CASE WHEN ${success[metric]} THEN 1 ELSE 0 END) AS successes
			FROM touches t WHERE t.campaign = $1 AND t.status = 'sent' AND t.variant IS NOT NULL
			GROUP BY t.variant ORDER BY t.variant`,
			params,
		);
		return rows.map((r) => ({
			variant: String(r.variant),
			sent: Number(r.sent),
			successes: Number(r.successes ?? 0),
		}));
	}

	async recordAiUsage(rows: AiUsageRow[]): Promise<void> {
		for (const chunk of chunks(rows, CHUNK)) {
			await insertRows(
				this.db,
				'INSERT INTO ai_usage (at, workflow_id, execution_id, node, operation, model, campaign, items, calls, input_tokens, output_tokens, cache_hits)',
				12,
				chunk.map((r) => [
					r.at,
					r.workflowId ?? null,
					r.executionId ?? null,
					r.node,
					r.operation,
					r.model,
					r.campaign,
					r.items,
					r.calls,
					r.inputTokens,
					r.outputTokens,
					r.cacheHits,
				]),
			);
		}
	}

	async aiUsageReport(since: number): Promise<AiUsageTotal[]> {
		const rows = await this.db.query<Row>(
			`SELECT campaign, model, operation, COUNT(*) AS runs, SUM(items) AS items, SUM(calls) AS calls, SUM(input_tokens) AS input_tokens,
				SUM(output_tokens) AS output_tokens, SUM(cache_hits) AS cache_hits, MIN(at) AS first_at, MAX(at) AS last_at
			FROM ai_usage WHERE at >= $1 GROUP BY campaign, model, operation ORDER BY campaign, model, operation`,
			[since],
		);
		return rows.map((r) => ({
			campaign: String(r.campaign),
			model: String(r.model),
			operation: String(r.operation),
			runs: Number(r.runs),
			items: Number(r.items),
			calls: Number(r.calls),
			inputTokens: Number(r.input_tokens),
			outputTokens: Number(r.output_tokens),
			cacheHits: Number(r.cache_hits),
			firstAt: Number(r.first_at),
			lastAt: Number(r.last_at),
		}));
	}

	async addTurns(
		turns: Array<{ contactId: string; role: 'user' | 'assistant'; text: string; at: number }>,
	): Promise<void> {
		for (const chunk of chunks(turns, CHUNK)) {
			await insertRows(
				this.db,
				'INSERT INTO conversation_turns (contact_id, role, text, at)',
				4,
				chunk.map((t) => [t.contactId, t.role, t.text, t.at]),
			);
		}
	}

	async getTurns(
		contactIds: string[],
		limit: number,
	): Promise<Map<string, Array<{ role: 'user' | 'assistant'; text: string; at: number }>>> {
		const map = new Map<string, Array<{ role: 'user' | 'assistant'; text: string; at: number }>>();
		for (const chunk of chunks([...new Set(contactIds)], CHUNK)) {
			const within = inList(this.db, chunk);
			const rows = await this.db.query<Row>(
				`SELECT contact_id, role, text, at FROM conversation_turns WHERE contact_id ${within.sql} ORDER BY at, id`,
				within.params,
			);
			for (const r of rows) {
				const list = map.get(String(r.contact_id)) ?? [];
				list.push({ role: r.role as 'user' | 'assistant', text: String(r.text), at: Number(r.at) });
				map.set(String(r.contact_id), list);
			}
		}
		for (const [k, list] of map) map.set(k, list.slice(-limit));
		return map;
	}

	// ---- forms -----------------------------------------------------------------------------

	async getFormSessions(form: string, contactIds: string[]): Promise<Map<string, FormSession>> {
		const map = new Map<string, FormSession>();
		for (const chunk of chunks([...new Set(contactIds)], CHUNK)) {
			const rows = await this.db.query<Row>(
				`SELECT * FROM form_sessions WHERE form = $1 AND contact_id IN (${placeholders(chunk.length, 2)})`,
				[form, ...chunk],
			);
			for (const r of rows) {
				map.set(String(r.contact_id), {
					status: r.status as FormSession['status'],
					step: str(r.step),
					answers: JSON.parse(String(r.answers)),
					startedAt: Number(r.started_at),
					updatedAt: Number(r.updated_at),
				});
			}
		}
		return map;
	}

	async saveFormSessions(
		form: string,
		sessions: Array<FormSession & { contactId: string }>,
	): Promise<void> {
		const latest = [...new Map(sessions.map((x) => [x.contactId, x])).values()];
		for (const chunk of chunks(latest, CHUNK)) {
			await insertRows(
				this.db,
				'INSERT INTO form_sessions (form, contact_id, status, step, answers, started_at, updated_at)',
				7,
				chunk.map((x) => [
					form,
					x.contactId,
					x.status,
					x.step ?? null,
					JSON.stringify(x.answers),
					x.startedAt,
					x.updatedAt,
				]),
				`ON CONFLICT (form, contact_id) DO UPDATE SET status = excluded.status, step = excluded.step, answers = excluded.answers,
				started_at = excluded.started_at, updated_at = excluded.updated_at`,
			);
		}
	}

	// ---- journeys ------------------------------------------------------------------------

	async trackJourneyEvents<R extends { state: JourneyStateRow }>(
		journey: string,
		events: Array<{ eventId: string; contactId: string; event: string; at: number }>,
		apply: (state: JourneyStateRow | undefined, event: string, at: number) => R,
	): Promise<Array<{ duplicate: true } | { duplicate: false; result: R }>> {
		const out: Array<{ duplicate: true } | { duplicate: false; result: R }> = [];
		for (const chunk of chunks(events, CHUNK)) {
			out.push(
				...(await this.db.transaction(async (tx) => {
					const contacts = [...new Set(chunk.map((e) => e.contactId))].sort();
					if (tx.dialect === 'postgres') {
						await tx.query(
							`SELECT pg_advisory_xact_lock(hashtext($1 || c)) FROM (SELECT unnest($2::text[]) AS c ORDER BY 1) s`,
							[journey, contacts as unknown as SqlParam],
						);
					}
					// Event ids are unique per journey: a re-delivered event is recognised, not applied twice.
					const uniqueIds = [...new Map(chunk.map((e) => [e.eventId, e])).values()];
					const fresh = new Set(
						(
							await tx.query<Row>(
								`INSERT INTO journey_events (journey, event_id, contact_id, event, at) VALUES ${valuesList(uniqueIds.length, 5)}
							ON CONFLICT (journey, event_id) DO NOTHING RETURNING event_id`,
								uniqueIds.flatMap((e) => [journey, e.eventId, e.contactId, e.event, e.at]),
							)
						).map((r) => String(r.event_id)),
					);
					const states = await this.journeyStatesIn(tx, journey, contacts);
					const touched = new Map<string, JourneyStateRow>();
					const transitions: SqlParam[][] = [];
					const results: Array<{ duplicate: true } | { duplicate: false; result: R }> = [];
					for (const e of chunk) {
						if (!fresh.delete(e.eventId)) {
							results.push({ duplicate: true });
							continue;
						}
						const before = states.get(e.contactId);
						const result = apply(before, e.event, e.at);
						if (result.state !== before) {
							states.set(e.contactId, result.state);
							touched.set(e.contactId, result.state);
							if (
								!before ||
								before.stage !== result.state.stage ||
								before.enteredAt !== result.state.enteredAt
							) {
								transitions.push([
									journey,
									e.contactId,
									before?.stage ?? null,
									result.state.stage,
									e.at,
								]);
							}
						}
						results.push({ duplicate: false, result });
					}
					await insertRows(
						tx,
						'INSERT INTO journey_state (journey, contact_id, stage, entered_at, goal_reached_at, exited_at)',
						6,
						[...touched].map(([c, st]) => [
							journey,
							c,
							st.stage,
							st.enteredAt,
							st.goalReachedAt ?? null,
							st.exitedAt ?? null,
						]),
						`ON CONFLICT (journey, contact_id) DO UPDATE SET stage = excluded.stage, entered_at = excluded.entered_at,
						goal_reached_at = excluded.goal_reached_at, exited_at = excluded.exited_at`,
					);
					await insertRows(
						tx,
						'INSERT INTO journey_transitions (journey, contact_id, from_stage, to_stage, at)',
						5,
						transitions,
					);
					return results;
				})),
			);
		}
		return out;
	}

	private async journeyStatesIn(
		db: SqlDb,
		journey: string,
		contactIds: string[],
	): Promise<Map<string, JourneyStateRow>> {
		const map = new Map<string, JourneyStateRow>();
		for (const chunk of chunks(contactIds, CHUNK)) {
			const rows = await db.query<Row>(
				`SELECT * FROM journey_state WHERE journey = $1 AND contact_id IN (${placeholders(chunk.length, 2)})`,
				[journey, ...chunk],
			);
			for (const r of rows) map.set(String(r.contact_id), toJourneyState(r));
		}
		return map;
	}

	async getJourneyStates(
		journey: string,
		contactIds: string[],
	): Promise<Map<string, JourneyStateRow>> {
		return await this.journeyStatesIn(this.db, journey, [...new Set(contactIds)]);
	}

	async getAllJourneyStates(
		journey: string,
	): Promise<Array<JourneyStateRow & { contactId: string }>> {
		const rows = await this.db.query<Row>('SELECT * FROM journey_state WHERE journey = $1', [
			journey,
		]);
		return rows.map((r) => ({ contactId: String(r.contact_id), ...toJourneyState(r) }));
	}

	async getJourneyTransitions(
		journey: string,
		contactId?: string,
	): Promise<JourneyTransitionRow[]> {
		const rows = contactId
			? await this.db.query<Row>(
					'SELECT * FROM journey_transitions WHERE journey = $1 AND contact_id = $2 ORDER BY at, id',
					[journey, contactId],
				)
			: await this.db.query<Row>(
					'SELECT * FROM journey_transitions WHERE journey = $1 ORDER BY at, id',
					[journey],
				);
		return rows.map((r) => ({
			contactId: String(r.contact_id),
			fromStage: r.from_stage === null ? null : String(r.from_stage),
			toStage: String(r.to_stage),
			at: Number(r.at),
		}));
	}

	// ---- people ----------------------------------------------------------------------------

	resolveContacts(refs: PersonRef[], options?: ResolveOptions): Promise<ResolvedPerson[]> {
		return people.resolveContacts(this.db, refs, options);
	}

	knownPhones(values: string[]): Promise<Set<string>> {
		return people.knownPhones(this.db, values);
	}

	upsertProfiles(rows: Array<ProfileInput & { contactId: string }>): Promise<void> {
		return people.upsertProfiles(this.db, rows);
	}

	getTimeZones(contactIds: string[]): Promise<Map<string, string>> {
		return people.getTimeZones(this.db, contactIds);
	}

	getAddresses(contactIds: string[]): Promise<AddressRecord[]> {
		return people.getAddresses(this.db, contactIds);
	}

	async mergeContacts(fromId: string, intoId: string, actor?: string): Promise<{ moved: number }> {
		return await this.db.transaction(async (tx) => {
			const from = (await people.personIds(tx, fromId)).canonical;
			const into = (await people.personIds(tx, intoId)).canonical;
			if (from === into) return { moved: 0 };
			if (tx.dialect === 'postgres') {
				// The reservation's per-contact locks: no cap is counted while its touches move.
				await tx.query(
					'SELECT pg_advisory_xact_lock(hashtext(c)) FROM (SELECT unnest($1::text[]) AS c ORDER BY 1) s',
					[[from, into].sort() as unknown as SqlParam],
				);
			}
			const now = Date.now();
			let moved = 0;
			const move = async (sql: string) => {
				moved += (await tx.run(sql, [into, from])).changes;
			};
			for (const table of [
				'consent_events',
				'consent_tokens',
				'touches',
				'journey_events',
				'journey_transitions',
				'conversation_turns',
				'contact_addresses',
				'processed_ids',
				'ai_cache',
				'tracked_links',
				'inapp_messages',
			]) {
				await move(`UPDATE ${table} SET contact_id = $1 WHERE contact_id = $2`);
			}
			// Tables with one row per person: keep the newer row.
			await move(`INSERT INTO inbound (contact_id, channel, last_at) SELECT $1, channel, last_at FROM inbound WHERE contact_id = $2
				ON CONFLICT (contact_id, channel) DO UPDATE SET last_at = excluded.last_at WHERE excluded.last_at > inbound.last_at`);
			await move(`INSERT INTO engagement (contact_id, score, updated_at) SELECT $1, score, updated_at FROM engagement WHERE contact_id = $2
				ON CONFLICT (contact_id) DO UPDATE SET score = excluded.score, updated_at = excluded.updated_at WHERE excluded.updated_at > engagement.updated_at`);
			await move(`INSERT INTO journey_state (journey, contact_id, stage, entered_at, goal_reached_at, exited_at)
				SELECT journey, $1, stage, entered_at, goal_reached_at, exited_at FROM journey_state WHERE contact_id = $2
				ON CONFLICT (journey, contact_id) DO UPDATE SET stage = excluded.stage, entered_at = excluded.entered_at, goal_reached_at = excluded.goal_reached_at,
				exited_at = excluded.exited_at WHERE excluded.entered_at > journey_state.entered_at`);
			await move(`INSERT INTO form_sessions (form, contact_id, status, step, answers, started_at, updated_at)
				SELECT form, $1, status, step, answers, started_at, updated_at FROM form_sessions WHERE contact_id = $2
				ON CONFLICT (form, contact_id) DO UPDATE SET status = excluded.status, step = excluded.step, answers = excluded.answers,
				started_at = excluded.started_at, updated_at = excluded.updated_at WHERE excluded.updated_at > form_sessions.updated_at`);
			for (const table of ['inbound', 'engagement', 'journey_state', 'form_sessions']) {
				await tx.run(`DELETE FROM ${table} WHERE contact_id = $1`, [from]);
			}
			// Consent: both ledgers are now one; the state is that ledger folded in event time, so the
			// later withdrawal wins whichever id it was recorded under.
			await tx.run('DELETE FROM consent_state WHERE contact_id IN ($1, $2)', [from, into]);
			const rows = await tx.query<Row>(
				`SELECT ${LEDGER_FOLD_COLUMNS} FROM consent_events WHERE contact_id = $1`,
				[into],
			);
			const states = [...groupLedgerRows(rows).values()]
				.map((e) => ({ ...e.key, state: foldConsent(e.events) }))
				.filter((e) => e.state.status);
			for (const part of chunks(states, CHUNK)) {
				await insertRows(
					tx,
					'INSERT INTO consent_state (contact_id, channel, purpose, status, updated_at, restorable, addresses)',
					7,
					part.map((e) => [
						e.contactId,
						e.channel,
						e.purpose,
						e.state.status!,
						e.state.updatedAt,
						e.state.restorable ? 1 : 0,
						encodeAddresses(e.state.addresses),
					]),
				);
			}
			// The profile: the surviving person's values win; the other's fill the gaps.
			const profiles = await people.getProfiles(tx, [from, into]);
			const a = profiles.get(into);
			const b = profiles.get(from);
			await people.upsertProfiles(tx, [
				{
					contactId: into,
					name: a?.name ?? b?.name,
					locale: a?.locale ?? b?.locale,
					timeZone: a?.timeZone ?? b?.timeZone,
					preferredChannel: a?.preferredChannel ?? b?.preferredChannel,
					attributes:
						b?.attributes || a?.attributes
							? { ...(b?.attributes ?? {}), ...(a?.attributes ?? {}) }
							: undefined,
				},
			]);
			await tx.run(
				`INSERT INTO contacts (contact_id, merged_into, created_at, updated_at) VALUES ($1, $2, $3, $3)
				ON CONFLICT (contact_id) DO UPDATE SET merged_into = excluded.merged_into, name = NULL, locale = NULL, time_zone = NULL,
				preferred_channel = NULL, attributes = NULL, updated_at = excluded.updated_at`,
				[from, into, now],
			);
			await tx.run('UPDATE contacts SET merged_into = $1 WHERE merged_into = $2', [into, from]);
			await tx.run(
				'INSERT INTO contact_merges (from_id, into_id, actor, at) VALUES ($1, $2, $3, $4)',
				[from, into, actor ?? null, now],
			);
			return { moved };
		});
	}

	// ---- data subject rights -------------------------------------------------------------

	private secret?: Promise<string>;

	private addressSecret(): Promise<string> {
		this.secret ??= people.ensureSecret(this.db).catch((error) => {
			this.secret = undefined;
			throw error;
		});
		return this.secret;
	}

	async linkKey(): Promise<string> {
		return createHmac('sha256', await this.addressSecret())
			.update('convergent:links:v1')
			.digest('hex');
	}

	async exportContact(contactId: string): Promise<ContactExport> {
		const { canonical, ids } = await people.personIds(this.db, contactId);
		const list = placeholders(ids.length);
		const ledger = await this.db.query<Row>(
			`SELECT * FROM consent_events WHERE contact_id IN (${list}) ORDER BY occurred_at, id`,
			ids,
		);
		const states = await this.db.query<Row>(
			`SELECT * FROM consent_state WHERE contact_id IN (${list})`,
			ids,
		);
		const touches = await this.db.query<Row>(
			`SELECT * FROM touches WHERE contact_id IN (${list}) ORDER BY created_at`,
			ids,
		);
		const inbound = await this.db.query<Row>(
			`SELECT * FROM inbound WHERE contact_id IN (${list})`,
			ids,
		);
		const book = await people.getAddresses(this.db, ids);
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
			profile: (await people.getProfiles(this.db, [canonical])).get(canonical) ?? null,
			merges: await this.db.query(
				`SELECT from_id, into_id, actor, at FROM contact_merges WHERE from_id IN (${list}) OR into_id IN (${list}) ORDER BY at, id`,
				ids,
			),
			consentLedger: ledger.map(toLedger),
			consentStates: states.map((r) => ({
				contactId: String(r.contact_id),
				channel: r.channel as Channel,
				purpose: String(r.purpose),
				status: r.status as ConsentStatus,
				updatedAt: Number(r.updated_at),
				addresses: decodeAddresses(r.addresses),
			})),
			suppressions: addresses.length ? await this.findSuppressions(addresses) : [],
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
			result[extra.exportAs] = await this.db.query(
				`SELECT * FROM ${extra.table} WHERE ${extra.column} IN (${list})`,
				ids,
			);
		}
		return result;
	}

	async eraseContact(
		contactId: string,
		addresses: string[],
	): Promise<{ tablesTouched: number; ids: string[] }> {
		const secret = await this.addressSecret();
		return await this.db.transaction(async (tx) => {
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
			const contains =
				this.db.dialect === 'sqlite' ? 'instr(event, $N) > 0' : 'strpos(event, $N) > 0';
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
				const hashes = [...new Set(part.map((a) => people.tombstone(secret, addressHash(a))))];
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

	async findErasedAddresses(addresses: string[]): Promise<Set<string>> {
		const found = new Set<string>();
		if (!addresses.length) return found;
		// A store where nobody was ever erased has no tombstone to match: no keyed hash per address
		// (an HMAC each, ~2 µs) and no lookups. One row is enough to take the full path.
		if (!(await this.db.query('SELECT 1 AS x FROM erased_addresses LIMIT 1')).length) return found;
		const secret = await this.addressSecret();
		// Distinct addresses have distinct tombstones (SHA-256 under one key).
		const byHash = new Map<string, string>();
		for (const a of new Set(addresses)) byHash.set(people.tombstone(secret, addressHash(a)), a);
		for (const chunk of chunks([...byHash.keys()], CHUNK)) {
			const within = inList(this.db, chunk);
			const rows = await this.db.query<Row>(
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
}
