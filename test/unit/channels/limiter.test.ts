/**
 * The shared limiter's clock (a slot clock like the store's, kept in memory here): a send whose
 * slot went by while its process stood still (a GC pause, a stopped worker) takes a new slot
 * instead of going out with every other missed one at once.
 */
import { LATE_SLOT_MS, localLimiter, mapLimit, sharedLimiter, type RateSlots } from '../../../nodes/shared/channels/limiter';

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
		async pauseRate(key, untilUs) {
			next.set(key, Math.max(next.get(key) ?? 0, untilUs));
		},
	};
	return { slots, taken };
}

const stall = (ms: number) => {
	const until = Date.now() + ms;
	while (Date.now() < until) {
		// the event loop stands still, as in a long GC pause or a SIGSTOPped worker
	}
};

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
			expect(taken.map((t) => t - taken[0])).toEqual([0, 10_000, 20_000, 30_000, 40_000]);
		} finally {
			jest.useRealTimers();
		}
	});

	it('a slot missed by more than LATE_SLOT_MS during a stall is given up for a new one', async () => {
		const { slots, taken } = memorySlots();
		const limiter = sharedLimiter(slots);
		// 20 sends waiting on slots 10 ms apart, then the process stands still for 300 ms.
		const sends = Array.from({ length: 20 }, () => limiter.acquire('wa:1', 100).then(() => Date.now()));
		await new Promise((r) => setTimeout(r, 5));
		stall(300);
		const sentAt = await Promise.all(sends);
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
	});
});

describe('localLimiter (embedded store: one n8n process)', () => {
	it('gives up slots missed during a stall too: no burst over the limit when the event loop was busy', async () => {
		// Each test key is new, so its clock starts idle.
		const key = `wa:local-${Date.now()}`;
		const sends = Array.from({ length: 20 }, () => localLimiter.acquire(key, 100).then(() => Date.now()));
		await new Promise((r) => setTimeout(r, 5));
		stall(300);
		const sentAt = (await Promise.all(sends)).sort((a, b) => a - b);
		let peak = 0;
		for (let lo = 0, hi = 0; hi < sentAt.length; hi++) {
			while (sentAt[hi] - sentAt[lo] >= 100) lo++;
			peak = Math.max(peak, hi - lo + 1);
		}
		// Before: every slot the stall let pass fired at its end (~20 sends in a few ms).
		expect(peak).toBeLessThanOrEqual(10 + LATE_SLOT_MS / 10 + 1);
		expect(localLimiter.shared).toBe(false);
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
		await expect(mapLimit([0, 1, 2, 3, 4, 5], 2, async (x) => {
			started.push(x);
			await new Promise((r) => setTimeout(r, x === 0 ? 1 : 10));
			if (x === 0) throw new Error('store down');
			return x;
		})).rejects.toThrow('store down');
		await new Promise((r) => setTimeout(r, 50));
		expect(started).toEqual([0, 1]);
	});
});
