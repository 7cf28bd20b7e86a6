/**
 * Rate limiters (a provider's limit of N requests per second per key, spread evenly).
 * - `localLimiter`: shared by every execution in this process (one n8n instance, embedded store):
 *   one queue per key, each send let go when the pace (LIMIT_WINDOW_MS / limit) allows.
 * - `sharedLimiter(store)`: one slot clock per key in the Convergent store, shared by every process
 *   that uses it (n8n queue mode: all workers on one PostgreSQL store), at SHARED_PACE of the limit.
 *   The senders of a process on a key wait in one queue and only its head holds a slot (one
 *   atomic statement takes it), so a 429 that slows the key, or a quota that stops it, reaches
 *   every send not yet on the wire in every process, as the local queue does.
 */

import { CLOSED_MAX_MS, MAX_PAUSE_MS, SLOW_DOWN, SLOW_DOWN_MAX_MS, spedUp } from '../rate';

export interface RateLimiter {
	/** Whether the limit holds across processes (queue-mode workers), not only in this one. */
	readonly shared: boolean;
	/** Waits for this key's turn under the provider's limit of `perSecond` requests a second. */
	acquire(key: string, perSecond: number): Promise<void>;
	/** The provider answered 429 on the key, asking for `retryAfterMs`: the key's senders back off. */
	backOff(key: string, retryAfterMs: number, perSecond: number): Promise<void>;
}

/** Why a send asked to wait `retryAfterMs` (over MAX_PAUSE_MS) was not sent. */
export const tooLongToWait = (retryAfterMs: number) =>
	`The provider asked to wait ${Math.round(retryAfterMs / 1000)} s (Retry-After), more than the ${MAX_PAUSE_MS / 1000} s a run waits: not sent, so a later run can send it.`;

/** A send whose key the provider closed (a 429 with a Retry-After over MAX_PAUSE_MS): it was not sent. */
export class KeyClosedError extends Error {
	constructor(
		readonly until: number,
		readonly retryAfterMs: number,
	) {
		super(
			`${tooLongToWait(retryAfterMs)} Sends on this sender are held for a later run until ${new Date(until).toISOString()}.`,
		);
	}
}

/** Keys closed in this process, by the limiters of both kinds, until when. */
const closures = new Map<string, { until: number; retryAfterMs: number }>();

/** The key's closure, when a Retry-After over MAX_PAUSE_MS closed it and it has not ended. */
function closedError(key: string): KeyClosedError | undefined {
	const c = closures.get(key);
	if (!c) return undefined;
	if (c.until <= Date.now()) {
		closures.delete(key);
		return undefined;
	}
	return new KeyClosedError(c.until, c.retryAfterMs);
}

/** A Retry-After over MAX_PAUSE_MS closes the key (returns true); anything shorter is a pause or a slow-down. */
function closeIfTooLong(key: string, retryAfterMs: number): boolean {
	if (!(retryAfterMs > MAX_PAUSE_MS)) return false;
	closures.set(key, { until: Date.now() + Math.min(retryAfterMs, CLOSED_MAX_MS), retryAfterMs });
	return true;
}

/** The store's side of a shared limiter (Store.takeRateSlot / slowRate / pauseRate). */
export interface RateSlots {
	/**
	 * Takes the key's next slot, `intervalUs` x the key's slow factor after the previous one (not
	 * before `nowUs`), and brings the slow factor a step back towards 1 (spedUp); returns the slot's start (µs).
	 */
	takeRateSlot(key: string, intervalUs: number, nowUs: number): Promise<number>;
	/** A 429 at `nowUs`: the key's slow factor grows (once per SLOW_DOWN.burstMs) and its next slot moves one slowed interval on. */
	slowRate(key: string, intervalUs: number, nowUs: number): Promise<void>;
	/** No slot of the key before `untilUs`. */
	pauseRate(key: string, untilUs: number): Promise<void>;
	/**
	 * How far the store's clock is ahead of this process's (ms): one clock rules the shared slots,
	 * so a worker whose own clock is wrong cannot push everyone's next slot (PostgreSQL's clock; 0
	 * for a store on this machine's disk).
	 */
	clockOffsetMs?(): Promise<number>;
}

/** How long a measured clock offset is used before it is measured again. */
export const CLOCK_CHECK_MS = 60_000;

/**
 * How late a send may go on its turn. On the shared clock, a slot that went by more than this
 * while the process stood still (a long GC pause, a stalled worker) is given up for a new one:
 * sending on all the missed slots at once would be a burst over the provider's limit. Sends then
 * go out within [slot, slot + 10 ms], so any one second holds at most ceil(1.01 s x 95 % of the
 * limit) of them: 77 at 80/s, three below the limit for what a loaded machine adds between the
 * slot and the wire (with 20 ms, two workers on one 80/s number once put 81 requests in one second
 * at the provider: a 429). The local queue makes up this much lateness without moving later turns.
 */
export const LATE_SLOT_MS = 10;

