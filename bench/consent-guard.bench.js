/**
 * Consent Guard Check at scale, inside n8n-core's WorkflowExecute (the in-process harness):
 * 100,000 contacts with consent, 2 caps and quiet hours, on SQLite and on PostgreSQL; with and
 * without binding consent to the address (one person per contact book entry).
 * Prints items/s, store queries, and the ratio to a baseline measured in the same process
 * (the same evaluation as plain JavaScript over in-memory maps, no store, no n8n).
 * Asserts nothing. Build first (npm run bench does).
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const N = Number(process.env.BENCH_CONTACTS || 100000);

function contacts(n) {
	const items = [];
	for (let i = 0; i < n; i++) {
		items.push({
			contact: {
				id: `c${i}`,
				phone: `+346${String(10000000 + i).padStart(8, '0')}`,
				timeZone: 'UTC',
			},
		});
	}
	return items;
}

async function run() {
	const { openStore, closeAllStores } = require('../dist/nodes/shared/store');
	const {
		checkBatch,
		evaluatePolicy,
		capsFor,
		resolveRequests,
	} = require('../dist/nodes/shared/policy');
	const items = contacts(N);
	const now = Date.UTC(2026, 5, 10, 12, 0);
	const settings = {
		now,
		caps: [
			{ id: 'marketing-2-per-7d', max: 2, windowMs: 7 * 86400000, purpose: 'marketing' },
			{ id: 'sms-1-per-day', max: 1, windowMs: 86400000, channel: 'sms' },
		],
		quietHours: { sms: { start: '08:00', end: '21:00' } },
		defaultZone: 'UTC',
	};
	// Default idempotency keys (hashes), as a real Check makes them: short sequential keys hid the
	// cost of inserting hashes all over the key index.
	const requests = items.map((it) => ({
		contact: it.contact,
		channel: 'sms',
		purpose: 'marketing',
		campaign: 'bench',
	}));

	// Baseline: the same policy evaluation in plain JS over in-memory facts.
	const consent = new Map(items.map((it) => [it.contact.id, { status: 'granted' }]));
	let t = process.hrtime.bigint();
	let allowedBaseline = 0;
	for (const r of requests) {
		const res = evaluatePolicy(
			{ contact: r.contact, channel: 'sms', purpose: 'marketing', messageKind: 'free-form' },
			{ consent: consent.get(r.contact.id) },
			settings,
		);
		if (res.allowed) {
			capsFor('sms', 'marketing', settings.caps, settings);
			allowedBaseline++;
		}
	}
	const baselineS = Number(process.hrtime.bigint() - t) / 1e9;
	console.log(
		`baseline (pure JS policy over in-memory facts): ${N} items in ${baselineS.toFixed(2)} s = ${Math.round(N / baselineS)} items/s`,
	);

	const { channelBookAddress } = require('../dist/nodes/shared/people');
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-bench-'));
	const backends = [
		['sqlite', (tag) => ({ type: 'embedded', path: path.join(dir, `store-${tag}.sqlite`) })],
	];
	if (process.env.CM_BENCH_PG !== '0') {
		const stamp = Date.now();
		backends.push([
			'postgres',
			(tag) => ({
				type: 'postgres',
				host: '127.0.0.1',
				port: 5432,
				database: 'test',
				user: 'postgres',
				schema: `cm_bench_${stamp}_${tag}`,
			}),
		]);
	}
	// Two stores with the same people and consent: "unbound" checks as the previous release did
	// (consent by id, no contact book), "bound" resolves each item to its person and checks that the
	// address is the one the consent was given for. Same data, same process, so the ratio is fair.
	for (const [name, configOf] of backends) {
		const timings = {};
		for (const mode of ['unbound', 'bound', 'lookup']) {
			const config = configOf(mode);
			let store;
			try {
				store = await openStore(config);
			} catch (e) {
				console.log(`${name}: skipped (${e.message})`);
				break;
			}
			if (mode !== 'unbound') {
				await store.resolveContacts(
					items.map((it) => ({
						id: it.contact.id,
						addresses: [channelBookAddress(it.contact, 'sms')],
					})),
					{ create: true, link: true, source: 'bench' },
				);
			}
			await store.recordConsent(
				items.map((it) => ({
					contactId: it.contact.id,
					channel: 'sms',
					purpose: 'marketing',
					action: 'grant',
					evidence: { source: 'bench' },
					...(mode !== 'unbound' ? { address: it.contact.phone } : {}),
				})),
			);
			// A live store's tables have planner statistics (autovacuum); a freshly loaded one not yet.
			if (config.type === 'postgres') await store.db.exec('ANALYZE');
			const q0 = store.db.queryCount;
			t = process.hrtime.bigint();
			let decisions;
			if (mode !== 'unbound') {
				// What Consent Guard's Check does: the person and the address binding, then the gate.
				// 'lookup': items without a time zone, so quiet hours need each person's profile zone.
				const input =
					mode === 'lookup'
						? requests.map((r) => ({ ...r, contact: { id: r.contact.id, phone: r.contact.phone } }))
						: requests;
				const prepared = await resolveRequests(store, input, {
					quietChannels: Object.keys(settings.quietHours),
				});
				decisions = await checkBatch(store, prepared.requests, settings, prepared.preloaded);
			} else {
				decisions = await checkBatch(
					store,
					requests.map((r) => ({ ...r, addressOwned: true })),
					settings,
				);
			}
			const s = Number(process.hrtime.bigint() - t) / 1e9;
			timings[mode] = s;
			const queries = store.db.queryCount - q0;
			const allowed = decisions.filter((d) => d.allowed).length;
			console.log(
				`${name} ${{ bound: 'with address binding', lookup: 'with address binding, zone from each profile', unbound: 'unbound (consent by id only)' }[mode]}: ${N} items through Check (consent + 2 caps + quiet hours + reservation) in ${s.toFixed(2)} s = ` +
					`${Math.round(N / s)} items/s; ${queries} store queries (${(queries / N).toFixed(4)} per item); allowed ${allowed}; ` +
					`${(s / baselineS).toFixed(1)}x the pure-JS baseline`,
			);
			if (mode === 'bound')
				await repeatedRuns(name, store, requests, settings, { resolveRequests, checkBatch });
			if (config.type === 'postgres')
				await store.db.exec(`DROP SCHEMA IF EXISTS "${config.schema}" CASCADE`);
		}
		if (timings.unbound && timings.bound) {
			console.log(
				`${name}: address binding costs ${(timings.bound / timings.unbound).toFixed(2)}x the unbound Check on the same data (target: at most 1.3x); ${(timings.lookup / timings.unbound).toFixed(2)}x when each item's zone comes from the profile`,
			);
		}
	}
	await closeAllStores();
}

/**
 * Memory across repeated Checks in one process (a long-running n8n runs many executions): the
 * heap after a full GC must not grow from one 100,000-item run to the next (each run reserves
 * under a new campaign, so nothing is deduplicated away).
 */
async function repeatedRuns(name, store, requests, settings, { resolveRequests, checkBatch }) {
	const v8 = require('node:v8');
	const vm = require('node:vm');
	v8.setFlagsFromString('--expose-gc');
	const gc = vm.runInNewContext('gc');
	const heaps = [];
	for (let r = 1; r <= 3; r++) {
		const input = requests.map((q) => ({
			...q,
			contact: { ...q.contact },
			campaign: `bench-repeat-${r}`,
		}));
		const prepared = await resolveRequests(store, input, {
			quietChannels: Object.keys(settings.quietHours),
		});
		await checkBatch(store, prepared.requests, { ...settings, caps: [] }, prepared.preloaded);
		gc();
		heaps.push(Math.round(process.memoryUsage().heapUsed / 1048576));
	}
	console.log(
		`${name}: heap after a full GC following each of 3 more Checks of ${requests.length} items: ${heaps.join(' / ')} MB (RSS ${Math.round(process.memoryUsage().rss / 1048576)} MB)`,
	);
}

module.exports = { run };
if (require.main === module)
	run().catch((e) => {
		console.error(e);
		process.exit(1);
	});
