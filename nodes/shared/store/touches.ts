/**
 * Touches: every message reserved, claimed, sent or failed, keyed by its idempotency key; reservations counted under the caps.
 */
import { mapLimit } from '../pool';
import { chunks, inList, insertRows, type SqlDb, type SqlParam } from './db';
import { MIN_KEEP_MS } from './retention';
import { CHUNK, DELIVERY_RANK_SQL, deliveryRank, toTouch, type Row } from './sql-rows';
import type {
	ClaimResult,
	ReservationRequest,
	ReservationResult,
	TouchOutcome,
	TouchRecord,
} from './types';

/**
 * SQLite reservations per write transaction. Idempotency keys are hashes, so each chunk's inserts
 * land on pages all over the key index: every transaction rewrites those pages into the WAL. One
 * transaction for many chunks writes each page once (100,000 reservations: about half the time);
 * the write lock is held for ~0.1-0.3 s, well inside the 10 s busy timeout other writers wait.
 */
const SQLITE_RESERVE_TX = 10_000;

export async function reserveTouches(
	db: SqlDb,
	requests: ReservationRequest[],
	now = Date.now(),
): Promise<ReservationResult[]> {
	const groups = chunks(requests, db.dialect === 'sqlite' ? SQLITE_RESERVE_TX : CHUNK);
	const reserve = (group: ReservationRequest[]) =>
		db.transaction(async (tx) => {
			const out: ReservationResult[] = [];
			for (const chunk of chunks(group, CHUNK)) out.push(...(await reserveChunk(tx, chunk, now)));
			return out;
		});
	// PostgreSQL, when no contact is in two chunks: two chunks reserve side by side on two pool
	// connections (their per-contact locks never meet), so the server works on one while this
	// process prepares the next. A contact in several chunks keeps them in order: its caps count
	// its touches in the order of the items.
	const parallel =
		db.dialect === 'postgres' &&
		groups.length > 1 &&
		new Set(requests.map((r) => r.contactId)).size === requests.length;
	const results = parallel ? await mapLimit(groups, 2, reserve) : [];
	if (!parallel) for (const group of groups) results.push(await reserve(group));
	return results.flat();
}

