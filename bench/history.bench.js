/**
 * A year of history: what a store's past costs the Check and the Campaign Report, on SQLite and on
 * PostgreSQL, in one run. 1,000,000 people with consent and a constant month of traffic (100,000
 * touches in the last 30 days); then 0, 1M and 5M past touches (older than 30 days, within the
 * year, written in time order as a live store writes them). At each size: Consent Guard's Check of
 * 10,000 items (resolve, consent, suppression, erasure, two caps, reservation: median of 3 runs,
 * each a new campaign), the 30-day and the one-year Campaign Report, and the store's size. Ratios
 * are to the same engine with no history, in the same run. Asserts nothing.
 * BENCH_HISTORY=0,100000 BENCH_HISTORY_CONTACTS=100000 for a quick run; CM_BENCH_PG=0 skips PostgreSQL.
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const STAGES = (process.env.BENCH_HISTORY || '0,1000000,5000000').split(',').map(Number);
const CONTACTS = Number(process.env.BENCH_HISTORY_CONTACTS || 1000000);
const ITEMS = Number(process.env.BENCH_HISTORY_ITEMS || 10000);
const RECENT = Number(process.env.BENCH_HISTORY_RECENT || 100000);
const DAY = 86_400_000;

const phone = (i) => `+346${String(10000000 + i).padStart(8, '0')}`;
const seconds = (t) => Number(process.hrtime.bigint() - t) / 1e9;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function seedPeople(store, channelBookAddress) {
	for (let start = 0; start < CONTACTS; start += 100000) {
		const batch = [];
		for (let i = start; i < Math.min(CONTACTS, start + 100000); i++)
			batch.push({ id: `c${i}`, phone: phone(i) });
		await store.resolveContacts(
			batch.map((c) => ({ id: c.id, addresses: [channelBookAddress(c, 'sms')] })),
			{ create: true, link: true, source: 'bench' },
		);
		await store.recordConsent(
			batch.map((c) => ({
				contactId: c.id,
				channel: 'sms',
				purpose: 'marketing',
				action: 'grant',
				address: c.phone,
				evidence: { source: 'bench' },
			})),
		);
	}
}

/**
 * `n` touches dated evenly from `from` back over `span` ms, inserted oldest first (a live store
 * writes them in time order), with random 40-hex keys as default idempotency keys are.
 */
async function seedTouches(db, n, from, span) {
	const step = 500000;
	for (let done = 0; done < n; done += step) {
		const count = Math.min(step, n - done);
		const first = from - span + Math.floor((done * span) / n);
		const width = Math.floor((count * span) / n);
		const sql =
			db.dialect === 'sqlite'
				? `WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < ${count - 1})
				INSERT INTO touches (idempotency_key, contact_id, channel, purpose, campaign, status, delivery_status, variant, created_at, updated_at, sent_at)
				SELECT lower(hex(randomblob(20))), 'c' || (abs(random()) % ${CONTACTS}),
					CASE abs(random()) % 3 WHEN 0 THEN 'sms' WHEN 1 THEN 'email' ELSE 'whatsapp' END, 'marketing',
					'history-' || (abs(random()) % 40), CASE WHEN abs(random()) % 20 = 0 THEN 'failed' ELSE 'sent' END,
					CASE abs(random()) % 4 WHEN 0 THEN 'delivered' WHEN 1 THEN 'read' WHEN 2 THEN 'clicked' ELSE NULL END,
					CASE abs(random()) % 2 WHEN 0 THEN 'A' ELSE 'B' END, t, t, t
				FROM (SELECT ${first} + i * ${width} / ${count} AS t FROM s)`
				: `INSERT INTO touches (idempotency_key, contact_id, channel, purpose, campaign, status, delivery_status, variant, created_at, updated_at, sent_at)
				SELECT substr(md5(random()::text) || md5(random()::text), 1, 40), 'c' || floor(random() * ${CONTACTS})::int,
					(ARRAY['sms', 'email', 'whatsapp'])[1 + floor(random() * 3)::int], 'marketing',
					'history-' || floor(random() * 40)::int, CASE WHEN random() < 0.05 THEN 'failed' ELSE 'sent' END,
					(ARRAY['delivered', 'read', 'clicked', NULL])[1 + floor(random() * 4)::int],
					(ARRAY['A', 'B'])[1 + floor(random() * 2)::int], t, t, t
				FROM (SELECT ${first}::bigint + i::bigint * ${width} / ${count} AS t FROM generate_series(0, ${count - 1}) i) s`;
		await db.transaction((tx) => tx.run(sql));
	}
}

