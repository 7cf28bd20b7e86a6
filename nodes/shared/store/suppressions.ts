/**
 * Suppressions: addresses that must never be contacted on a channel (STOP, bounces, complaints).
 */
import type { Channel } from '../contact';
import { chunks, inList, valuesList, type SqlDb, type SqlParam } from './db';
import { CHUNK, str, type Row } from './sql-rows';
import type { SuppressionEntry } from './types';

export async function addSuppressions(db: SqlDb, entries: SuppressionEntry[]): Promise<void> {
	const now = Date.now();
	for (const chunk of chunks(entries, CHUNK)) {
		const params: SqlParam[] = [];
		for (const e of chunk)
			params.push(e.address, e.channel ?? '', e.reason, e.note ?? null, e.createdAt ?? now);
		await db.run(
			`INSERT INTO suppressions (address, channel, reason, note, created_at) VALUES ${valuesList(chunk.length, 5)}
			ON CONFLICT (address, channel) DO UPDATE SET reason = excluded.reason, note = excluded.note`,
			params,
		);
	}
}

export async function removeSuppressions(
	db: SqlDb,
	entries: Array<{ address: string; channel?: Channel }>,
): Promise<number> {
	let removed = 0;
	for (const chunk of chunks(entries, CHUNK)) {
		const params: SqlParam[] = [];
		for (const e of chunk) params.push(e.address, e.channel ?? '');
		const r = await db.run(
			`DELETE FROM suppressions WHERE (address, channel) IN (VALUES ${valuesList(chunk.length, 2)})`,
			params,
		);
		removed += r.changes;
	}
	return removed;
}

export async function findSuppressions(
	db: SqlDb,
	addresses: string[],
): Promise<SuppressionEntry[]> {
	const out: SuppressionEntry[] = [];
	for (const chunk of chunks([...new Set(addresses)], CHUNK)) {
		const within = inList(db, chunk);
		const rows = await db.query<Row>(
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
