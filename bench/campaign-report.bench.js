/**
 * Campaign Report on the embedded store (SQLite): 100,000 touches over 10 campaigns x 3 channels x
 * 2 variants, with statuses, 20,000 replies, 5,000 conversions, 2,000 opt-outs and blocked
 * counts. Prints the time of the whole report (every campaign, and one campaign) and, as the
 * baseline in the same process, the time to read the 100,000 touches into JavaScript and tally
 * only their statuses there. Target: under 1 s for the whole report. Asserts nothing.
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const N = Number(process.env.BENCH_TOUCHES || 100000);

async function run() {
	const { openStore } = require('../dist/nodes/shared/store');
	const file = path.join(
		fs.mkdtempSync(path.join(os.tmpdir(), 'cm-bench-report-')),
		'store.sqlite',
	);
	const store = await openStore({ type: 'embedded', path: file });
	const now = Date.now();
	const day = 86_400_000;
	let seed = 7;
	const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
	const channels = ['whatsapp', 'sms', 'email'];
	const statuses = ['delivered', 'read', 'clicked', null, 'failed'];
	const db = store.db;
	await db.transaction(async (tx) => {
		for (let start = 0; start < N; start += 500) {
			const rows = [];
			const params = [];
			for (let i = start; i < Math.min(N, start + 500); i++) {
				const created = now - Math.floor(rnd() * 20 * day);
				const sent = rnd() < 0.95;
				params.push(
					`k${i}`,
					`c${i % 40000}`,
					channels[i % 3],
					'marketing',
					`campaign-${i % 10}`,
					sent ? 'sent' : 'failed',
					sent ? statuses[Math.floor(rnd() * statuses.length)] : null,
					i % 2 ? 'A' : 'B',
					created,
					created,
				);
				const b = rows.length * 10;
				rows.push(
					`($${b + 1}, $${b + 2}, $${b + 3}, $${b + 4}, $${b + 5}, $${b + 6}, $${b + 7}, $${b + 8}, $${b + 9}, $${b + 10})`,
				);
			}
			await tx.run(
				`INSERT INTO touches (idempotency_key, contact_id, channel, purpose, campaign, status, delivery_status, variant, created_at, updated_at) VALUES ${rows.join(', ')}`,
				params,
			);
		}
	});
	await store.recordInbound(
		Array.from({ length: 20000 }, (_, i) => ({
			contactId: `c${i * 2}`,
			channel: channels[i % 3],
			at: now - Math.floor(rnd() * 10 * day),
		})),
	);
	await store.trackJourneyEvents(
		'Shop',
		Array.from({ length: 5000 }, (_, i) => ({
			eventId: `e${i}`,
			contactId: `c${i * 7}`,
			event: 'bought',
			at: now - Math.floor(rnd() * 10 * day),
		})),
		(_s, _e, at) => ({ state: { stage: 'Customer', enteredAt: at, goalReachedAt: at } }),
	);
	await store.recordConsent(
		Array.from({ length: 2000 }, (_, i) => ({
			contactId: `c${i * 11}`,
			channel: channels[i % 3],
			purpose: 'marketing',
			action: 'withdraw',
			evidence: { source: 'bench' },
			occurredAt: now - Math.floor(rnd() * 10 * day),
		})),
	);
	await store.countBlocked(
		Array.from({ length: 3000 }, (_, i) => ({
			campaign: `campaign-${i % 10}`,
			channel: channels[i % 3],
			reason: ['NO_CONSENT', 'QUIET_HOURS', 'FREQUENCY_CAP'][i % 3],
			at: now,
		})),
	);

	const options = {
		since: now - 30 * day,
		replyWindowMs: 48 * 3_600_000,
		conversionWindowMs: 7 * day,
		journey: 'Shop',
	};
	await store.campaignReport(options); // warm
	let t = process.hrtime.bigint();
	const all = await store.campaignReport(options);
	const allMs = Number(process.hrtime.bigint() - t) / 1e6;
	t = process.hrtime.bigint();
	const one = await store.campaignReport({ ...options, campaign: 'campaign-3' });
	const oneMs = Number(process.hrtime.bigint() - t) / 1e6;
	t = process.hrtime.bigint();
	const tally = new Map();
	for (const r of await db.query(
		'SELECT campaign, channel, variant, status, delivery_status FROM touches',
	)) {
		const k = `${r.campaign}|${r.channel}|${r.variant}`;
		const c = tally.get(k) ?? { sent: 0, delivered: 0 };
		if (r.status === 'sent') c.sent++;
		if (r.delivery_status === 'delivered') c.delivered++;
		tally.set(k, c);
	}
	const baselineMs = Number(process.hrtime.bigint() - t) / 1e6;
	const sent = all.rows.reduce((n, r) => n + r.sent, 0);
	console.log(
		`Campaign Report, ${N} touches (${all.rows.length} campaign x channel x variant rows, ${sent} sent):`,
	);
	console.log(
		`  every campaign: ${allMs.toFixed(0)} ms (target < 1000 ms); one campaign: ${oneMs.toFixed(0)} ms (${one.rows.length} rows)`,
	);
	console.log(
		`  baseline, the touches read into JavaScript and only their statuses tallied: ${baselineMs.toFixed(0)} ms => the full report (replies, conversions, opt-outs, failures, blocked) takes ${(allMs / baselineMs).toFixed(2)}x that`,
	);
	await store.close?.();
}

module.exports = { run };
if (require.main === module)
	run().catch((e) => {
		console.error(e);
		process.exit(1);
	});