async function reserveChunk(
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
	const existing = await existingTouches(
		tx,
		chunk.map((r) => r.idempotencyKey),
	);
	const counted = await countedTouches(tx, chunk, contacts, now);
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
		const capped = capOf(req, touches, now);
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

/** The touches these keys name; a send whose detail retention removed still says it went (retention.ts). */
async function existingTouches(tx: SqlDb, keys: string[]): Promise<Map<string, TouchRecord>> {
	const existing = new Map<string, TouchRecord>();
	const all = inList(tx, keys);
	for (const r of await tx.query<Row>(
		`SELECT * FROM touches WHERE idempotency_key ${all.sql}`,
		all.params,
	))
		existing.set(String(r.idempotency_key), toTouch(r));
	const rest = keys.filter((k) => !existing.has(k));
	if (!rest.length) return existing;
	const byKey = inList(tx, rest);
	for (const r of await tx.query<Row>(
		`SELECT * FROM sent_keys WHERE idempotency_key ${byKey.sql}`,
		byKey.params,
	)) {
		existing.set(String(r.idempotency_key), {
			idempotencyKey: String(r.idempotency_key),
			contactId: String(r.contact_id),
			channel: r.channel as TouchRecord['channel'],
			purpose: String(r.purpose) as TouchRecord['purpose'],
			status: r.status as TouchRecord['status'],
			createdAt: Number(r.created_at),
			updatedAt: Number(r.created_at),
		});
	}
	return existing;
}

type Counted = Map<string, Array<{ channel: string; purpose: string; at: number }>>;

/** Touches counted by caps, per contact, over the longest window: reserved or sent (failed ones do not count). */
async function countedTouches(
	tx: SqlDb,
	chunk: ReservationRequest[],
	contacts: string[],
	now: number,
): Promise<Counted> {
	const maxWindow = Math.max(0, ...chunk.flatMap((r) => r.caps.map((c) => c.windowMs)));
	const counted: Counted = new Map();
	if (maxWindow > 0) {
		const byContact = inList(tx, contacts, 2);
		// A window longer than the shortest retention also counts the sends whose detail is gone.
		const kept =
			maxWindow > MIN_KEEP_MS
				? ` UNION ALL SELECT contact_id, channel, purpose, created_at FROM sent_keys WHERE created_at > $1 AND contact_id ${byContact.sql}`
				: '';
		const rows = await tx.query<Row>(
			`SELECT contact_id, channel, purpose, created_at FROM touches
			WHERE created_at > $1 AND contact_id ${byContact.sql} AND status IN ('reserved', 'sending', 'sent', 'unknown')${kept}`,
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
	return counted;
}

/** The cap a new touch would break (the one with room again the latest), if any. */
function capOf(
	req: ReservationRequest,
	touches: Array<{ channel: string; purpose: string; at: number }>,
	now: number,
): ReservationResult | undefined {
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
	return capped;
}

export async function completeTouch(
	db: SqlDb,
	idempotencyKey: string,
	outcome: TouchOutcome,
): Promise<void> {
	const now = Date.now();
	if (outcome.status === 'sent') {
		// It left when it was claimed, just before its request (Touchpoint claims every send; a
		// touch completed without a claim left when it was reserved). A reply kept from before then
		// (written while a re-run's earlier attempt failed) is not a reply to it.
		const left = `CASE WHEN status = 'sending' THEN updated_at ELSE created_at END`;
		await db.run(
			`UPDATE touches SET status = 'sent', provider_message_id = $1, error_code = NULL, error_message = NULL, updated_at = $2, variant = COALESCE($4, variant),
				sent_at = ${left}, replied_at = CASE WHEN replied_at >= ${left} THEN replied_at ELSE NULL END
			WHERE idempotency_key = $3`,
			[outcome.providerMessageId ?? null, now, idempotencyKey, outcome.variant ?? null],
		);
	} else {
		// The A/B arm is kept whatever the outcome, so a refused send counts under its arm.
		await db.run(
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

export async function claimTouches(
	db: SqlDb,
	idempotencyKeys: string[],
	now = Date.now(),
): Promise<Map<string, ClaimResult>> {
	const result = new Map<string, ClaimResult>();
	for (const chunk of chunks([...new Set(idempotencyKeys)], CHUNK)) {
		// One conditional UPDATE: a row moves from reserved to sending for exactly one caller.
		const keys = inList(db, chunk, 2);
		const claimed = await db.transaction((tx) =>
			tx.query<{ idempotency_key: string }>(
				`UPDATE touches SET status = 'sending', updated_at = $1
				WHERE status = 'reserved' AND idempotency_key ${keys.sql} RETURNING idempotency_key`,
				[now, ...keys.params],
			),
		);
		for (const r of claimed) result.set(r.idempotency_key, 'claimed');
		const rest = chunk.filter((k) => !result.has(k));
		if (!rest.length) continue;
		const within = inList(db, rest);
		const rows = await db.query<{ idempotency_key: string; status: string }>(
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

export async function releaseTouches(db: SqlDb, idempotencyKeys: string[]): Promise<void> {
	for (const chunk of chunks([...new Set(idempotencyKeys)], CHUNK)) {
		const within = inList(db, chunk);
		await db.run(
			`DELETE FROM touches WHERE status = 'reserved' AND idempotency_key ${within.sql}`,
			within.params,
		);
	}
}

export async function getTouches(
	db: SqlDb,
	idempotencyKeys: string[],
): Promise<Map<string, TouchRecord>> {
	const map = new Map<string, TouchRecord>();
	for (const chunk of chunks([...new Set(idempotencyKeys)], CHUNK)) {
		const within = inList(db, chunk);
		const rows = await db.query<Row>(
			`SELECT * FROM touches WHERE idempotency_key ${within.sql}`,
			within.params,
		);
		for (const r of rows) map.set(String(r.idempotency_key), toTouch(r));
	}
	return map;
}

export async function updateDeliveryStatus(
	db: SqlDb,
	providerMessageId: string,
	deliveryStatus: string,
): Promise<TouchRecord | undefined> {
	// Statuses arrive out of order (WhatsApp's "read" often before its "delivered"): a status
	// replaces only one earlier in the message's life, so a late "delivered" never hides a "read".
	// A complaint or a bounce is kept beside what happened before it, never over it: a complaint
	// means the message was delivered; a bounce after a delivery, read or click leaves those.
	const delivered = deliveryRank('delivered');
	const [row] = await db.query<Row>(
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