async function storeBytes(store, config) {
	if (config.type === 'embedded') {
		await store.db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
		return fs.statSync(config.path).size;
	}
	const [row] = await store.db.query(
		`SELECT SUM(pg_total_relation_size(c.oid))::bigint AS bytes FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = current_schema() AND c.relkind = 'r'`,
	);
	return Number(row.bytes);
}

async function measure(store, lib, stage, now) {
	const settings = {
		now,
		caps: [
			{ id: 'marketing-2-per-7d', max: 2, windowMs: 7 * DAY, purpose: 'marketing' },
			{ id: 'sms-1-per-day', max: 1, windowMs: DAY, channel: 'sms' },
		],
		quietHours: {},
		defaultZone: 'UTC',
	};
	const checks = [];
	let allowed = 0;
	for (let run = 0; run < 3; run++) {
		const requests = [];
		const seen = new Set();
		while (requests.length < ITEMS) {
			const i = Math.floor(Math.random() * CONTACTS);
			if (seen.has(i)) continue;
			seen.add(i);
			requests.push({
				contact: { id: `c${i}`, phone: phone(i), timeZone: 'UTC' },
				channel: 'sms',
				purpose: 'marketing',
				campaign: `check-${stage}-${run}`,
			});
		}
		const t = process.hrtime.bigint();
		const prepared = await lib.resolveRequests(store, requests, { quietChannels: [] });
		const decisions = await lib.checkBatch(
			store,
			prepared.requests,
			{ ...settings, now: Date.now() },
			prepared.preloaded,
		);
		checks.push((seconds(t) * 1e6) / ITEMS);
		allowed = decisions.filter((d) => d.allowed).length;
	}
	const report = async (days) => {
		const t = process.hrtime.bigint();
		const r = await store.campaignReport({
			since: now - days * DAY,
			replyWindowMs: 48 * 3_600_000,
			conversionWindowMs: 7 * DAY,
			journey: 'Shop',
		});
		return { s: seconds(t), sent: r.rows.reduce((n, x) => n + x.sent, 0) };
	};
	await report(30);
	const month = [await report(30), await report(30), await report(30)];
	const year = await report(365);
	return {
		checkUs: median(checks),
		allowed,
		monthS: median(month.map((m) => m.s)),
		monthSent: month[0].sent,
		yearS: year.s,
		yearSent: year.sent,
	};
}

/** The plans of every statement one Check and the reports run, at this size: which read a whole table. */
async function scanCheck(store, lib, stage, now) {
	const { recordStatements, statementsThatScan } = lib.plans;
	const statements = await recordStatements(store.db, async () => {
		const requests = Array.from({ length: 300 }, (_, n) => {
			const i = Math.floor(Math.random() * CONTACTS);
			return {
				contact: { id: `c${i}`, phone: phone(i) },
				channel: 'sms',
				purpose: 'marketing',
				campaign: `plans-${stage}-${n}`,
			};
		});
		const prepared = await lib.resolveRequests(store, requests, { quietChannels: ['sms'] });
		const caps = [{ id: 'weekly', max: 2, windowMs: 7 * DAY, purpose: 'marketing' }];
		await lib.checkBatch(
			store,
			prepared.requests,
			{ now: Date.now(), caps, quietHours: {}, defaultZone: 'UTC' },
			prepared.preloaded,
		);
		const report = { replyWindowMs: 48 * 3_600_000, conversionWindowMs: 7 * DAY, journey: 'Shop' };
		await store.campaignReport({ since: now - 30 * DAY, ...report });
		await store.campaignReport({ since: now - 30 * DAY, campaign: 'history-3', ...report });
		await store.abTestResults('history-3', 'converted', { windowMs: 7 * DAY, journey: 'Shop' });
	});
	const scanning = await statementsThatScan(store.db, statements);
	return scanning.length === 0
		? `plans: none of ${statements.length} statements reads a whole table`
		: `plans: ${scanning.length} of ${statements.length} statements scan: ${JSON.stringify(scanning)}`;
}

