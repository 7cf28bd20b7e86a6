/**
 * The shared rate limit: one slot clock per credential and sender in the store, so processes
 * (queue-mode workers) sending on one key together stay under the provider's limit, and use it.
 */
import { backends, inWorker, type Backend } from './helpers';
import type { SqlStore } from '../../nodes/shared/store/sql-store';

describe.each(backends())('Shared rate slots on %s', (_name, makeBackend) => {
	let backend: Backend;
	let store: SqlStore;
	beforeAll(async () => {
		backend = makeBackend();
		store = await backend.open();
	});
	afterAll(async () => backend.cleanup());

	it('two processes taking slots on one key at 95 % of 80/s: never closer than the interval, together at 90-100 % of the limit', async () => {
		const perSecond = 80 * 0.95;
		const intervalUs = Math.round(1e6 / perSecond);
		const code = `
			const { parentPort, workerData } = require('node:worker_threads');
			const { openStore } = require(workerData.storeModule);
			(async () => {
				const store = await openStore(workerData.config);
				const slots = [];
				for (let k = 0; k < 150; k++) slots.push(await store.takeRateSlot('whatsAppCloudApi:wa:106540352242922', workerData.intervalUs, Date.now() * 1000));
				await store.close();
				parentPort.postMessage(slots);
			})().catch((e) => parentPort.postMessage({ error: String(e && e.stack || e) }));
		`;
		const [a, b] = (await Promise.all([0, 1].map(() => inWorker(code, { config: backend.config, intervalUs })))) as number[][];
		const all = [...a, ...b].sort((x, y) => x - y);
		expect(new Set(all).size).toBe(300);
		for (let k = 1; k < all.length; k++) expect(all[k] - all[k - 1]).toBeGreaterThanOrEqual(intervalUs);
		// In any one-second window: at most the limit; over the run: at least 90 % of it.
		let inWindow = 0;
		for (let lo = 0, hi = 0; hi < all.length; hi++) {
			while (all[hi] - all[lo] >= 1e6) lo++;
			inWindow = Math.max(inWindow, hi - lo + 1);
		}
		expect(inWindow).toBeLessThanOrEqual(80);
		const rate = (all.length - 1) / ((all[all.length - 1] - all[0]) / 1e6);
		expect(rate).toBeGreaterThanOrEqual(72);
		expect(rate).toBeLessThanOrEqual(80);
	}, 60_000);

	it('a pause (a 429\'s Retry-After) moves the next slot of every sender on the key', async () => {
		const now = Date.now() * 1000;
		await store.takeRateSlot('twilio:pause-test', 50_000, now);
		await store.pauseRate('twilio:pause-test', now + 2_000_000);
		expect(await store.takeRateSlot('twilio:pause-test', 50_000, now)).toBeGreaterThanOrEqual(now + 2_000_000);
		// A pause shorter than the queue of slots already taken changes nothing.
		await store.pauseRate('twilio:pause-test', now + 1000);
		expect(await store.takeRateSlot('twilio:pause-test', 50_000, now)).toBeGreaterThanOrEqual(now + 2_050_000);
	});
});
