/**
 * Engagement: scores kept per person, in-app messages and their inbox, tracked links and their clicks.
 */
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
import { CHUNK, DELIVERY_RANK_SQL, deliveryRank, str, toTouch, type Row } from './sql-rows';
import type { InAppMessage, TouchRecord, TrackedLink } from './types';

export async function getEngagement(
	db: SqlDb,
	contactIds: string[],
): Promise<Map<string, { score: number; updatedAt: number }>> {
	const map = new Map<string, { score: number; updatedAt: number }>();
	for (const chunk of chunks([...new Set(contactIds)], CHUNK)) {
		const within = inList(db, chunk);
		const rows = await db.query<Row>(
			`SELECT contact_id, score, updated_at FROM engagement WHERE contact_id ${within.sql}`,
			within.params,
		);
		for (const r of rows)
			map.set(String(r.contact_id), { score: Number(r.score), updatedAt: Number(r.updated_at) });
	}
	return map;
}

export async function saveEngagement(
	db: SqlDb,
	rows: Array<{ contactId: string; score: number; updatedAt: number }>,
): Promise<void> {
	const latest = new Map(rows.map((r) => [r.contactId, r]));
	for (const chunk of chunks([...latest.values()], CHUNK)) {
		const params: SqlParam[] = [];
		for (const r of chunk) params.push(r.contactId, r.score, r.updatedAt);
		await db.run(
			`INSERT INTO engagement (contact_id, score, updated_at) VALUES ${valuesList(chunk.length, 3)}
			ON CONFLICT (contact_id) DO UPDATE SET score = excluded.score, updated_at = excluded.updated_at`,
			params,
		);
	}
}

export async function addInAppMessages(db: SqlDb, rows: InAppMessage[]): Promise<void> {
	for (const chunk of chunks(rows, CHUNK)) {
		await insertRows(
			db,
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

export async function saveTrackedLinks(db: SqlDb, links: TrackedLink[]): Promise<void> {
	const now = Date.now();
	// The first word for a code stands, within a call as across calls (ON CONFLICT DO NOTHING).
	const first = new Map<string, TrackedLink>();
	for (const l of links) if (!first.has(l.code)) first.set(l.code, l);
	for (const chunk of chunks([...first.values()], CHUNK)) {
		await insertRows(
			db,
			'INSERT INTO tracked_links (code, contact_id, channel, campaign, url, created_at)',
			6,
			chunk.map((l) => [l.code, l.contactId, l.channel, l.campaign, l.url, now]),
			'ON CONFLICT (code) DO NOTHING',
			['text', 'text', 'text', 'text', 'text', 'int8'],
		);
	}
}

export async function findTrackedLinks(
	db: SqlDb,
	codes: string[],
): Promise<Map<string, TrackedLink>> {
	const found = new Map<string, TrackedLink>();
	for (const chunk of chunks([...new Set(codes)], CHUNK)) {
		const within = inList(db, chunk);
		for (const r of await db.query<Row>(
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

export async function listInAppMessages(
	db: SqlDb,
	contactId: string,
	now: number,
	limit: number,
): Promise<InAppMessage[]> {
	const rows = await db.query<Row>(
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

export async function markInAppRead(
	db: SqlDb,
	contactId: string,
	ids: string[],
	now: number,
): Promise<number> {
	let changed = 0;
	for (const chunk of chunks([...new Set(ids)], CHUNK)) {
		const rows = await db.query<Row>(
			`UPDATE inapp_messages SET read_at = $1 WHERE contact_id = $2 AND read_at IS NULL AND id IN (${placeholders(chunk.length, 3)}) RETURNING id`,
			[now, contactId, ...chunk],
		);
		changed += rows.length;
	}
	return changed;
}

export async function recordClick(
	db: SqlDb,
	contactId: string,
	channel: string,
	campaign: string,
): Promise<TouchRecord | undefined> {
	const [row] = await db.query<Row>(
		`UPDATE touches SET delivery_status = CASE WHEN ${DELIVERY_RANK_SQL} < $4 THEN 'clicked' ELSE delivery_status END, updated_at = $5
		WHERE idempotency_key = (SELECT idempotency_key FROM touches WHERE contact_id = $1 AND channel = $2 AND COALESCE(campaign, '') = $3 AND status = 'sent' ORDER BY created_at DESC LIMIT 1)
		RETURNING *`,
		[contactId, channel, campaign, deliveryRank('clicked'), Date.now()],
	);
	return row ? toTouch(row) : undefined;
}