/**
 * The share of the limit the shared slot clock hands out. Workers cannot see each other's sends,
 * only the slots, so the margin for lateness and jitter is taken from the pace.
 */
export const SHARED_PACE = 0.95;

const sharedByStore = new WeakMap<RateSlots, RateLimiter>();

/** A process's senders on one key of a shared clock: the head holds the key's next slot. */
interface SlotQueue {
	waiting: Array<{ intervalUs: number; go: () => void; fail: (e: unknown) => void }>;
	running: boolean;
}

/**
 * The limiter on a shared store: one per store object, so the executions of a process share its
 * queue per key. A slot is taken only when the send before it in this process has gone: each
 * process holds at most one slot ahead per key (one interval), not the two seconds of sends its
 * requests in flight would take, so a slow-down or a pause after a 429 applies to every send
 * still waiting, in every process, from the next slot on.
 */
export function sharedLimiter(slots: RateSlots): RateLimiter {
	const existing = sharedByStore.get(slots);
	if (existing) return existing;
	const queues = new Map<string, SlotQueue>();
	const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
	// The store's clock, as an offset to this process's, measured once a minute.
	let offset: { ms: number; at: number } | undefined;
	const storeNow = async () => {
		if (slots.clockOffsetMs && (!offset || Date.now() - offset.at > CLOCK_CHECK_MS))
			offset = { ms: await slots.clockOffsetMs(), at: Date.now() };
		return Date.now() + (offset?.ms ?? 0);
	};
	const run = async (q: SlotQueue, key: string) => {
		q.running = true;
		try {
			while (q.waiting.length) {
				const head = q.waiting[0];
				try {
					for (let attempt = 1; ; attempt++) {
						const closed = closedError(key);
						if (closed) throw closed;
						const at =
							(await slots.takeRateSlot(key, head.intervalUs, (await storeNow()) * 1000)) / 1000;
						// The store never hands out a slot further than MAX_PAUSE_MS ahead.
						const wait = Math.min(at - (await storeNow()), MAX_PAUSE_MS);
						if (wait > 0) await sleep(wait);
						// Late only after a stall; an idle key's slot is "now" and a retake finds it idle again.
						if ((await storeNow()) - at <= LATE_SLOT_MS || attempt === 3) break;
					}
					const closed = closedError(key);
					if (closed) throw closed;
					q.waiting.shift();
					head.go();
				} catch (error) {
					// The store failed or the key closed: this send fails (nothing goes without a slot), the next one tries again.
					q.waiting.shift();
					head.fail(error);
				}
			}
		} finally {
			q.running = false;
		}
	};
	const limiter: RateLimiter = {
		shared: true,
		async acquire(key, perSecond) {
			if (!(perSecond > 0)) return;
			let q = queues.get(key);
			if (!q) queues.set(key, (q = { waiting: [], running: false }));
			const queue = q;
			await new Promise<void>((go, fail) => {
				queue.waiting.push({ intervalUs: Math.round(1e6 / (SHARED_PACE * perSecond)), go, fail });
				if (!queue.running) void run(queue, key);
			});
		},
		async backOff(key, retryAfterMs, perSecond) {
			const nowUs = (await storeNow()) * 1000;
			closeIfTooLong(key, retryAfterMs);
			// A quota, not a burst: no slot on the key until the Retry-After (at most MAX_PAUSE_MS), for every process.
			if (retryAfterMs > SLOW_DOWN_MAX_MS || !(perSecond > 0))
				return await slots.pauseRate(
					key,
					Math.round(nowUs + Math.min(retryAfterMs, MAX_PAUSE_MS) * 1000),
				);
			await slots.slowRate(key, Math.round(1e6 / (SHARED_PACE * perSecond)), nowUs);
		},
	};
	sharedByStore.set(slots, limiter);
	return limiter;
}

/**
 * The pace on one key: a send every LIMIT_WINDOW_MS / limit, each at most LATE_SLOT_MS late on its
 * turn without the ones behind it moving, so the limit + 1 sends that would trip the provider span
 * at least 1,020 ms: a request may reach the provider 20 ms out of step with the others (the
 * network, the provider's clock) before one too many falls into a second. At 80/s: a send every
 * 12.9 ms, 77.7 a second (97 % of the limit). (At 1,040 ms, 96 %, the sends of 2,000 WhatsApp
 * templates inside n8n reached a median 94.8 % of the limit end to end, under the 95 % asked for,
 * and 429s were as rare as now: 0-2 a run, 5 once.) The shared slot clock keeps 42.6 ms at 95 %.
 */
export const LIMIT_WINDOW_MS = 1030;

interface KeyQueue {
	/** When the next send is due (a quota's Retry-After moves it too). */
	due: number;
	/** After a 429 the pace is divided by `slowFactor`; it comes back a little with each send. */
	slowFactor: number;
	/** When the last 429 slowed the key (429s of one burst slow it once). */
	slowedAt: number;
	/** Bursts of 429s in a row, each within SLOW_DOWN.calmMs of the one before: the pace comes back that many times slower. */
	streak: number;
	waiting: Array<{ interval: number; go: () => void; fail: (e: unknown) => void; idle: boolean }>;
	timer?: ReturnType<typeof setTimeout>;
	key: string;
}

