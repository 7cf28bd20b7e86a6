/**
 * The shared limiter's clock (a slot clock like the store's, kept in memory here): a send whose
 * slot went by while its process stood still (a GC pause, a stopped worker) takes a new slot
 * instead of going out with every other missed one at once.
 */
import {
	KeyClosedError,
	LATE_SLOT_MS,
	LIMIT_WINDOW_MS,
	localLimiter,
	SHARED_PACE,
	sharedLimiter,
	type RateSlots,
} from '../../../nodes/shared/channels/limiter';
import { mapLimit, pool } from '../../../nodes/shared/pool';
import {
	CLOSED_MAX_MS,
	MAX_PAUSE_MS,
	SLOW_DOWN,
	SLOW_DOWN_MAX_MS,
} from '../../../nodes/shared/rate';

function memorySlots() {
	const next = new Map<string, number>();
	const taken: number[] = [];
	const slots: RateSlots = {
		async takeRateSlot(key, intervalUs, nowUs) {
			const at = Math.max(next.get(key) ?? 0, nowUs);
			next.set(key, at + intervalUs);
			taken.push(at);
			return at;
		},
		async slowRate(key, intervalUs, nowUs) {
			next.set(key, Math.max(next.get(key) ?? 0, nowUs) + intervalUs * 1.25);
		},
		async pauseRate(key, untilUs) {
			next.set(key, Math.max(next.get(key) ?? 0, untilUs));
		},
	};
	return { slots, taken };
}

/**
 * On the fake clock: the event loop stands still for `ms` (a long GC pause, a SIGSTOPped worker, a
 * busy machine). The clock moves on and every timer waiting fires `ms` late, the most a stall of
 * that length can make it. Tests of timing run on this clock, never on the machine's: a loaded CI
 * machine fires real timers late and together, which would be a stall the test did not mean.
 */
const stall = (ms: number) => jest.setSystemTime(Date.now() + ms);

/** Runs `body` on a fake clock starting at `now`. */
async function onFakeClock<T>(now: number, body: () => Promise<T>): Promise<T> {
	jest.useFakeTimers({ now });
	try {
		return await body();
	} finally {
		jest.useRealTimers();
	}
}

/** Advances the fake clock in steps until `done` settles (timers set while it runs fire too). */
async function settle<T>(done: Promise<T>, stepMs = 50, maxMs = 60_000): Promise<T> {
	let settled = false;
	void done.then(
		() => (settled = true),
		() => (settled = true),
	);
	for (let t = 0; !settled && t < maxMs; t += stepMs) await jest.advanceTimersByTimeAsync(stepMs);
	return done;
}

describe('sharedLimiter', () => {
	it('sends on its slot when on time: one slot per send', async () => {
		// A fake clock: every timer fires exactly on its slot. (On real timers a loaded CI machine
		// woke one >20 ms late, which is a stall, and the retake it caused is the next test's case.)
		jest.useFakeTimers({ now: 1_800_000_000_000 });
		try {
			const { slots, taken } = memorySlots();
			const limiter = sharedLimiter(slots);
			for (let k = 0; k < 5; k++) {
				const sent = limiter.acquire('wa:1', 100);
				await jest.advanceTimersByTimeAsync(10);
				await sent;
			}
			expect(taken).toHaveLength(5);
			// The shared clock hands out SHARED_PACE of the limit: slots 1 / (95 % of 100/s) apart.
			const us = Math.round(1e6 / (SHARED_PACE * 100));
			expect(taken.map((t) => t - taken[0])).toEqual([0, us, 2 * us, 3 * us, 4 * us]);
		} finally {
			jest.useRealTimers();
		}
	});

	it('a slot missed by more than LATE_SLOT_MS during a stall is given up for a new one', () =>
		onFakeClock(1_800_000_100_000, async () => {
			const { slots, taken } = memorySlots();
			const limiter = sharedLimiter(slots);
			// 20 sends waiting on slots 10 ms apart, then the process stands still for 300 ms.
			const sends = Array.from({ length: 20 }, () =>
				limiter.acquire('wa:1', 100).then(() => Date.now()),
			);
			await jest.advanceTimersByTimeAsync(5);
			stall(300);
			const sentAt = await settle(Promise.all(sends), 5);
			// Without the retake all 20 would go within a few ms of the stall's end.
			expect(taken.length).toBeGreaterThan(20);
			sentAt.sort((a, b) => a - b);
			let peak = 0;
			for (let lo = 0, hi = 0; hi < sentAt.length; hi++) {
				while (sentAt[hi] - sentAt[lo] >= 100) lo++;
				peak = Math.max(peak, hi - lo + 1);
			}
			// At 100/s a 100 ms window holds 10 slots; the late ones that still go add at most LATE_SLOT_MS / 10 ms.
			expect(peak).toBeLessThanOrEqual(10 + LATE_SLOT_MS / 10 + 1);
		}));
});

