/**
 * Shared rate limits: one slot clock per credential and sender in the database, so every worker paces under the provider's limit.
 */
import { MAX_PAUSE_MS, SLOW_DOWN } from '../rate';
import type { SqlDb } from './db';
import type { Row } from './sql-rows';

/** The later of a key's next free slot on the shared rate clock and $2 (µs): now, or a pause's end. */
const NEXT_OR_GIVEN =
	'CASE WHEN rate_slots.next_at > CAST($2 AS BIGINT) THEN rate_slots.next_at ELSE CAST($2 AS BIGINT) END';

// A slot is never further than MAX_PAUSE_MS ahead: a clock pushed further (by an answer from
// before the bound, or a worker's clock running ahead) recovers at the next slot taken.
const NEXT_WITHIN_PAUSE = `CASE WHEN rate_slots.next_at > CAST($2 AS BIGINT) + ${MAX_PAUSE_MS * 1000} THEN CAST($2 AS BIGINT) + ${MAX_PAUSE_MS * 1000} ELSE ${NEXT_OR_GIVEN} END`;

export async function takeRateSlot(
	db: SqlDb,
	key: string,
	intervalUs: number,
	nowUs: number,
): Promise<number> {
	// One statement, atomic in both databases (every right-hand side reads the row as it was):
	// the slot after the key's last one, or now; the next one a slowed interval on, and the slow
	// factor a step back towards 1 (limiter.ts spedUp).
	const spedUp = `rate_slots.slow_factor * (1 - CAST($4 AS DOUBLE PRECISION) / rate_slots.slow_streak)`;
	const [row] = await db.query<Row>(
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

export async function slowRate(
	db: SqlDb,
	key: string,
	intervalUs: number,
	nowUs: number,
): Promise<void> {
	// The 429s of one burst (SLOW_DOWN.burstMs) slow the key once, and a burst within calmMs of
	// the one before lengthens the streak; each 429 gives back one turn. (As the local queue.)
	const since = `CAST($2 AS BIGINT) - rate_slots.slowed_at`;
	const sameBurst = `${since} < CAST($4 AS BIGINT)`;
	const slowed = `CASE WHEN ${sameBurst} THEN rate_slots.slow_factor
		WHEN rate_slots.slow_factor * CAST($5 AS DOUBLE PRECISION) > CAST($6 AS DOUBLE PRECISION) THEN CAST($6 AS DOUBLE PRECISION)
		ELSE rate_slots.slow_factor * CAST($5 AS DOUBLE PRECISION) END`;
	await db.run(
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
export async function clockOffsetMs(db: SqlDb): Promise<number> {
	if (db.dialect !== 'postgres') return 0;
	const before = Date.now();
	const [row] = await db.query<Row>(
		'SELECT CAST(FLOOR(EXTRACT(EPOCH FROM clock_timestamp()) * 1000) AS BIGINT) AS now',
	);
	return Number(row.now) - Math.round((before + Date.now()) / 2);
}

export async function pauseRate(db: SqlDb, key: string, untilUs: number): Promise<void> {
	await db.run(
		`INSERT INTO rate_slots (key, next_at) VALUES ($1, CAST($2 AS BIGINT))
		ON CONFLICT (key) DO UPDATE SET next_at = ${NEXT_OR_GIVEN}`,
		[key, Math.round(untilUs)],
	);
}
