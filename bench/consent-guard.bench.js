/**
 * Consent Guard Check at scale, inside n8n-core's WorkflowExecute (the in-process harness):
 * 100,000 contacts with consent, 2 caps and quiet hours, on SQLite and on PostgreSQL.
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
		items.push({ contact: { id: `c${i}`, phone: `+346${String(10000000 + i).padStart(8, '0')}`, timeZone: 'UTC' } });
	}
	return items;
}

async function run() {
	const { openStore, closeAllStores } = require('../dist/nodes/shared/store');
	const { checkBatch, evaluatePolicy, capsFor } = require('../dist/nodes/shared/policy');
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
	const requests = items.map((it, i) => ({ contact: it.contact, channel: 'sms', purpose: 'marketing', campaign: 'bench', idempotencyKey: `k${i}` }));

	// Baseline: the same policy evaluation in plain JS over in-memory facts.
	const consent = new Map(items.map((it) => [it.contact.id, { status: 'granted' }]));
	let t = process.hrtime.bigint();
	let allowedBaseline = 0;
	for (const r of requests) {
		const res = evaluatePolicy({ contact: r.contact, channel: 'sms', purpose: 'marketing', messageKind: 'free-form' }, { consent: consent.get(r.contact.id) }, settings);
		if (res.allowed) {
			capsFor('sms', 'marketing', settings.caps, settings);
			allowedBaseline++;
		}
	}
	const baselineS = Number(process.hrtime.bigint() - t) / 1e9;
	console.log(`baseline (pure JS policy over in-memory facts): ${N} items in ${baselineS.toFixed(2)} s = ${Math.round(N / baselineS)} items/s`);

	const backends = [['sqlite', { type: 'embedded', path: path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cm-bench-')), 'store.sqlite') }]];
	if (process.env.CM_BENCH_PG !== '0') {
		backends.push(['postgres', { type: 'postgres', host: '127.0.0.1', port: 5432, database: 'test', user: 'postgres', schema: `cm_bench_${Date.now()}` }]);
	}
	for (const [name, config] of backends) {
		let store;
		try {
			store = await openStore(config);
		} catch (e) {
			console.log(`${name}: skipped (${e.message})`);
			continue;
		}
		const ledger = items.map((it) => ({ contactId: it.contact.id, channel: 'sms', purpose: 'marketing', action: 'grant', evidence: { source: 'bench' } }));
		await store.recordConsent(ledger);
		const q0 = store.db.queryCount;
		t = process.hrtime.bigint();
		const decisions = await checkBatch(store, requests, settings);
		const s = Number(process.hrtime.bigint() - t) / 1e9;
		const queries = store.db.queryCount - q0;
		const allowed = decisions.filter((d) => d.allowed).length;
		console.log(
			`${name}: ${N} items through Check (consent + 2 caps + quiet hours + reservation) in ${s.toFixed(2)} s = ` +
				`${Math.round(N / s)} items/s; ${queries} store queries (${(queries / N).toFixed(4)} per item); allowed ${allowed}; ` +
				`${(s / baselineS).toFixed(1)}x the pure-JS baseline`,
		);
		if (config.type === 'postgres') await store.db.exec(`DROP SCHEMA IF EXISTS "${config.schema}" CASCADE`);
	}
	await closeAllStores();
}

module.exports = { run };
if (require.main === module) run().catch((e) => { console.error(e); process.exit(1); });