describe('localLimiter (embedded store: one n8n process)', () => {
	/** The most sends in any `windowMs`. */
	const peak = (times: number[], windowMs: number) => {
		const t = [...times].sort((a, b) => a - b);
		let most = 0;
		for (let lo = 0, hi = 0; hi < t.length; hi++) {
			while (t[hi] - t[lo] >= windowMs) lo++;
			most = Math.max(most, hi - lo + 1);
		}
		return most;
	};

	it('keeps the provider limit in every second, stall or not: sends one interval apart, from the start and after a stall, none dropped', () =>
		onFakeClock(1_850_000_000_000, async () => {
			const key = `wa:local-${Date.now()}`;
			const limit = 100;
			const interval = LIMIT_WINDOW_MS / limit;
			const started = Date.now();
			const sends = Array.from({ length: 250 }, () =>
				localLimiter.acquire(key, limit).then(() => Date.now()),
			);
			// The process stands still for 300 ms a second into the run (a long GC pause).
			await jest.advanceTimersByTimeAsync(1000);
			stall(300);
			const sentAt = (await settle(Promise.all(sends))).sort((a, b) => a - b);
			// The provider's rule: never more than the limit in any one second. Before, every slot the
			// stall let pass fired at its end: about 30 sends in a few ms.
			expect(peak(sentAt, 1000)).toBeLessThanOrEqual(limit);
			// Spread evenly: no 100 ms holds more than the intervals it spans (+1: a turn made up).
			expect(peak(sentAt, 100)).toBeLessThanOrEqual(Math.ceil(100 / interval) + 1);
			// No send dropped or waiting on a stale slot: the run is the sends' intervals plus the stall.
			expect(sentAt[sentAt.length - 1] - started).toBeGreaterThanOrEqual(249 * interval);
			expect(sentAt[sentAt.length - 1] - started).toBeLessThanOrEqual(
				249 * interval + 300 + interval,
			);
			expect(localLimiter.shared).toBe(false);
		}));

	it('paces 80/s at a send every 12.9 ms from the first: 77.7 a second, 97 % of the limit, at most 78 in any second', async () => {
		// A fake clock: every timer fires exactly when asked.
		jest.useFakeTimers({ now: 1_900_000_000_000 });
		try {
			const key = `wa:pace-${Date.now()}`;
			const times: number[] = [];
			const sends = Array.from({ length: 400 }, () =>
				localLimiter.acquire(key, 80).then(() => times.push(Date.now())),
			);
			await jest.advanceTimersByTimeAsync(10_000);
			await Promise.all(sends);
			expect(times.slice(0, 4).map((t) => t - times[0])).toEqual([0, 13, 26, 39]);
			expect(peak(times, 1000)).toBeLessThanOrEqual(78);
			// On the exact turns (the clock counts whole milliseconds).
			expect(
				Math.abs(times[times.length - 1] - times[0] - 399 * (LIMIT_WINDOW_MS / 80)),
			).toBeLessThan(1);
		} finally {
			jest.useRealTimers();
		}
	});

	it('on a busy event loop (timers up to 14 ms late), 81 sends at 80/s still span 1,020 ms, and the small delays do not add up', () =>
		onFakeClock(1_950_000_000_000, async () => {
			const key = `wa:busy-${Date.now()}`;
			const interval = LIMIT_WINDOW_MS / 80;
			// Every 17 ms the loop stands still for up to 14 ms (a fixed sequence, so every run is the same).
			let seed = 7;
			const busy = setInterval(() => {
				seed = (seed * 48271) % 2147483647;
				stall((seed / 2147483647) * 14);
			}, 17);
			try {
				const started = Date.now();
				const times = await settle(
					Promise.all(
						Array.from({ length: 240 }, () => localLimiter.acquire(key, 80).then(() => Date.now())),
					),
					10,
				);
				times.sort((a, b) => a - b);
				// The one request too many (the 81st in a second) needs 20 ms more of the network.
				for (let k = 80; k < times.length; k++)
					expect(times[k] - times[k - 80]).toBeGreaterThanOrEqual(
						LIMIT_WINDOW_MS - LATE_SLOT_MS - 1,
					);
				expect(peak(times, 1000)).toBeLessThanOrEqual(80);
				// Turns taken late are made up: before, every late timer moved all the turns behind it
				// (here about 1 s over 240 sends).
				expect(times[times.length - 1] - started).toBeLessThan(239 * interval + 400);
			} finally {
				clearInterval(busy);
			}
		}));

	it('a 429 slows the key for every waiting send instead of stopping it: sends go on at a lower pace that comes back, and a long Retry-After stops it', () =>
		onFakeClock(1_960_000_000_000, async () => {
			const key = `wa:slow-${Date.now()}`;
			const times: number[] = [];
			const sends = Array.from({ length: 120 }, () =>
				localLimiter.acquire(key, 80).then(() => times.push(Date.now())),
			);
			await jest.advanceTimersByTimeAsync(300);
			const at429 = Date.now();
			await localLimiter.backOff(key, 1000, 80);
			await settle(Promise.all(sends));
			const after = times.filter((t) => t > at429 && t <= at429 + 1000);
			// Sends go on (before, nothing went for the Retry-After's second), first at 80 % of the pace
			// after the turn given back, then back towards the full pace (77.7 a second).
			expect(after.length).toBeGreaterThanOrEqual(55);
			expect(after.length).toBeLessThan(76);
			// The ten turns after it are a fifth longer, coming back by 1 % each: 155 ms at the exact
			// times (130 at the full pace).
			expect(after[10] - after[0]).toBeGreaterThanOrEqual(150);
			// A quota's Retry-After (over SLOW_DOWN_MAX_MS) stops the key until then.
			const quota = `wa:quota-${Date.now()}`;
			await localLimiter.acquire(quota, 80);
			const t0 = Date.now();
			await localLimiter.backOff(quota, SLOW_DOWN_MAX_MS + 500, 80);
			await settle(localLimiter.acquire(quota, 80));
			expect(Date.now() - t0).toBeGreaterThanOrEqual(SLOW_DOWN_MAX_MS + 500);
		}));

	it('a Retry-After longer than a run waits (30 days) closes the key: every waiting send is answered at once and none goes, no timer is asked for 30 days, and the key opens again after CLOSED_MAX_MS', () =>
		onFakeClock(1_970_000_000_000, async () => {
			const key = `wa:closed-${Date.now()}`;
			const outcomes: string[] = [];
			const sends = Array.from({ length: 20 }, () =>
				localLimiter.acquire(key, 10).then(
					() => outcomes.push('went'),
					(e) => outcomes.push(e instanceof KeyClosedError ? 'closed' : String(e)),
				),
			);
			await jest.advanceTimersByTimeAsync(250);
			const went = outcomes.length;
			await localLimiter.backOff(key, 30 * 86400_000, 10);
			await jest.advanceTimersByTimeAsync(1);
			await Promise.all(sends);
			// Before, the 30-day wait was a timer Node fires after 1 ms: the 17 waiting sends went at once.
			expect(outcomes.slice(went)).toEqual(Array(20 - went).fill('closed'));
			expect(jest.getTimerCount()).toBe(0);
			await expect(localLimiter.acquire(key, 10)).rejects.toThrow(
				/asked to wait 2592000 s \(Retry-After\), more than the 60 s a run waits/,
			);
			// Not for 30 days: CLOSED_MAX_MS later the sender tries again.
			jest.setSystemTime(Date.now() + CLOSED_MAX_MS + 1);
			await settle(localLimiter.acquire(key, 10));
			// A Retry-After up to MAX_PAUSE_MS is a pause, not a closure.
			const paused = `wa:paused-${Date.now()}`;
			await localLimiter.acquire(paused, 10);
			await localLimiter.backOff(paused, MAX_PAUSE_MS, 10);
			const t0 = Date.now();
			await settle(localLimiter.acquire(paused, 10), 1000, 120_000);
			expect(Date.now() - t0).toBeGreaterThanOrEqual(MAX_PAUSE_MS);
		}));

	it('429 bursts in a row (a limit set above what the provider takes): the pace comes back that many times slower, so it settles instead of tripping again', async () => {
		jest.useFakeTimers({ now: 2_000_000_000_000 });
		try {
			const key = `wa:streak-${Date.now()}`;
			const times: number[] = [];
			const sends = Array.from({ length: 200 }, () =>
				localLimiter.acquire(key, 80).then(() => times.push(Date.now())),
			);
			await jest.advanceTimersByTimeAsync(100);
			// Three bursts of 429s, 300 ms apart (each past burstMs, within calmMs of the one before).
			for (let k = 0; k < 3; k++) {
				await localLimiter.backOff(key, 1000, 80);
				await jest.advanceTimersByTimeAsync(300);
			}
			const from = times.length;
			await jest.advanceTimersByTimeAsync(20_000);
			await Promise.all(sends);
			// After the third burst the pace is 1.25 slower than it was and comes back by 1/3 % a
			// send: 40 sends span 683 ms. Before, it came back by 1 % a send after every burst,
			// was at the full pace again within 300 ms, and the 40 sends spanned 530 ms.
			expect(times[from + 40] - times[from]).toBeGreaterThanOrEqual(640);
			expect(times[from + 40] - times[from]).toBeLessThan(
				40 * (LIMIT_WINDOW_MS / 80) * SLOW_DOWN.by ** 3,
			);
		} finally {
			jest.useRealTimers();
		}
	});
});

