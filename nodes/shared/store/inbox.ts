/**
 * The durable inbox: inbound messages that open service windows, and the de-duplication of provider events (processed ids, replay of unfinished ones).
 */
import type { Channel } from '../contact';
import { chunks, inList, placeholders, valuesList, type SqlDb, type SqlParam } from './db';
import { CHUNK, type Row } from './sql-rows';
import { inboundKeyString, type InboundRecord, type InboxEvent, type InboxKey } from './types';

/** How far back a message counts as a reply to a send (reports take a shorter Reply Window within it). */
export const REPLY_LOOKBACK_MS = 30 * 86_400_000;

export async function recordInbound(db: SqlDb, records: InboundRecord[]): Promise<void> {
	const latest = new Map<string, InboundRecord>();
	for (const r of records) {
		const k = inboundKeyString(r.contactId, r.channel);
		const prev = latest.get(k);
		if (!prev || prev.at < r.at) latest.set(k, r);
	}
	for (const chunk of chunks([...latest.values()], CHUNK)) {
		const params: SqlParam[] = [];
		for (const r of chunk) params.push(r.contactId, r.channel, r.at);
		await db.run(
			`INSERT INTO inbound (contact_id, channel, last_at) VALUES ${valuesList(chunk.length, 3)}
			ON CONFLICT (contact_id, channel) DO UPDATE SET last_at = CASE WHEN excluded.last_at > inbound.last_at THEN excluded.last_at ELSE inbound.last_at END`,
			params,
		);
	}
	// Each message is a reply to the sends before it on its channel (within REPLY_LOOKBACK_MS):
	// the earliest message after a send is kept on it, whatever order the messages arrive in.
	for (const r of records) {
		await db.run(
			`UPDATE touches SET replied_at = $1
			WHERE contact_id = $2 AND channel = $3 AND COALESCE(sent_at, created_at) < $1 AND COALESCE(sent_at, created_at) >= $4 AND (replied_at IS NULL OR replied_at > $1)`,
			[r.at, r.contactId, r.channel, r.at - REPLY_LOOKBACK_MS],
		);
	}
}

export async function getLastInbound(
	db: SqlDb,
	keys: Array<{ contactId: string; channel: Channel }>,
): Promise<Map<string, number>> {
	const wanted = new Set(keys.map((k) => inboundKeyString(k.contactId, k.channel)));
	const map = new Map<string, number>();
	for (const chunk of chunks([...new Set(keys.map((k) => k.contactId))], CHUNK)) {
		const within = inList(db, chunk);
		const rows = await db.query<Row>(
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

export async function findProcessed(db: SqlDb, scope: string, ids: string[]): Promise<Set<string>> {
	const seen = new Set<string>();
	for (const chunk of chunks([...new Set(ids)], CHUNK)) {
		const rows = await db.query<Row>(
			`SELECT id FROM processed_ids WHERE scope = $1 AND id IN (${placeholders(chunk.length, 2)})`,
			[scope, ...chunk],
		);
		for (const r of rows) seen.add(String(r.id));
	}
	return seen;
}

export async function markProcessed(
	db: SqlDb,
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
		const rows = await db.query<Row>(
			`INSERT INTO processed_ids (scope, id, at, contact_id, workflow_id, state, event, emitted_at, attempts, done_at) VALUES ${valuesList(chunk.length, 10)}
			ON CONFLICT (scope, id) DO NOTHING RETURNING id`,
			params,
		);
		for (const r of rows) fresh.add(String(r.id));
	}
	return fresh;
}

export async function markInboxDone(
	db: SqlDb,
	events: InboxKey[],
	now = Date.now(),
): Promise<Set<string>> {
	const done = new Set<string>();
	const byScope = new Map<string, string[]>();
	for (const e of events) byScope.set(e.scope, [...(byScope.get(e.scope) ?? []), e.id]);
	for (const [scope, ids] of byScope) {
		for (const chunk of chunks([...new Set(ids)], CHUNK)) {
			const rows = await db.query<Row>(
				`UPDATE processed_ids SET state = 'done', done_at = $2, event = NULL
				WHERE scope = $1 AND state = 'pending' AND id IN (${placeholders(chunk.length, 3)}) RETURNING id`,
				[scope, now, ...chunk],
			);
			for (const r of rows) done.add(`${scope}/${String(r.id)}`);
		}
	}
	return done;
}

export async function claimInboxReplay(
	db: SqlDb,
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
	const skipLocked = db.dialect === 'postgres' ? ' FOR UPDATE SKIP LOCKED' : '';
	return await db.transaction(async (tx) => {
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
			abandoned: spent.filter((r) => closed.has(`${String(r.scope)}/${String(r.id)}`)).map(toEvent),
		};
	});
}
