/**
 * Rate limiters (N requests per second per key, spread evenly) and a bounded-concurrency pool.
 * - `localLimiter`: shared by every execution in this process (one n8n instance), same rules.
 * - `sharedLimiter(store)`: one bucket per key in the Convergent store, shared by every process
 *   that uses it (n8n queue mode: all workers on one PostgreSQL store). Each send takes the next
 *   free slot with one atomic statement; a 429's pause moves the key's next slot for everyone.
 */

export interface RateLimiter {
	/** Whether the limit holds across processes (queue-mode workers), not only in this one. */
	readonly shared: boolean;
	acquire(key: string, perSecond: number): Promise<void>;
	/** Pushes the key's next slot back (a 429's Retry-After pauses every sender on that key). */
	pause(key: string, ms: number): Promise<void>;
}

/** The store's side of a shared limiter (Store.takeRateSlot / pauseRate). */
export interface RateSlots {
	/** Takes the key's next slot `intervalUs` after the previous one (not before `nowUs`); returns its start (µs). */
	takeRateSlot(key: string, intervalUs: number, nowUs: number): Promise<number>;
	/** No slot of the key before `untilUs`. */
	pauseRate(key: string, untilUs: number): Promise<void>;
}

/**
 * A slot that went by more than this while the process stood still (a long GC pause, a stalled
 * worker) is given up for a new one: sending on all the missed slots at once would be a burst over
 * the provider's limit. Sends then go out within [slot, slot + 10 ms], so any one second holds at
 * most ceil(1.01 s x 95 % of the limit) of them: 77 at 80/s, three below the limit for what a
 * loaded machine adds between the slot and the wire (with 20 ms, two workers on one 80/s number
 * once put 81 requests in one second at the provider: a 429).
 */
export const LATE_SLOT_MS = 10;

export function sharedLimiter(slots: RateSlots): RateLimiter {
	return {
		shared: true,
		async acquire(key, perSecond) {
			if (!(perSecond > 0)) return;
			const intervalUs = Math.round(1e6 / perSecond);
			for (let attempt = 1; ; attempt++) {
				const at = (await slots.takeRateSlot(key, intervalUs, Date.now() * 1000)) / 1000;
				const wait = at - Date.now();
				if (wait > 0) await new Promise((r) => setTimeout(r, wait));
				// Late only after a stall; an idle key's slot is "now" and a retake finds it idle again.
				if (Date.now() - at <= LATE_SLOT_MS || attempt === 3) return;
			}
		},
		async pause(key, ms) {
			await slots.pauseRate(key, Math.round((Date.now() + ms) * 1000));
		},
	};
}

/** The same slot clock in this process's memory: what the store keeps for queue mode. */
const memorySlots = new Map<string, number>();
const processSlots: RateSlots = {
	async takeRateSlot(key, intervalUs, nowUs) {
		const at = Math.max(memorySlots.get(key) ?? 0, nowUs);
		memorySlots.set(key, at + intervalUs);
		return at;
	},
	async pauseRate(key, untilUs) {
		memorySlots.set(key, Math.max(memorySlots.get(key) ?? 0, untilUs));
	},
};

/**
 * One n8n process's limiter (embedded store): the shared limiter's rules, including giving up a
 * slot missed during a stall (a GC pause, a busy event loop), over a clock kept in memory. Without
 * that retake, the timers of every slot a stall let pass fired together: a burst over the limit.
 */
export const localLimiter: RateLimiter = { ...sharedLimiter(processSlots), shared: false };

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

/**
 * `fn` over `items` with at most `limit` running at once, results in item order. After the first
 * rejection no further item starts (the ones running finish), so a failed call stops the work
 * like a loop would instead of carrying on behind the caller's back.
 */
export async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
	const results = new Array<R>(items.length);
	let next = 0;
	let failed = false;
	const workers = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
		while (!failed && next < items.length) {
			const i = next++;
			try {
				results[i] = await fn(items[i], i);
			} catch (error) {
				failed = true;
				throw error;
			}
		}
	});
	await Promise.all(workers);
	return results;
}

export function backoffMs(attempt: number, retryAfterSeconds?: number): number {
	if (retryAfterSeconds !== undefined && Number.isFinite(retryAfterSeconds)) return retryAfterSeconds * 1000 + Math.random() * 100;
	return Math.min(30_000, 250 * 2 ** attempt) * (0.5 + Math.random() * 0.5);
}
