/**
 * Journeys: each person's stage, goal and exit per journey, and the transitions between stages.
 */
import { chunks, insertRows, placeholders, valuesList, type SqlDb, type SqlParam } from './db';
import { CHUNK, type Row } from './sql-rows';
import type { JourneyStateRow, JourneyTransitionRow } from './types';

function toJourneyState(r: Row): JourneyStateRow {
	const st: JourneyStateRow = { stage: String(r.stage), enteredAt: Number(r.entered_at) };
	if (r.goal_reached_at !== null && r.goal_reached_at !== undefined)
		st.goalReachedAt = Number(r.goal_reached_at);
	if (r.exited_at !== null && r.exited_at !== undefined) st.exitedAt = Number(r.exited_at);
	return st;
}

type Tracked<R> = { duplicate: true } | { duplicate: false; result: R };
type JourneyEvent = { eventId: string; contactId: string; event: string; at: number };

export async function trackJourneyEvents<R extends { state: JourneyStateRow }>(
	db: SqlDb,
	journey: string,
	events: JourneyEvent[],
	apply: (state: JourneyStateRow | undefined, event: string, at: number) => R,
): Promise<Array<Tracked<R>>> {
	const out: Array<Tracked<R>> = [];
	for (const chunk of chunks(events, CHUNK))
		out.push(...(await db.transaction(async (tx) => await trackChunk(tx, journey, chunk, apply))));
	return out;
}

/** One chunk in one transaction: its people locked, each new event applied in order. */
async function trackChunk<R extends { state: JourneyStateRow }>(
	tx: SqlDb,
	journey: string,
	chunk: JourneyEvent[],
	apply: (state: JourneyStateRow | undefined, event: string, at: number) => R,
): Promise<Array<Tracked<R>>> {
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
	const states = await journeyStatesIn(tx, journey, contacts);
	const touched = new Map<string, JourneyStateRow>();
	const transitions: SqlParam[][] = [];
	const results: Array<Tracked<R>> = [];
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
				transitions.push([journey, e.contactId, before?.stage ?? null, result.state.stage, e.at]);
			}
		}
		results.push({ duplicate: false, result });
	}
	await saveStates(tx, journey, touched, transitions);
	return results;
}

async function saveStates(
	tx: SqlDb,
	journey: string,
	touched: Map<string, JourneyStateRow>,
	transitions: SqlParam[][],
): Promise<void> {
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
}

async function journeyStatesIn(
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

export async function getJourneyStates(
	db: SqlDb,
	journey: string,
	contactIds: string[],
): Promise<Map<string, JourneyStateRow>> {
	return await journeyStatesIn(db, journey, [...new Set(contactIds)]);
}

export async function getAllJourneyStates(
	db: SqlDb,
	journey: string,
): Promise<Array<JourneyStateRow & { contactId: string }>> {
	const rows = await db.query<Row>('SELECT * FROM journey_state WHERE journey = $1', [journey]);
	return rows.map((r) => ({ contactId: String(r.contact_id), ...toJourneyState(r) }));
}

export async function getJourneyTransitions(
	db: SqlDb,
	journey: string,
	contactId?: string,
): Promise<JourneyTransitionRow[]> {
	const rows = contactId
		? await db.query<Row>(
				'SELECT * FROM journey_transitions WHERE journey = $1 AND contact_id = $2 ORDER BY at, id',
				[journey, contactId],
			)
		: await db.query<Row>('SELECT * FROM journey_transitions WHERE journey = $1 ORDER BY at, id', [
				journey,
			]);
	return rows.map((r) => ({
		contactId: String(r.contact_id),
		fromStage: r.from_stage === null ? null : String(r.from_stage),
		toStage: String(r.to_stage),
		at: Number(r.at),
	}));
}
