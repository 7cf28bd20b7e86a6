/**
 * The durable inbox in the store: a trigger's de-duplication row keeps the event it emitted,
 * pending until marked done; Replay takes the unfinished ones (atomically, so two replays in two
 * processes never take the same event), and abandons an event after its last attempt.
 */
import { backends, inWorker, type Backend } from './helpers';
import type { SqlStore } from '../../nodes/shared/store/sql-store';

describe.each(backends())('Durable inbox on %s', (_name, makeBackend) => {
	let backend: Backend;
	let store: SqlStore;
	beforeAll(async () => {
		backend = makeBackend();
		store = await backend.open();
	});
	afterAll(async () => backend.cleanup());

	const scope = (wf: string) => `meta:${wf}:node-1`;
	const keep = async (wf: string, ids: string[], at: number) => {
		const events = new Map(
			ids.map((id) => [id, JSON.stringify({ providerMessageId: id, text: `text of ${id}` })]),
		);
		return await store.markProcessed(
			scope(wf),
			ids,
			new Map(ids.map((id) => [id, `+3460000${id.slice(-1)}`])),
			{ workflowId: wf, events },
		);
	};

	it('keeps an emitted event pending until done; done drops its payload; a re-delivery is still a duplicate', async () => {
		const fresh = await keep('wf-a', ['wamid.a1', 'wamid.a2'], Date.now());
		expect([...fresh].sort()).toEqual(['wamid.a1', 'wamid.a2']);
		expect(await store.markInboxDone([{ scope: scope('wf-a'), id: 'wamid.a1' }])).toEqual(
			new Set([`${scope('wf-a')}/wamid.a1`]),
		);
		const rows = await store.db.query<{ id: string; state: string; event: string | null }>(
			`SELECT id, state, event FROM processed_ids WHERE scope = $1 ORDER BY id`,
			[scope('wf-a')],
		);
		expect(
			rows.map((r) => [r.id, r.state, r.event === null ? null : JSON.parse(r.event).text]),
		).toEqual([
			['wamid.a1', 'done', null],
			['wamid.a2', 'pending', 'text of wamid.a2'],
		]);
		expect(await keep('wf-a', ['wamid.a1', 'wamid.a2'], Date.now())).toEqual(new Set());
		// Marking again changes nothing and reports nothing newly done.
		expect(await store.markInboxDone([{ scope: scope('wf-a'), id: 'wamid.a1' }])).toEqual(
			new Set(),
		);
	});

	it('an id without an event (a status not emitted) is done on arrival, never replayed', async () => {
		await store.markProcessed(scope('wf-s'), ['status:read:wamid.s1', 'wamid.s2'], undefined, {
			workflowId: 'wf-s',
			events: new Map([['wamid.s2', '{"providerMessageId":"wamid.s2"}']]),
		});
		const { replay } = await store.claimInboxReplay('wf-s', {
			olderThan: Date.now() + 1000,
			limit: 10,
			maxAttempts: 3,
		});
		expect(replay.map((e) => e.id)).toEqual(['wamid.s2']);
	});

	it("replays only this workflow's pending events older than the cut, oldest first, with their payload; then abandons after the last attempt", async () => {
		await keep('wf-b', ['wamid.b1'], Date.now());
		await new Promise((r) => setTimeout(r, 5));
		await keep('wf-b', ['wamid.b2'], Date.now());
		await keep('wf-other', ['wamid.o1'], Date.now());
		expect(
			(
				await store.claimInboxReplay('wf-b', {
					olderThan: Date.now() - 60_000,
					limit: 10,
					maxAttempts: 3,
				})
			).replay,
		).toEqual([]);
		const claimedFrom = Date.now();
		const first = await store.claimInboxReplay('wf-b', {
			olderThan: Date.now() + 1,
			limit: 10,
			maxAttempts: 3,
		});
		expect(first.replay.map((e) => [e.id, e.attempts, JSON.parse(e.event).text])).toEqual([
			['wamid.b1', 2, 'text of wamid.b1'],
			['wamid.b2', 2, 'text of wamid.b2'],
		]);
		expect(first.abandoned).toEqual([]);
		// Just replayed: not due again before the cut moves past the replay.
		expect(
			(await store.claimInboxReplay('wf-b', { olderThan: claimedFrom, limit: 10, maxAttempts: 3 }))
				.replay,
		).toEqual([]);
		await store.markInboxDone([{ scope: scope('wf-b'), id: 'wamid.b2' }]);
		await new Promise((r) => setTimeout(r, 5));
		expect(
			(
				await store.claimInboxReplay('wf-b', {
					olderThan: Date.now() + 1,
					limit: 10,
					maxAttempts: 3,
				})
			).replay.map((e) => [e.id, e.attempts]),
		).toEqual([['wamid.b1', 3]]);
		await new Promise((r) => setTimeout(r, 5));
		const last = await store.claimInboxReplay('wf-b', {
			olderThan: Date.now() + 1,
			limit: 10,
			maxAttempts: 3,
		});
		expect(last.replay).toEqual([]);
		expect(last.abandoned.map((e) => [e.id, e.attempts, JSON.parse(e.event).text])).toEqual([
			['wamid.b1', 3, 'text of wamid.b1'],
		]);
		expect(
			(
				await store.claimInboxReplay('wf-b', {
					olderThan: Date.now() + 1,
					limit: 10,
					maxAttempts: 3,
				})
			).abandoned,
		).toEqual([]);
		const row = await store.db.query<{ state: string; event: string | null }>(
			'SELECT state, event FROM processed_ids WHERE id = $1',
			['wamid.b1'],
		);
		expect(row).toEqual([{ state: 'abandoned', event: null }]);
		// The other workflow's event was never touched.
		expect(
			(
				await store.claimInboxReplay('wf-other', {
					olderThan: Date.now() + 1,
					limit: 10,
					maxAttempts: 3,
				})
			).replay.map((e) => [e.id, e.attempts]),
		).toEqual([['wamid.o1', 2]]);
	});

	it('two processes replaying at the same moment never take the same event', async () => {
		const ids = Array.from({ length: 200 }, (_, k) => `wamid.c${k}`);
		await store.markProcessed(scope('wf-c'), ids, undefined, {
			workflowId: 'wf-c',
			events: new Map(ids.map((id) => [id, `{"providerMessageId":"${id}"}`])),
		});
		await new Promise((r) => setTimeout(r, 5));
		const code = `
			const { parentPort, workerData } = require('node:worker_threads');
			const { openStore } = require(workerData.storeModule);
			(async () => {
				const store = await openStore(workerData.config);
				const taken = [];
				for (let k = 0; k < 10; k++) {
					const { replay } = await store.claimInboxReplay('wf-c', { olderThan: workerData.cut, limit: 15, maxAttempts: 5 });
					taken.push(...replay.map((e) => e.id));
				}
				await store.close();
				parentPort.postMessage(taken);
			})().catch((e) => parentPort.postMessage({ error: String(e && e.stack || e) }));
		`;
		const cut = Date.now();
		const [a, b] = (await Promise.all(
			[0, 1].map(() => inWorker(code, { config: backend.config, cut })),
		)) as string[][];
		expect(a.length + b.length).toBe(200);
		expect(new Set([...a, ...b]).size).toBe(200);
	}, 60_000);
});