/**
 * One n8n process's limiter (embedded store), in memory: the senders on a key wait in one queue,
 * and each is let go on its turn (one timer per key), decided when it goes. A turn taken up to
 * LATE_SLOT_MS late (timers fire late) does not move the turns behind it, so small delays do not
 * add up over a run; a longer stall (a GC pause) moves them, so sends never bunch after it. A 429
 * slows the key (back-off) for every send waiting, at once.
 */
function pacedQueue(): RateLimiter {
	const queues = new Map<string, KeyQueue>();
	const pump = (q: KeyQueue) => {
		if (q.timer) return;
		// A closed key: every waiting send is answered at once, none goes.
		const closed = closedError(q.key);
		if (closed) for (const w of q.waiting.splice(0)) w.fail(closed);
		while (q.waiting.length) {
			const now = Date.now();
			const head = q.waiting[0];
			const at = q.due;
			if (now < at) {
				q.timer = setTimeout(() => {
					q.timer = undefined;
					pump(q);
				}, at - now);
				return;
			}
			q.waiting.shift();
			const interval = head.interval * q.slowFactor;
			if (q.slowFactor > 1) q.slowFactor = spedUp(q.slowFactor, q.streak);
			q.due = (head.idle ? now : Math.max(at, now - LATE_SLOT_MS)) + interval;
			head.go();
		}
	};
	const queueOf = (key: string) => {
		let q = queues.get(key);
		if (!q)
			queues.set(key, (q = { due: 0, slowFactor: 1, slowedAt: 0, streak: 1, waiting: [], key }));
		return q;
	};
	// A 429 changed the key's pace: the waiting sends see it now, not when the timer set before fires.
	const wake = (q: KeyQueue) => {
		if (q.timer) clearTimeout(q.timer);
		q.timer = undefined;
		pump(q);
	};
	// A send every LIMIT_WINDOW_MS / limit.
	const intervalOf = (perSecond: number) => LIMIT_WINDOW_MS / perSecond;
	return {
		shared: false,
		async acquire(key, perSecond) {
			if (!(perSecond > 0)) return;
			const q = queueOf(key);
			await new Promise<void>((go, fail) => {
				// The first send after a quiet spell starts the pace afresh from when it goes.
				q.waiting.push({
					interval: intervalOf(perSecond),
					go,
					fail,
					idle: !q.waiting.length && q.due + LATE_SLOT_MS < Date.now(),
				});
				pump(q);
			});
		},
		async backOff(key, retryAfterMs, perSecond) {
			const q = queueOf(key);
			const now = Date.now();
			if (closeIfTooLong(key, retryAfterMs)) return wake(q);
			if (retryAfterMs > SLOW_DOWN_MAX_MS) {
				// A quota, not a burst: nothing goes on the key until the Retry-After.
				q.due = Math.max(q.due, now + retryAfterMs);
				return wake(q);
			}
			// The pace drops by a fifth, once for the 429s of one burst, and comes back a little with
			// each send (SLOW_DOWN). The one request too many gives its turn back, so the provider's
			// window has room again. (The refused request itself waits the Retry-After: transport's send.)
			if (now - q.slowedAt >= SLOW_DOWN.burstMs) {
				q.slowFactor = Math.min(SLOW_DOWN.max, q.slowFactor * SLOW_DOWN.by);
				q.streak =
					now - q.slowedAt < SLOW_DOWN.calmMs ? Math.min(SLOW_DOWN.maxStreak, q.streak + 1) : 1;
				q.slowedAt = now;
			}
			q.due = Math.max(q.due, now) + (perSecond > 0 ? intervalOf(perSecond) * q.slowFactor : 0);
			wake(q);
		},
	};
}

export const localLimiter: RateLimiter = pacedQueue();

/**
 * Requests in flight when Concurrency is left automatic: the limiter paces the sends, so in flight
 * is what the provider's latency needs at the rate (rate x latency). Room for 2 s of latency at
 * the summed rate of the batch's senders, at least 20, at most 200. A fixed 20 capped WhatsApp at
 * 40/s when the Cloud API answered in 500 ms.
 */
export function inFlightFor(ratesPerSecond: number[]): number {
	const rate = ratesPerSecond.reduce((a, b) => a + (b > 0 ? b : 0), 0);
	return Math.min(200, Math.max(20, Math.ceil(rate * 2)));
}

export function backoffMs(attempt: number, retryAfterSeconds?: number): number {
	if (retryAfterSeconds !== undefined && Number.isFinite(retryAfterSeconds))
		return retryAfterSeconds * 1000 + Math.random() * 100;
	return Math.min(30_000, 250 * 2 ** attempt) * (0.5 + Math.random() * 0.5);
}
