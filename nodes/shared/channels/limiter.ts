/**
 * A per-key rate limiter (N requests per second, spread evenly) and a bounded-concurrency pool,
 * shared by every execution in the process so parallel runs on one credential respect one limit.
 */
const buckets = new Map<string, { next: number }>();

/** Waits until this key may send again at `perSecond`. */
export async function acquire(key: string, perSecond: number): Promise<void> {
	if (!(perSecond > 0)) return;
	const interval = 1000 / perSecond;
	const b = buckets.get(key) ?? { next: 0 };
	buckets.set(key, b);
	const now = Date.now();
	const at = Math.max(now, b.next);
	b.next = at + interval;
	if (at > now) await new Promise((r) => setTimeout(r, at - now));
}

/** Pushes the key's next slot back (a 429's Retry-After pauses every sender on that key). */
export function pause(key: string, ms: number): void {
	const b = buckets.get(key) ?? { next: 0 };
	b.next = Math.max(b.next, Date.now() + ms);
	buckets.set(key, b);
}

export async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
	const results = new Array<R>(items.length);
	let next = 0;
	const workers = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
		while (next < items.length) {
			const i = next++;
			results[i] = await fn(items[i], i);
		}
	});
	await Promise.all(workers);
	return results;
}

export function backoffMs(attempt: number, retryAfterSeconds?: number): number {
	if (retryAfterSeconds !== undefined && Number.isFinite(retryAfterSeconds)) return retryAfterSeconds * 1000 + Math.random() * 100;
	return Math.min(30_000, 250 * 2 ** attempt) * (0.5 + Math.random() * 0.5);
}
