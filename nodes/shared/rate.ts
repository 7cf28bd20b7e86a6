/**
 * How a sender reacts to a provider's limits, the same wherever the pace is kept (the in-process
 * queue in channels/limiter.ts, the shared slot clock in the store): how a 429 slows it, and how
 * long an answer may make it wait.
 */

/** A 429 whose Retry-After is longer than this stops the key until then (a quota, not a burst). */
export const SLOW_DOWN_MAX_MS = 2000;

/**
 * The longest wait a provider's answer can impose within a run (a Retry-After): up to it the key
 * pauses (in every worker, on the shared clock); past it (a quota for hours or days, or a hostile
 * answer) this process closes the key for at most CLOSED_MAX_MS, and every send on it is Not Sent
 * at once with the reason, for a later run. No timer is ever asked to wait longer (Node fires a
 * timer of more than 2^31-1 ms after 1 ms), and the shared clock is never pushed further.
 */
export const MAX_PAUSE_MS = 60_000;
export const CLOSED_MAX_MS = 15 * 60_000;

/**
 * How a 429 slows a key, the same on both limiters: the pace is divided by `by` (down to 1/`max`
 * of it at most), once for the 429s of one burst (`burstMs`: the requests already in flight), and
 * each send after brings it back by 1 - `speedUp` (1 %) divided by the streak: the bursts in a row
 * (up to `maxStreak`), each within `calmMs` of the one before. A lone 429 (a moment's jitter) costs
 * a few turns; a limit set above what the provider takes settles just under it instead of climbing
 * back in half a second and tripping again (2x too high, 480 messages: 37 429s instead of 144).
 */
export const SLOW_DOWN = {
	by: 1.25,
	max: 8,
	burstMs: 250,
	speedUp: 0.99,
	calmMs: 2000,
	maxStreak: 8,
} as const;

/** The slow factor after one more send at `factor` with `streak` bursts of 429s in a row. */
export const spedUp = (factor: number, streak: number) =>
	Math.max(1, factor * (1 - (1 - SLOW_DOWN.speedUp) / Math.max(1, streak)));