async function runEngine(name, config, lib) {
	let store;
	try {
		store = await lib.openStore(config);
	} catch (e) {
		console.log(`${name}: skipped (${e.message})`);
		return;
	}
	const now = Date.now();
	let t = process.hrtime.bigint();
	await seedPeople(store, lib.channelBookAddress);
	const peopleBytes = await storeBytes(store, config);
	await seedTouches(store.db, RECENT, now - 60_000, 30 * DAY - 120_000);
	console.log(
		`${name}: ${CONTACTS} people with consent and ${RECENT} touches in the last 30 days seeded in ${seconds(t).toFixed(0)} s (${(peopleBytes / 1048576).toFixed(0)} MB)`,
	);
	const rows = [];
	let history = 0;
	for (const target of STAGES) {
		t = process.hrtime.bigint();
		if (target > history) await seedTouches(store.db, target - history, now - 31 * DAY, 334 * DAY);
		history = Math.max(history, target);
		// A live store's tables have planner statistics (autovacuum runs ANALYZE); a bulk load not yet.
		if (config.type === 'postgres') await store.db.exec('ANALYZE');
		const seededS = seconds(t);
		const bytes = await storeBytes(store, config);
		const m = await measure(store, lib, target, now);
		rows.push({ target, bytes, ...m });
		const plans = await scanCheck(store, lib, target, now);
		const base = rows[0];
		console.log(
			`${name} ${target.toLocaleString('en')} past touches (seeded in ${seededS.toFixed(0)} s): Check ${m.checkUs.toFixed(1)} µs/item ` +
				`(${(m.checkUs / base.checkUs).toFixed(2)}x no history; ${m.allowed} of ${ITEMS} allowed); ` +
				`report 30 days ${(m.monthS * 1000).toFixed(0)} ms (${m.monthSent} sent), a year ${(m.yearS * 1000).toFixed(0)} ms (${m.yearSent} sent); ` +
				`${(bytes / 1048576).toFixed(0)} MB; ${plans}`,
		);
	}
	const at = (n) => rows.find((r) => r.target === n);
	const first = rows[0];
	const last = rows[rows.length - 1];
	const mid = rows.length > 2 ? rows[1] : first;
	console.log(
		`${name}: Check ${(last.checkUs / first.checkUs).toFixed(2)}x from ${first.target.toLocaleString('en')} to ${last.target.toLocaleString('en')} past touches (target at most 1.3x); ` +
			`30-day report ${(last.monthS / mid.monthS).toFixed(2)}x from ${mid.target.toLocaleString('en')} to ${last.target.toLocaleString('en')} (target at most 1.5x)`,
	);
	if (at(0) && last.target > 0) {
		const perMillion = ((last.bytes - at(0).bytes) / last.target) * 1e6;
		console.log(
			`${name}: size ${(perMillion / 1048576).toFixed(0)} MB per million touches, ${(((peopleBytes / CONTACTS) * 1e6) / 1048576).toFixed(0)} MB per million people`,
		);
	}
	if (config.type === 'postgres')
		await store.db.exec(`DROP SCHEMA IF EXISTS "${config.schema}" CASCADE`);
}

async function run() {
	const { openStore, closeAllStores } = require('../dist/nodes/shared/store');
	const { checkBatch, resolveRequests } = require('../dist/nodes/shared/policy');
	const { channelBookAddress } = require('../dist/nodes/shared/people');
	const plans = require('../.cache/bench-build/test/harness/plans');
	const lib = { openStore, checkBatch, resolveRequests, channelBookAddress, plans };
	console.log(
		`History: ${CONTACTS.toLocaleString('en')} people, Check of ${ITEMS.toLocaleString('en')} items, past touches ${STAGES.map((s) => s.toLocaleString('en')).join(' / ')}; ${os.cpus().length} cores, ${new Date().toISOString().slice(0, 10)}`,
	);
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-bench-history-'));
	await runEngine('sqlite', { type: 'embedded', path: path.join(dir, 'store.sqlite') }, lib);
	if (process.env.CM_BENCH_PG !== '0') {
		await runEngine(
			'postgres',
			{
				type: 'postgres',
				host: '127.0.0.1',
				port: 5432,
				database: 'test',
				user: 'postgres',
				schema: `cm_bench_history_${Date.now()}`,
			},
			lib,
		);
	}
	await closeAllStores();
	fs.rmSync(dir, { recursive: true, force: true });
}

module.exports = { run, seedPeople, seedTouches };
if (require.main === module)
	run().catch((e) => {
		console.error(e);
		process.exit(1);
	});