describe('mapLimit', () => {
	it('keeps item order, runs at most `limit` at once, and starts nothing after the first failure', async () => {
		let running = 0;
		let most = 0;
		const started: number[] = [];
		const results = await mapLimit([1, 2, 3, 4, 5], 2, async (x) => {
			running++;
			most = Math.max(most, running);
			await new Promise((r) => setTimeout(r, 6 - x));
			running--;
			return x * 10;
		});
		expect(results).toEqual([10, 20, 30, 40, 50]);
		expect(most).toBe(2);
		// A store transaction that fails: the other worker finishes what it runs and takes nothing new.
		await expect(
			mapLimit([0, 1, 2, 3, 4, 5], 2, async (x) => {
				started.push(x);
				await new Promise((r) => setTimeout(r, x === 0 ? 1 : 10));
				if (x === 0) throw new Error('store down');
				return x;
			}),
		).rejects.toThrow('store down');
		await new Promise((r) => setTimeout(r, 50));
		expect(started).toEqual([0, 1]);
	});

	it('after a failure, answers only once the tasks already running have ended (a send in flight is answered and recorded before the node reports the error)', async () => {
		const ended: string[] = [];
		const run = pool(3).map([0, 1, 2], async (x) => {
			await new Promise((r) => setTimeout(r, x === 0 ? 1 : 40));
			if (x === 0) throw new Error('store down');
			ended.push(`send ${x} answered`);
			return x;
		});
		await expect(run).rejects.toThrow('store down');
		// Before, the map rejected at the first failure, 40 ms before the two sends in flight ended.
		expect(ended).toEqual(['send 1 answered', 'send 2 answered']);
	});
});
