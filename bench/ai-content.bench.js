/**
 * AI Content at scale: 1,000 contacts in 5 segments, model latency 300 ms (OpenAI mock), through
 * the node in WorkflowExecute, against the one-call-per-item sequential pattern of n8n's built-in
 * OpenAI node (measured here on SEQ_ITEMS items and extrapolated per item, since 1,000 x 300 ms
 * sequential calls take 5 minutes). Prints wall time, model calls and tokens. Asserts nothing.
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const N = Number(process.env.BENCH_CONTACTS || 1000);
const SEQ_ITEMS = Number(process.env.SEQ_ITEMS || 20);

async function run() {
	process.env.N8N_USER_FOLDER =
		process.env.N8N_USER_FOLDER || fs.mkdtempSync(path.join(os.tmpdir(), 'cm-bench-'));
	const { manualWorkflow, runWorkflow } = require('../.cache/bench-build/test/harness');
	const { OpenAIMock } = require('../.cache/bench-build/test/mocks');
	const ai = new OpenAIMock();
	await ai.start();
	ai.setLatency(300);
	ai.responder = () => ({
		variants: [{ text: 'Hi {{contact.firstName}}, 20% off for you today' }],
	});
	const databasePath = path.join(
		fs.mkdtempSync(path.join(os.tmpdir(), 'cm-bench-ai-')),
		'store.sqlite',
	);
	const credentials = {
		openAiCompatibleApi: { apiKey: ai.apiKey, baseUrl: `${ai.baseUrl}/v1` },
		convergentStoreApi: { storageType: 'embedded', databasePath },
	};
	const items = Array.from({ length: N }, (_, i) => ({
		contact: { firstName: `N${i}` },
		segment: `S${i % 5}`,
	}));
	const node = (groupBy) => ({
		type: 'aiContent',
		name: 'AI',
		parameters: {
			operation: 'generateCopy',
			channel: 'sms',
			brief: 'bench',
			groupBy,
			placeholders: 'contact.firstName',
		},
		credentials: { openAiCompatibleApi: 'OpenAI', convergentStoreApi: 'Store' },
	});

	let t = Date.now();
	const res = await runWorkflow(manualWorkflow({ items, node: node('segment') }), { credentials });
	const ours = (Date.now() - t) / 1000;
	const ourCalls = ai.received;
	const ourInFlight = ai.maxInFlight;
	const tokens = res
		.json('AI', 0)
		.reduce((n, j) => n + j.usage.inputTokens + j.usage.outputTokens, 0);

	// The built-in OpenAI node's pattern: one request per item, strictly one at a time.
	ai.reset();
	ai.setLatency(300);
	const OpenAI = require('openai').default;
	const client = new OpenAI({ apiKey: ai.apiKey, baseURL: `${ai.baseUrl}/v1` });
	t = Date.now();
	let seqTokens = 0;
	for (let i = 0; i < SEQ_ITEMS; i++) {
		const r = await client.chat.completions.create({
			model: 'gpt-4o-mini',
			messages: [{ role: 'user', content: `Write an SMS for N${i}: 20% off` }],
		});
		seqTokens += r.usage.total_tokens;
	}
	const seqPerItem = (Date.now() - t) / 1000 / SEQ_ITEMS;
	const seqWall = seqPerItem * N;
	console.log(`AI Content, ${N} contacts in 5 segments, 300 ms model latency:`);
	console.log(
		`  this node: ${ours.toFixed(2)} s wall, ${ourCalls} model calls, ${tokens} tokens (at most ${ourInFlight} in flight)`,
	);
	console.log(
		`  one call per item, sequential (measured on ${SEQ_ITEMS}, extrapolated): ${seqWall.toFixed(0)} s wall, ${N} calls, ~${Math.round((seqTokens / SEQ_ITEMS) * N)} tokens`,
	);
	console.log(
		`  => ${(N / ourCalls).toFixed(0)}x fewer calls, ${(seqWall / ours).toFixed(0)}x less wall time`,
	);
	ai.reset();
	t = Date.now();
	await runWorkflow(manualWorkflow({ items, node: node('segment') }), { credentials });
	console.log(
		`  re-run (cache): ${((Date.now() - t) / 1000).toFixed(2)} s, ${ai.received} model calls`,
	);

	// The same through a Chat Model sub-node (a LangChain chat model, 300 ms per call) instead of the credential.
	const fixtures = path.join(__dirname, '..', 'test', 'fixtures', 'ai-package');
	globalThis.__harnessChatCalls = [];
	const wf = manualWorkflow({
		items,
		node: {
			...node('segment'),
			credentials: { convergentStoreApi: 'Store' },
			parameters: { ...node('segment').parameters, brief: 'bench via a chat model' },
		},
	});
	wf.nodes.push({
		id: 'chat-model',
		name: 'Chat Model',
		type: 'harness-ai-fixture-nodes.harnessChatModel',
		typeVersion: 1,
		position: [220, 200],
		parameters: {
			answers: JSON.stringify([
				JSON.stringify({ variants: [{ text: 'Hi {{contact.firstName}}, 20% off for you today' }] }),
			]),
			latencyMs: 300,
		},
	});
	wf.connections['Chat Model'] = {
		ai_languageModel: [[{ node: 'AI', type: 'ai_languageModel', index: 0 }]],
	};
	t = Date.now();
	const viaModel = await runWorkflow(wf, { credentials, extraPackages: [fixtures] });
	const modelCalls = globalThis.__harnessChatCalls.length;
	const copies = viaModel.json('AI', 0).filter((j) => j.copy).length;
	console.log(
		`  with a Chat Model sub-node: ${((Date.now() - t) / 1000).toFixed(2)} s wall, ${modelCalls} model calls for ${copies} contacts => ${(N / Math.max(1, modelCalls)).toFixed(0)}x fewer calls than one per contact`,
	);
	await ai.stop();
}

module.exports = { run };
if (require.main === module)
	run().catch((e) => {
		console.error(e);
		process.exit(1);
	});
