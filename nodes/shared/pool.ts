/** Bounded concurrency: a pool of task slots shared by a run's waves, and turns taken in order. */

/**
 * `limit` slots for tasks, shared by every `map` over it (a run's waves): at most `limit` tasks at
 * once over all of them, started in the order they were asked for, results in item order. After
 * the first rejection no further task starts, and a map rejects with it only once its tasks that
 * were running have ended: a failed call stops the work like a loop would, and nothing it started
 * (a send in flight) carries on behind the caller's back after the caller has answered.
 */
export function pool(limit: number) {
	let free = Math.max(1, limit);
	let failure: { error: unknown } | undefined;
	const waiting: Array<() => void> = [];
	const take = async () => {
		if (free > 0) free--;
		else await new Promise<void>((r) => waiting.push(r));
	};
	const give = () => {
		const next = waiting.shift();
		if (next) next();
		else free++;
	};
	return {
		async map<T, R>(items: T[], fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
			const settled = await Promise.allSettled(
				items.map(async (item, i) => {
					await take();
					try {
						if (failure) throw failure.error;
						return await fn(item, i);
					} catch (error) {
						failure ??= { error };
						throw error;
					} finally {
						give();
					}
				}),
			);
			const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
			if (failed) throw failure ? failure.error : failed.reason;
			return settled.map((r) => (r as PromiseFulfilledResult<R>).value);
		},
	};
}

/** `fn` over `items` with at most `limit` running at once (a pool of its own). */
export async function mapLimit<T, R>(
	items: T[],
	limit: number,
	fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
	return await pool(limit).map(items, fn);
}

/**
 * Turns taken one at a time, in the order asked for: `await turn()` waits for the previous holder
 * to end its turn and one turn of the event loop (so timers due meanwhile fire), then returns the
 * function that ends this one (calling it again does nothing).
 */
export function turns() {
	let last: Promise<void> = Promise.resolve();
	return async (): Promise<() => void> => {
		let end!: () => void;
		const mine = new Promise<void>((r) => {
			end = r;
		});
		const before = last;
		last = mine;
		await before;
		await new Promise((r) => setImmediate(r));
		return end;
	};
}
