/**
 * The shared rate limit: one slot clock per credential and sender in the store, so processes
 * (queue-mode workers) sending on one key together stay under the provider's limit, and use it;
 * a 429 slows every process on the key at once, and a quota stops them all.
 */
import path from 'node:path';

import { backends, inWorker, STORE_MODULE, type Backend } from './helpers';
import { KeyClosedError, sharedLimiter } from '../../nodes/shared/channels/limiter';
import { MAX_PAUSE_MS, SLOW_DOWN, SLOW_DOWN_MAX_MS, spedUp } from '../../nodes/shared/rate';
import type { SqlStore } from '../../nodes/shared/store/sql-store';
import { MetaGraphMock } from '../mocks';

const LIMITER_MODULE = path.resolve(__dirname, '../../dist/nodes/shared/channels/limiter.js');

describe.each(backends())('Shared rate slots on %s', (_name, makeBackend) => {
	let backend: Backend;
	let store: SqlStore;
	beforeAll(async () => {
		backend = makeBackend();
		store = await backend.open();
	});
	afterAll(async () => backend.cleanup());

	it('two processes taking slots on one key at 95 % of 80/s: never closer than the interval, never more than the limit in a second, none skipped', async () => {
		const perSecond = 80 * 0.95;
		const intervalUs = Math.round(1e6 / perSecond);
		// Both ask at one instant, so the slots say what the clock hands out, not how fast this
		// machine ran the statements (a loaded machine asks later, and gets later slots).
		const nowUs = Date.now() * 1000;
		const code = `
			const { parentPort, workerData } = require('node:worker_threads');
			const { openStore } = require(workerData.storeModule);
			(async () => {
				const store = await openStore(workerData.config);
				const slots = [];
				for (let k = 0; k < 150; k++) slots.push(await store.takeRateSlot('whatsAppCloudApi:wa:106540352242922', workerData.intervalUs, workerData.nowUs));
				await store.close();
				parentPort.postMessage(slots);
			})().catch((e) => parentPort.postMessage({ error: String(e && e.stack || e) }));
		`;
		const [a, b] = (await Promise.all(
			[0, 1].map(() => inWorker(code, { config: backend.config, intervalUs, nowUs })),
		)) as number[][];
		const all = [...a, ...b].sort((x, y) => x - y);
		expect(new Set(all).size).toBe(300);
		for (let k = 1; k < all.length; k++)
			expect(all[k] - all[k - 1]).toBeGreaterThanOrEqual(intervalUs);
		// In any one-second window: at most the limit; no slot left unused between the first and the last.
		let inWindow = 0;
		for (let lo = 0, hi = 0; hi < all.length; hi++) {
			while (all[hi] - all[lo] >= 1e6) lo++;
			inWindow = Math.max(inWindow, hi - lo + 1);
		}
		expect(inWindow).toBeLessThanOrEqual(80);
		expect(all[0]).toBe(nowUs);
		for (let k = 1; k < all.length; k++) expect(all[k] - all[k - 1]).toBe(intervalUs);
	}, 60_000);

	it("a pause (a 429's Retry-After) moves the next slot of every sender on the key", async () => {
		const now = Date.now() * 1000;
		await store.takeRateSlot('twilio:pause-test', 50_000, now);
		await store.pauseRate('twilio:pause-test', now + 2_000_000);
		expect(await store.takeRateSlot('twilio:pause-test', 50_000, now)).toBeGreaterThanOrEqual(
			now + 2_000_000,
		);
		// A pause shorter than the queue of slots already taken changes nothing.
		await store.pauseRate('twilio:pause-test', now + 1000);
		expect(await store.takeRateSlot('twilio:pause-test', 50_000, now)).toBeGreaterThanOrEqual(
			now + 2_050_000,
		);
	});

	it('a clock pushed 30 days ahead (a Retry-After from before the bound, a worker whose clock ran ahead) recovers at the next slot: never more than MAX_PAUSE_MS ahead', async () => {
		const key = `whatsAppCloudApi:pushed-${Date.now()}`;
		const now = Date.now() * 1000;
		await store.pauseRate(key, now + 30 * 86400 * 1e6);
		// Before, the slot was 30 days away: every wait overflowed Node's timer and fired at once.
		const slot = await store.takeRateSlot(key, 100_000, now);
		expect(slot).toBe(now + MAX_PAUSE_MS * 1000);
		expect(await store.takeRateSlot(key, 100_000, now)).toBe(now + MAX_PAUSE_MS * 1000);
		// A limiter on this store closes the key for a Retry-After of 30 days and pauses it at most MAX_PAUSE_MS for the others.
		const other = `whatsAppCloudApi:quota30-${Date.now()}`;
		await sharedLimiter(store).backOff(other, 30 * 86400_000, 10);
		await expect(sharedLimiter(store).acquire(other, 10)).rejects.toBeInstanceOf(KeyClosedError);
		expect(await store.takeRateSlot(other, 100_000, now)).toBeLessThanOrEqual(
			Date.now() * 1000 + MAX_PAUSE_MS * 1000,
		);
	});

	// SQLite is on one machine, whose clock every process shares.
	(_name === 'postgres' ? it : it.skip)(
		"one clock rules the shared slots: a worker whose own clock runs an hour fast neither pushes everyone's next slot an hour away nor sends out of turn (PostgreSQL's clock)",
		async () => {
			const key = `whatsAppCloudApi:skew-${Date.now()}`;
			const code = `
			const { parentPort, workerData } = require('node:worker_threads');
			// This worker's clock is an hour fast.
			const realNow = Date.now;
			Date.now = () => realNow() + 3600000;
			const { openStore } = require(workerData.storeModule);
			const { sharedLimiter } = require(workerData.limiterModule);
			(async () => {
				const store = await openStore(workerData.config);
				const limiter = sharedLimiter(store);
				for (let k = 0; k < 5; k++) await limiter.acquire(workerData.key, 10);
				await store.close();
				parentPort.postMessage('done');
			})().catch((e) => parentPort.postMessage({ error: String(e && e.stack || e) }));
		`;
			await inWorker(code, { config: backend.config, limiterModule: LIMITER_MODULE, key });
			// Before, the next slot was an hour away for every other worker (then 60 s, the bound).
			const next = await store.takeRateSlot(key, 100_000, Date.now() * 1000);
			expect(next).toBeLessThanOrEqual(Date.now() * 1000 + 2_000_000);
			expect(Math.abs(await store.clockOffsetMs())).toBeLessThan(1000);
		},
	);

	it("a 429 slows the key's clock: the next slot a slowed interval on, the slots after it a fifth further apart and coming back by 1 % each; the 429s of one burst slow it once; bursts in a row make it come back slower", async () => {
		const key = `whatsAppCloudApi:slow-${Date.now()}`;
		const t = Date.now() * 1000;
		const I = 10_000;
		const take = () => store.takeRateSlot(key, I, t);
		expect(await take()).toBe(t);
		await store.slowRate(key, I, t + 1000);
		// The turn after the 429 is given back (one interval at the slowed pace): t + I + 1.25 I.
		let next = t + I + 12_500;
		let factor = 1.25;
		// Each slot is a slowed interval after the one before, the factor 1 % closer to 1 after each.
		for (let k = 0; k < 3; k++) {
			expect(await take()).toBe(next);
			next += Math.round(I * factor);
			factor = spedUp(factor, 1);
		}
		// A second 429 of the same burst gives back a turn but does not slow the key again.
		await store.slowRate(key, I, t + 2000);
		next += Math.round(I * factor);
		expect(await take()).toBe(next);
		next += Math.round(I * factor);
		factor = spedUp(factor, 1);
		// Bursts in a row (each within calmMs of the one before, past burstMs): the pace comes back
		// that many times slower.
		let at = t + 2000;
		for (let k = 0; k < 3; k++) {
			at += SLOW_DOWN.burstMs * 1000;
			await store.slowRate(key, I, at);
			next = Math.max(next, at) + Math.round(I * factor * SLOW_DOWN.by);
			factor *= SLOW_DOWN.by;
		}
		const a = await take();
		expect(a).toBe(next);
		const b = await take();
		expect(b - a).toBe(Math.round(I * factor));
		const c = await take();
		expect(c - b).toBe(Math.round(I * spedUp(factor, 4)));
		// Never slower than SLOW_DOWN.max; after calmMs without a 429 the streak starts again at 1.
		for (let k = 0; k < 20; k++)
			await store.slowRate(key, I, t + 2_000_000 + k * SLOW_DOWN.burstMs * 1000);
		const d = await take();
		expect((await take()) - d).toBe(I * SLOW_DOWN.max);
		await store.slowRate(key, I, t + 30_000_000);
		const e = await take();
		const f = await take();
		const g = await take();
		expect(f - e).toBe(I * SLOW_DOWN.max);
		expect(g - f).toBe(Math.round(I * spedUp(SLOW_DOWN.max, 1)));
		// After a quiet spell the slot is "now" again.
		const later = t + 60_000_000;
		expect(await store.takeRateSlot(key, I, later)).toBe(later);
	});

	it("a quota's Retry-After stops the sends already waiting in another process within one slot (slots are not handed out seconds ahead)", async () => {
		const key = `whatsAppCloudApi:quota-${Date.now()}`;
		const code = `
			const { parentPort, workerData } = require('node:worker_threads');
			const { openStore } = require(workerData.storeModule);
			const { sharedLimiter } = require(workerData.limiterModule);
			(async () => {
				const store = await openStore(workerData.config);
				const limiter = sharedLimiter(store);
				// 160 sends waiting at once: what Touchpoint's requests in flight are at 80/s.
				const sent = [];
				const all = Array.from({ length: 160 }, () => limiter.acquire(workerData.key, 80).then(() => sent.push(Date.now())));
				parentPort.postMessage({ started: Date.now() });
				await Promise.all(all);
				await store.close();
				parentPort.postMessage({ sent });
			})().catch((e) => parentPort.postMessage({ error: String(e && e.stack || e) }));
		`;
		const { Worker } = await import('node:worker_threads');
		const w = new Worker(code, {
			eval: true,
			workerData: {
				storeModule: STORE_MODULE,
				limiterModule: LIMITER_MODULE,
				config: backend.config,
				key,
			},
		});
		const done = new Promise<{ sent: number[] }>((resolve, reject) => {
			w.on('message', (m) =>
				m.error ? reject(new Error(m.error)) : m.sent ? resolve(m) : undefined,
			);
			w.once('error', reject);
		});
		await new Promise<void>((resolve) => w.once('message', () => resolve()));
		await new Promise((r) => setTimeout(r, 400));
		// This process is told 429 with a Retry-After of 3 s (a quota): the other one stops too. The
		// pause runs from a time between asked and kept (a busy machine can stand still in between).
		const asked = Date.now();
		const retryAfter = SLOW_DOWN_MAX_MS + 1000;
		await sharedLimiter(store).backOff(key, retryAfter, 80);
		const kept = Date.now();
		const { sent } = await done;
		expect(sent).toHaveLength(160);
		expect(sent.filter((x) => x <= asked).length).toBeGreaterThan(10);
		// Once the pause is kept, at most the one slot already held (plus the statement racing the
		// pause) goes before the Retry-After ends; before, every slot handed out for the next two
		// seconds did (about 150 sends). Every other send waits it out.
		const during = sent.filter((x) => x > kept && x < asked + retryAfter);
		expect(during.length).toBeLessThanOrEqual(2);
		expect(sent.filter((x) => x >= asked + retryAfter).length).toBeGreaterThanOrEqual(
			160 - sent.filter((x) => x <= kept).length - 2,
		);
	}, 30_000);

	it('two processes on one WhatsApp number whose provider takes half the limit set: every message delivered once, and a handful of 429s instead of one for every other request', async () => {
		const meta = new MetaGraphMock();
		const url = await meta.start();
		try {
			meta.setRateLimit(40);
			const key = `whatsAppCloudApi:half-${Date.now()}`;
			// Each process sends as Touchpoint's transport does: acquire a turn, send, and on a 429 back
			// off the key (every process), wait the Retry-After and take a new turn.
			const code = `
				const { parentPort, workerData } = require('node:worker_threads');
				const { openStore } = require(workerData.storeModule);
				const { sharedLimiter, backoffMs } = require(workerData.limiterModule);
				(async () => {
					const store = await openStore(workerData.config);
					const limiter = sharedLimiter(store);
					const sendOne = async (to) => {
						for (let n = 0; n < 6; n++) {
							await limiter.acquire(workerData.key, 80);
							const res = await fetch(workerData.url + '/v21.0/106540352242922/messages', {
								method: 'POST',
								headers: { authorization: 'Bearer meta-test-token', 'content-type': 'application/json' },
								body: JSON.stringify({ messaging_product: 'whatsapp', to, type: 'template', template: { name: 'promo', language: { code: 'en' } } }),
							});
							await res.arrayBuffer();
							if (res.status !== 429) return res.status;
							const wait = backoffMs(n, Number(res.headers.get('retry-after')));
							await limiter.backOff(workerData.key, wait, 80);
							await new Promise((r) => setTimeout(r, wait));
						}
						return 429;
					};
					const statuses = await Promise.all(workerData.people.map(sendOne));
					await store.close();
					parentPort.postMessage(statuses);
				})().catch((e) => parentPort.postMessage({ error: String(e && e.stack || e) }));
			`;
			const people = (k: number) =>
				Array.from({ length: 120 }, (_, i) => `3461700${k}${String(i).padStart(4, '0')}`);
			const results = (await Promise.all(
				[1, 2].map((k) =>
					inWorker(code, {
						config: backend.config,
						limiterModule: LIMITER_MODULE,
						key,
						url,
						people: people(k),
					}),
				),
			)) as number[][];
			expect(results.flat().filter((s) => s !== 200)).toEqual([]);
			const accepted = meta.requests
				.filter((r) => r.status === 200)
				.map((r) => String((r.body as { to?: string }).to));
			expect(accepted).toHaveLength(240);
			expect(new Set(accepted).size).toBe(240);
			// Before, the two processes held slots two seconds ahead and a 429 moved only the slots
			// after them: 172 of 412 requests were refused. Now the first second's excess (the pace
			// comes down by a fifth per burst) and a few after: 33 on this machine, idle. How few is a
			// figure (printed), not a promise: a busy machine bunches requests at the mock and adds
			// some; the bound only tells the old behaviour from the new.
			expect(meta.rateLimited).toBeLessThanOrEqual(86);
			process.stdout.write(
				`${backend.name}: provider at 40/s, limit set to 80/s, two processes, 240 messages: ${meta.rateLimited} 429s, ${meta.requests.length} requests\n`,
			);
		} finally {
			await meta.stop();
		}
	}, 60_000);
});
