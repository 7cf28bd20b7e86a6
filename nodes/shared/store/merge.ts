/**
 * Merging two contacts into one person: every table that names a contact moves to the one kept.
 */
import { encodeAddresses, foldConsent, groupLedgerRows, LEDGER_FOLD_COLUMNS } from './consent-fold';
import { chunks, insertRows, type SqlDb, type SqlParam } from './db';
import * as people from './people';
import { CHUNK, type Row } from './sql-rows';
import { getProfiles, upsertProfiles } from './profiles';

export async function mergeContacts(
	db: SqlDb,
	fromId: string,
	intoId: string,
	actor?: string,
): Promise<{ moved: number }> {
	return await db.transaction(async (tx) => {
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
		const moved = await moveRows(tx, from, into);
		await refoldConsent(tx, from, into);
		await mergeProfiles(tx, from, into);
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

/** Every row of `from` in a table that names a contact moves to `into`; returns how many moved. */
async function moveRows(tx: SqlDb, from: string, into: string): Promise<number> {
	let moved = 0;
	const move = async (sql: string) => {
		moved += (await tx.run(sql, [into, from])).changes;
	};
	for (const table of [
		'consent_events',
		'consent_tokens',
		'touches',
		'sent_keys',
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
	return moved;
}

async function refoldConsent(tx: SqlDb, from: string, into: string): Promise<void> {
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
}

async function mergeProfiles(tx: SqlDb, from: string, into: string): Promise<void> {
	// The profile: the surviving person's values win; the other's fill the gaps.
	const profiles = await getProfiles(tx, [from, into]);
	const a = profiles.get(into);
	const b = profiles.get(from);
	await upsertProfiles(tx, [
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
}
