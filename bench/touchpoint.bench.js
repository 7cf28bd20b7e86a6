/**
 * Touchpoint under a provider limit: 2,000 WhatsApp messages to a mock that allows 80 req/s
 * (429 + Retry-After beyond) with 50 ms latency, through the node in WorkflowExecute.
 * Prints delivered, duplicates, 429s received, elapsed and the achieved rate as a share of 80/s;
 * then the same load the naive way (every request at once, no throttle, no retry, as n8n's HTTP
 * Request node does by default) in the same run. Asserts nothing.
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const N = Number(process.env.BENCH_MESSAGES || 2000);
const LIMIT = 80;

async function run() {
	process.env.N8N_USER_FOLDER =
		process.env.N8N_USER_FOLDER || fs.mkdtempSync(path.join(os.tmpdir(), 'cm-bench-'));
	const { manualWorkflow, runWorkflow } = require('../.cache/bench-build/test/harness');
	const { MetaGraphMock } = require('../.cache/bench-build/test/mocks');
	const { openStore, closeAllStores } = require('../dist/nodes/shared/store');
	const databasePath = path.join(
		fs.mkdtempSync(path.join(os.tmpdir(), 'cm-bench-tp-')),
		'store.sqlite',
	);
	const store = await openStore({ type: 'embedded', path: databasePath });
	const meta = new MetaGraphMock();
	await meta.start();
	meta.setLatency(50);
	meta.setRateLimit(LIMIT);
	const items = [];
	for (let i = 0; i < N; i++)
		items.push({
			contact: {
				id: `b${i}`,
				phone: `+3461${String(1000000 + i).padStart(7, '0')}`,
				timeZone: 'UTC',
			},
		});
	// Transactional sends need no consent, but go only to an address the person holds.
	const { channelBookAddress } = require('../dist/nodes/shared/people');
	await store.resolveContacts(
		items.map((it) => ({
			id: it.contact.id,
			addresses: [channelBookAddress(it.contact, 'whatsapp')],
		})),
		{ create: true, link: true, source: 'bench' },
	);
	const credentials = {
		convergentStoreApi: { storageType: 'embedded', databasePath },
		whatsAppCloudApi: {
			accessToken: meta.accessToken,
			phoneNumberId: meta.phoneNumberId,
			apiVersion: 'v21.0',
			baseUrl: meta.baseUrl,
		},
	};
	const wf = manualWorkflow({
		items,
		node: {
			type: 'touchpoint',
			name: 'Send',
			parameters: {
				channel: 'whatsapp',
				purpose: 'transactional',
				whatsappType: 'template',
				templateName: 'order_update',
				options: { maxRetries: 10, concurrency: 40 },
			},
			credentials: { whatsAppCloudApi: 'WA', convergentStoreApi: 'Store' },
		},
	});
	let t = Date.now();
	const res = await runWorkflow(wf, { credentials });
	const s = (Date.now() - t) / 1000;
	const delivered = meta.accepted;
	// A duplicate is a recipient the provider accepted more than once.
	const recipients = new Set(
		meta.requests.filter((r) => r.body && r.body.to).map((r) => r.body.to),
	);
	console.log(`Touchpoint: ${N} messages, mock limit ${LIMIT}/s + 50 ms latency`);
	const notSent = res.json('Send', 1);
	if (notSent.length)
		console.log(
			`  first Not Sent: ${JSON.stringify(notSent[0].error ?? notSent[0].blocked ?? notSent[0]).slice(0, 300)}`,
		);
	console.log(
		`  delivered ${delivered} (${res.json('Send', 0).length} Sent, ${res.json('Send', 1).length} Not Sent), duplicates ${delivered - recipients.size}, 429s received ${meta.rateLimited}, elapsed ${s.toFixed(1)} s, rate ${(delivered / s).toFixed(1)}/s = ${((delivered / s / LIMIT) * 100).toFixed(0)}% of the limit`,
	);

	meta.reset();
	meta.setLatency(50);
	meta.setRateLimit(LIMIT);
	t = Date.now();
	const results = await Promise.all(
		items.map((it) =>
			fetch(`${meta.baseUrl}/v21.0/${meta.phoneNumberId}/messages`, {
				method: 'POST',
				headers: {
					'content-type': 'application/json',
					authorization: `Bearer ${meta.accessToken}`,
				},
				body: JSON.stringify({
					messaging_product: 'whatsapp',
					to: it.contact.phone.slice(1),
					type: 'template',
					template: { name: 'order_update', language: { code: 'en' } },
				}),
			})
				.then((r) => r.status)
				.catch(() => 0),
		),
	);
	const ns = (Date.now() - t) / 1000;
	const naiveOk = results.filter((x) => x === 200).length;
	console.log(
		`naive (all at once, no throttle, no retry): delivered ${naiveOk} of ${N} (${((naiveOk / N) * 100).toFixed(1)}%), 429s ${results.filter((x) => x === 429).length}, elapsed ${ns.toFixed(1)} s`,
	);
	await meta.stop();
	await closeAllStores();
}

module.exports = { run };
if (require.main === module)
	run().catch((e) => {
		console.error(e);
		process.exit(1);
	});
