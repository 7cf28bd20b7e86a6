/**
 * Conversations: the AI answer cache, a conversation's turns, and Conversational Form sessions.
 */
import { chunks, inList, insertRows, placeholders, type SqlDb } from './db';
import { CHUNK, str, type Row } from './sql-rows';
import type { FormSession } from './types';

export async function getCached(db: SqlDb, hashes: string[]): Promise<Map<string, string>> {
	const map = new Map<string, string>();
	for (const chunk of chunks([...new Set(hashes)], CHUNK)) {
		const rows = await db.query<Row>(
			`SELECT prompt_hash, response FROM ai_cache WHERE prompt_hash IN (${placeholders(chunk.length)})`,
			chunk,
		);
		for (const r of rows) map.set(String(r.prompt_hash), String(r.response));
	}
	return map;
}

export async function putCached(
	db: SqlDb,
	entries: Array<{ hash: string; response: string; contactId?: string }>,
): Promise<void> {
	const now = Date.now();
	const unique = [...new Map(entries.map((e) => [e.hash, e])).values()];
	for (const chunk of chunks(unique, CHUNK)) {
		await insertRows(
			db,
			'INSERT INTO ai_cache (prompt_hash, response, created_at, contact_id)',
			4,
			chunk.map((e) => [e.hash, e.response, now, e.contactId ?? null]),
			'ON CONFLICT (prompt_hash) DO UPDATE SET response = excluded.response, created_at = excluded.created_at, contact_id = excluded.contact_id',
		);
	}
}

export async function addTurns(
	db: SqlDb,
	turns: Array<{ contactId: string; role: 'user' | 'assistant'; text: string; at: number }>,
): Promise<void> {
	for (const chunk of chunks(turns, CHUNK)) {
		await insertRows(
			db,
			'INSERT INTO conversation_turns (contact_id, role, text, at)',
			4,
			chunk.map((t) => [t.contactId, t.role, t.text, t.at]),
		);
	}
}

export async function getTurns(
	db: SqlDb,
	contactIds: string[],
	limit: number,
): Promise<Map<string, Array<{ role: 'user' | 'assistant'; text: string; at: number }>>> {
	const map = new Map<string, Array<{ role: 'user' | 'assistant'; text: string; at: number }>>();
	for (const chunk of chunks([...new Set(contactIds)], CHUNK)) {
		const within = inList(db, chunk);
		const rows = await db.query<Row>(
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

export async function getFormSessions(
	db: SqlDb,
	form: string,
	contactIds: string[],
): Promise<Map<string, FormSession>> {
	const map = new Map<string, FormSession>();
	for (const chunk of chunks([...new Set(contactIds)], CHUNK)) {
		const rows = await db.query<Row>(
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

export async function saveFormSessions(
	db: SqlDb,
	form: string,
	sessions: Array<FormSession & { contactId: string }>,
): Promise<void> {
	const latest = [...new Map(sessions.map((x) => [x.contactId, x])).values()];
	for (const chunk of chunks(latest, CHUNK)) {
		await insertRows(
			db,
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
