#!/usr/bin/env node
/**
 * `npm run bench:n8n`: the package's heavy workloads inside the real n8n that `npm start` uses
 * (pinned n8n, package installed as the Community Nodes installer does), each workflow a fresh
 * `n8n execute`, beside n8n's own nodes doing the same job in the same execution. Times are
 * n8n's own per-node execution times (runData[node].executionTime); the items come from a Code
 * node before the measured nodes, so making them is not counted. Prints tables; asserts nothing.
 *
 * Environment: BENCH_RUNS (default 3: min / median over runs), CM_BENCH_PG=0 (no PostgreSQL),
 * BENCH_ONLY=<comma list of workload names> (segment, check-sqlite, check-postgres,
 * check-vs-postgres-node, touchpoint, http-request, ai-content), CM_BENCH_CPU_PROF=<folder> (CPU
 * profiles of the n8n processes).
 */
'use strict';

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');

const rt = require('./n8n-runtime');

const ROOT = rt.ROOT;
const PKG = rt.PKG.name;
const RUNS = Math.max(1, Number(process.env.BENCH_RUNS || 3));
const ONLY = process.env.BENCH_ONLY
	? process.env.BENCH_ONLY.split(',').map((s) => s.trim())
	: undefined;
const WITH_PG = process.env.CM_BENCH_PG !== '0';
const PG = { host: '127.0.0.1', port: 5432, database: 'test', user: 'postgres', password: '' };

const N_CHECK = 100_000;
const N_VS_PG = 10_000;
const N_SEGMENT = 100_000;
const N_SWITCH = 2_000;
const N_SEND = 2_000;
const SEND_LIMIT = 80;
const N_AI = 1_000;
const N_AI_NODE = 20;

// ---------------------------------------------------------------------------------------------
// Workflows

let nodeCounter = 0;
function node(type, name, parameters, extra = {}) {
	nodeCounter++;
	return {
		id: `n${nodeCounter}`,
		name,
		type,
		typeVersion: extra.typeVersion ?? 1,
		position: [nodeCounter * 220, 300],
		parameters,
		...extra,
	};
}
const ours = (type) => `${PKG}.${type}`;

function workflow(id, name, nodes, connections) {
	const conn = {};
	for (const [from, to, output = 0] of connections) {
		conn[from] ??= { main: [] };
		while (conn[from].main.length <= output) conn[from].main.push([]);
		conn[from].main[output].push({ node: to, type: 'main', index: 0 });
	}
	return {
		id,
		name,
		nodes,
		connections: conn,
		active: false,
		settings: { executionOrder: 'v1' },
		pinData: {},
	};
}

/** A Code node that makes `n` items from a JavaScript expression of `i` (not measured). */
function maker(name, n, itemExpression) {
	return node(
		'n8n-nodes-base.code',
		name,
		{
			jsCode: `const out = new Array(${n});\nfor (let i = 0; i < ${n}; i++) out[i] = { json: ${itemExpression} };\nreturn out;`,
		},
		{ typeVersion: 2 },
	);
}

const trigger = () => node('n8n-nodes-base.manualTrigger', 'Start', {});

const COUNTRIES = ['ES', 'PT', 'FR'];
const RULES = COUNTRIES.map((country, k) => ({
	name: `Seg ${country}`,
	country,
	minSpent: 200 + k * 100,
	maxVisits: 40 - k,
}));
const segmentItem =
	"{ contact: { id: 'c' + i, country: ['ES', 'PT', 'FR', 'DE'][(i * 7919) % 4] }, spent: (i * 104729) % 2000, visits: (i * 31) % 50 }";

function segmentWorkflow() {
	// The same rules and node parameters as bench/segment.bench.js.
	const { segmentParams, switchNode } = require(path.join(ROOT, 'bench', 'segment.bench.js'));
	const segment = node(ours('segment'), 'Segment', segmentParams(RULES));
	const code = node(
		'n8n-nodes-base.code',
		'Code (same rules)',
		{
			jsCode: `const rules = ${JSON.stringify(RULES)};\nfor (const item of $input.all()) {\n  const j = item.json;\n  const hit = rules.find((r) => String(j.contact.country).toLowerCase() === r.country.toLowerCase() && Number(j.spent) >= r.minSpent && Number(j.visits) < r.maxVisits);\n  j.segment = hit ? hit.name : 'Other';\n}\nreturn $input.all();`,
		},
		{ typeVersion: 2 },
	);
	const sw = switchNode(RULES);
	const switchDef = node(sw.type, 'Switch (same rules)', sw.parameters, {
		typeVersion: sw.typeVersion,
	});
	const make = maker('Make Contacts', N_SEGMENT, segmentItem);
	const makeFew = maker('Make Contacts (Switch)', N_SWITCH, segmentItem);
	const start = trigger();
	return workflow(
		'cmBenchSegment01',
		'bench: Segment',
		[start, make, makeFew, segment, code, switchDef],
		[
			['Start', 'Make Contacts'],
			['Start', 'Make Contacts (Switch)'],
			['Make Contacts', 'Segment'],
			['Make Contacts', 'Code (same rules)'],
			['Make Contacts (Switch)', 'Switch (same rules)'],
		],
	);
}

/** Contacts with a phone and a zone where it is midday now (quiet hours allow every item). */
function checkItem(zone) {
	return `{ contact: { id: 'c' + i, phone: '+346' + String(10000000 + i), timeZone: '${zone}' } }`;
}

function checkNode(name, credentialId) {
	return node(
		ours('consentGuard'),
		name,
		{
			operation: 'check',
			channel: 'sms',
			purpose: 'marketing',
			campaign: 'bench',
		},
		{ credentials: { convergentStoreApi: { id: credentialId, name: credentialId } } },
	);
}

function checkWorkflow(id, credentialId, zone) {
	return workflow(
		id,
		`bench: Check ${credentialId}`,
		[
			trigger(),
			maker('Make Contacts', N_CHECK, checkItem(zone)),
			checkNode('Consent Guard Check', credentialId),
		],
		[
			['Start', 'Make Contacts'],
			['Make Contacts', 'Consent Guard Check'],
		],
	);
}

function checkVsPostgresWorkflow(zone, schema) {
	const pgNode = node(
		'n8n-nodes-base.postgres',
		'Postgres (one select per item)',
		{
			operation: 'executeQuery',
			query: `SELECT status FROM "${schema}".consent_state WHERE contact_id = $1 AND channel = 'sms' AND purpose = 'marketing'`,
			options: { queryReplacement: '={{ $json.contact.id }}' },
		},
		{
			typeVersion: 2.6,
			credentials: { postgres: { id: 'benchPostgres', name: 'Bench Postgres' } },
		},
	);
	return workflow(
		'cmBenchCheckVsPg',
		'bench: Check vs Postgres node',
		[
			trigger(),
			maker('Make Contacts', N_VS_PG, checkItem(zone)),
			checkNode('Consent Guard Check', 'storeSqlite'),
			pgNode,
		],
		[
			['Start', 'Make Contacts'],
			['Make Contacts', 'Consent Guard Check'],
			['Make Contacts', 'Postgres (one select per item)'],
		],
	);
}

const sendItem =
	"{ contact: { id: 'b' + i, phone: '+3461' + String(1000000 + i), timeZone: 'UTC' } }";

function touchpointWorkflow() {
	const send = node(
		ours('touchpoint'),
		'Touchpoint',
		{
			channel: 'whatsapp',
			purpose: 'transactional',
			whatsappType: 'template',
			templateName: 'order_update',
		},
		{
			credentials: {
				whatsAppCloudApi: { id: 'wa', name: 'WhatsApp' },
				convergentStoreApi: { id: 'storeSqlite', name: 'storeSqlite' },
			},
		},
	);
	return workflow(
		'cmBenchTouchpnt',
		'bench: Touchpoint',
		[trigger(), maker('Make Messages', N_SEND, sendItem), send],
		[
			['Start', 'Make Messages'],
			['Make Messages', 'Touchpoint'],
		],
	);
}

function httpRequestWorkflow(meta) {
	const http = node(
		'n8n-nodes-base.httpRequest',
		'HTTP Request (batched 80/s)',
		{
			method: 'POST',
			url: `${meta.baseUrl}/v21.0/${meta.phoneNumberId}/messages`,
			sendHeaders: true,
			headerParameters: {
				parameters: [{ name: 'Authorization', value: `Bearer ${meta.accessToken}` }],
			},
			sendBody: true,
			specifyBody: 'json',
			jsonBody:
				"={{ JSON.stringify({ messaging_product: 'whatsapp', to: $json.contact.phone.slice(1), type: 'template', template: { name: 'order_update', language: { code: 'en' } } }) }}",
			options: { batching: { batch: { batchSize: SEND_LIMIT, batchInterval: 1000 } } },
		},
		{ typeVersion: 4.2, onError: 'continueRegularOutput' },
	);
	return workflow(
		'cmBenchHttpReq1',
		'bench: HTTP Request',
		[trigger(), maker('Make Messages', N_SEND, sendItem), http],
		[
			['Start', 'Make Messages'],
			['Make Messages', 'HTTP Request (batched 80/s)'],
		],
	);
}

function aiWorkflow() {
	const ai = node(
		ours('aiContent'),
		'AI Content (per segment)',
		{
			operation: 'generateCopy',
			channel: 'sms',
			brief: 'bench',
			groupBy: 'segment',
			placeholders: 'contact.firstName',
		},
		{
			credentials: {
				openAiCompatibleApi: { id: 'openaiCompat', name: 'OpenAI compatible' },
				convergentStoreApi: { id: 'storeSqlite', name: 'storeSqlite' },
			},
		},
	);
	const openAi = node(
		'@n8n/n8n-nodes-langchain.openAi',
		'OpenAI (one call per item)',
		{
			resource: 'text',
			operation: 'message',
			modelId: { __rl: true, mode: 'id', value: 'gpt-4o-mini' },
			messages: {
				values: [{ content: '=Write an SMS for {{ $json.contact.firstName }}: 20% off' }],
			},
			options: {},
		},
		{ typeVersion: 1.8, credentials: { openAiApi: { id: 'openaiN8n', name: 'OpenAI (n8n)' } } },
	);
	const item = "{ contact: { id: 'a' + i, firstName: 'N' + i }, segment: 'S' + (i % 5) }";
	return workflow(
		'cmBenchAiConten',
		'bench: AI Content',
		[
			trigger(),
			maker('Make Contacts', N_AI, item),
			maker('Make Contacts (OpenAI node)', N_AI_NODE, item),
			ai,
			openAi,
		],
		[
			['Start', 'Make Contacts'],
			['Start', 'Make Contacts (OpenAI node)'],
			['Make Contacts', 'AI Content (per segment)'],
			['Make Contacts (OpenAI node)', 'OpenAI (one call per item)'],
		],
	);
}

// ---------------------------------------------------------------------------------------------
// Running n8n

/** An IANA zone where it is about midday now, so quiet hours let every item through. */
function middayZone() {
	const offset = 12 - new Date().getUTCHours();
	const h = ((((offset + 11) % 24) + 24) % 24) - 11; // -11..12
	return h === 0 ? 'UTC' : `Etc/GMT${h > 0 ? '-' : '+'}${Math.abs(h)}`;
}

/**
 * `n8n execute` of one workflow: n8n's run data (per-node times) and the process's peak RSS.
 * Its output goes to a file: n8n exits right after printing, which cuts a piped output short.
 */
function execute(env, work, id) {
	return new Promise((resolve, reject) => {
		const outFile = path.join(work, `execute-${id}.json`);
		const fd = fs.openSync(outFile, 'w');
		const child = spawn(rt.NODE_BIN, [rt.N8N_BIN, 'execute', `--id=${id}`, '--rawOutput'], {
			env,
			cwd: ROOT,
			stdio: ['ignore', fd, 'pipe'],
		});
		fs.closeSync(fd);
		let err = '';
		let peakKb = 0;
		const poll = setInterval(() => {
			try {
				const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'));
				if (m) peakKb = Math.max(peakKb, Number(m[1]));
			} catch {
				// exited
			}
		}, 100);
		child.stderr.on('data', (d) => (err += d));
		const timer = setTimeout(() => child.kill('SIGKILL'), 15 * 60_000);
		child.on('exit', (status) => {
			clearInterval(poll);
			clearTimeout(timer);
			const text = fs.readFileSync(outFile, 'utf8');
			fs.rmSync(outFile, { force: true });
			const start = text.indexOf('{\n');
			let run;
			try {
				run = JSON.parse(text.slice(start, text.lastIndexOf('}') + 1));
			} catch {
				run = undefined;
			}
			if (status !== 0 || !run) {
				reject(
					new Error(
						`n8n execute --id=${id} failed (exit ${status}):\n${err.slice(-2000)}\n${text.slice(0, 1500)}`,
					),
				);
				return;
			}
			resolve({ run, peakMb: Math.round(peakKb / 1024) });
		});
	});
}

function nodeRun(result, name) {
	const task = result.run.data.resultData.runData[name]?.[0];
	if (!task) throw new Error(`Node "${name}" did not run`);
	const outputs = (task.data?.main ?? []).map((o) => (o ? o.length : 0));
	return {
		ms: task.executionTime,
		startTime: task.startTime,
		outputs,
		items: outputs.reduce((a, b) => a + b, 0),
	};
}

const median = (xs) => {
	const s = [...xs].sort((a, b) => a - b);
	return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const fmtMs = (ms) => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`);
const rate = (n, ms) => `${Math.round((n / ms) * 1000).toLocaleString('en-US')}/s`;

// ---------------------------------------------------------------------------------------------

async function main() {
	const started = Date.now();
	await rt.ensureRuntime();
	const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-bench-n8n-'));
	try {
		await benchIn(work, started);
	} finally {
		fs.rmSync(work, { recursive: true, force: true });
	}
}

async function benchIn(work, started) {
	const userFolder = path.join(work, 'n8n');
	rt.installPackage(userFolder);
	const { MetaGraphMock, OpenAIMock } = require(
		path.join(ROOT, '.cache', 'bench-build', 'test', 'mocks'),
	);
	const { openStore, closeAllStores } = require(
		path.join(ROOT, 'dist', 'nodes', 'shared', 'store'),
	);
	const { channelBookAddress } = require(path.join(ROOT, 'dist', 'nodes', 'shared', 'people'));

	const meta = new MetaGraphMock();
	const ai = new OpenAIMock();
	await Promise.all([meta.start(), ai.start()]);
	ai.responder = () => ({
		variants: [{ text: 'Hi {{contact.firstName}}, 20% off for you today' }],
	});

	const sqlitePath = path.join(work, 'store.sqlite');
	const schema = `cm_bench_n8n_${Date.now()}`;
	let pgOk = false;
	if (WITH_PG) {
		try {
			const s = await openStore({ type: 'postgres', ...PG, schema });
			pgOk = !!s;
		} catch (e) {
			console.log(`PostgreSQL not reachable (${e.message}): its workloads are skipped.`);
		}
	}
	const credentials = [
		{
			id: 'storeSqlite',
			name: 'storeSqlite',
			type: 'convergentStoreApi',
			data: { storageType: 'embedded', databasePath: sqlitePath },
		},
		{
			id: 'storePostgres',
			name: 'storePostgres',
			type: 'convergentStoreApi',
			data: {
				storageType: 'postgres',
				host: PG.host,
				port: PG.port,
				database: PG.database,
				user: PG.user,
				password: PG.password,
				ssl: false,
				schema,
			},
		},
		{
			id: 'benchPostgres',
			name: 'Bench Postgres',
			type: 'postgres',
			data: {
				host: PG.host,
				port: PG.port,
				database: PG.database,
				user: PG.user,
				password: PG.password,
				ssl: 'disable',
			},
		},
		{
			id: 'wa',
			name: 'WhatsApp',
			type: 'whatsAppCloudApi',
			data: {
				accessToken: meta.accessToken,
				phoneNumberId: meta.phoneNumberId,
				apiVersion: 'v21.0',
				baseUrl: meta.baseUrl,
			},
		},
		{
			id: 'openaiCompat',
			name: 'OpenAI compatible',
			type: 'openAiCompatibleApi',
			data: { apiKey: ai.apiKey, baseUrl: `${ai.baseUrl}/v1` },
		},
		{
			id: 'openaiN8n',
			name: 'OpenAI (n8n)',
			type: 'openAiApi',
			data: { apiKey: ai.apiKey, url: `${ai.baseUrl}/v1` },
		},
	];
	const env = rt.n8nEnv({
		userFolder,
		port: await rt.freePort(),
		brokerPort: await rt.freePort(),
		extra: {
			N8N_ENCRYPTION_KEY: 'bench-encryption-key-0123456789',
			N8N_LOG_LEVEL: 'info',
			EXECUTIONS_DATA_SAVE_ON_SUCCESS: 'none',
		},
	});
	const credFile = path.join(work, 'credentials.json');
	fs.writeFileSync(credFile, JSON.stringify(credentials));
	rt.n8nCli(['import:credentials', `--input=${credFile}`], env);
	fs.rmSync(credFile);

	const zone = middayZone();
	const workflows = [
		segmentWorkflow(),
		checkWorkflow('cmBenchCheckSql', 'storeSqlite', zone),
		checkWorkflow('cmBenchCheckPgs', 'storePostgres', zone),
		checkVsPostgresWorkflow(zone, schema),
		touchpointWorkflow(),
		httpRequestWorkflow(meta),
		aiWorkflow(),
	];
	const wfDir = path.join(work, 'workflows');
	fs.mkdirSync(wfDir);
	for (const wf of workflows)
		fs.writeFileSync(path.join(wfDir, `${wf.id}.json`), JSON.stringify(wf));
	rt.n8nCli(['import:workflow', '--separate', `--input=${wfDir}`], env);

	const wanted = (name) => !ONLY || ONLY.includes(name);
	const rows = [];
	const notes = [];
	// CM_BENCH_CPU_PROF=<folder>: a CPU profile of each n8n process (open in Chrome DevTools).
	const profile = process.env.CM_BENCH_CPU_PROF
		? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${path.resolve(process.env.CM_BENCH_CPU_PROF)}` }
		: {};
	const runEnv = async () => ({
		...env,
		...profile,
		N8N_PORT: String(await rt.freePort()),
		N8N_RUNNERS_BROKER_PORT: String(await rt.freePort()),
	});

	// Consented contacts, each bound to its phone (what a real store holds after opt-ins).
	const seed = async (config, n, prefix) => {
		const store = await openStore(config);
		const people = Array.from({ length: n }, (_, i) => ({
			id: `${prefix}${i}`,
			phone: `+346${10000000 + i}`,
		}));
		await store.resolveContacts(
			people.map((c) => ({ id: c.id, addresses: [channelBookAddress(c, 'sms')] })),
			{ create: true, link: true, source: 'bench' },
		);
		await store.recordConsent(
			people.map((c) => ({
				contactId: c.id,
				channel: 'sms',
				purpose: 'marketing',
				action: 'grant',
				address: c.phone,
				evidence: { source: 'bench' },
			})),
		);
		if (config.type === 'postgres') await store.db.exec('ANALYZE');
		return store;
	};
	const resetTouches = async (store) => store.db.exec('DELETE FROM touches');

	if (wanted('segment')) {
		const times = { seg: [], code: [], sw: [] };
		let peak = 0;
		for (let r = 0; r < RUNS; r++) {
			const res = await execute(await runEnv(), work, 'cmBenchSegment01');
			times.seg.push(nodeRun(res, 'Segment').ms);
			times.code.push(nodeRun(res, 'Code (same rules)').ms);
			times.sw.push(nodeRun(res, 'Switch (same rules)').ms);
			peak = Math.max(peak, res.peakMb);
		}
		const seg = Math.min(...times.seg);
		rows.push([
			'Segment, Route by Rules',
			`${N_SEGMENT.toLocaleString('en-US')} items, 3 rules x 3 conditions`,
			times.seg,
			N_SEGMENT,
			peak,
		]);
		rows.push([
			'  n8n Code node, same rules',
			`${N_SEGMENT.toLocaleString('en-US')} items`,
			times.code,
			N_SEGMENT,
			undefined,
			`${(Math.min(...times.code) / seg).toFixed(1)}x Segment's time`,
		]);
		rows.push([
			'  n8n Switch, same rules',
			`${N_SWITCH.toLocaleString('en-US')} items`,
			times.sw,
			N_SWITCH,
			undefined,
			`${Math.round(Math.min(...times.sw) / N_SWITCH / (seg / N_SEGMENT))}x Segment's time per item`,
		]);
	}

	let sqliteStore;
	if (
		wanted('check-sqlite') ||
		wanted('check-vs-postgres-node') ||
		wanted('touchpoint') ||
		wanted('ai-content')
	) {
		sqliteStore = await seed({ type: 'embedded', path: sqlitePath }, N_CHECK, 'c');
	}
	// The Check on 100,000 consented contacts, RUNS times on an emptied touches table.
	const checkRuns = async (store, id, label) => {
		const times = [];
		const peaks = [];
		for (let r = 0; r < RUNS; r++) {
			await resetTouches(store);
			const res = await execute(await runEnv(), work, id);
			const n = nodeRun(res, 'Consent Guard Check');
			if (n.outputs[0] !== N_CHECK)
				notes.push(
					`Check (${label}) run ${r + 1}: ${n.outputs[0]} allowed, ${n.outputs[1]} blocked (expected all allowed)`,
				);
			times.push(n.ms);
			peaks.push(res.peakMb);
		}
		return { times, peaks };
	};
	if (wanted('check-sqlite')) {
		const { times, peaks } = await checkRuns(sqliteStore, 'cmBenchCheckSql', 'SQLite');
		rows.push([
			'Consent Guard Check, embedded store',
			`${N_CHECK.toLocaleString('en-US')} consented contacts, default cap, reserve on`,
			times,
			N_CHECK,
			Math.max(...peaks),
			`target >= 50,000/s; peak RSS per run ${peaks.join(' / ')} MB`,
		]);
	}
	let pgStore;
	if (pgOk && (wanted('check-postgres') || wanted('check-vs-postgres-node'))) {
		pgStore = await seed({ type: 'postgres', ...PG, schema }, N_CHECK, 'c');
	}
	if (pgOk && wanted('check-postgres')) {
		const { times, peaks } = await checkRuns(pgStore, 'cmBenchCheckPgs', 'PostgreSQL');
		rows.push([
			'Consent Guard Check, PostgreSQL store',
			'same',
			times,
			N_CHECK,
			Math.max(...peaks),
			`target >= 20,000/s; peak RSS per run ${peaks.join(' / ')} MB`,
		]);
	}
	if (pgOk && wanted('check-vs-postgres-node')) {
		const ours = [];
		const theirs = [];
		for (let r = 0; r < RUNS; r++) {
			await resetTouches(sqliteStore);
			const res = await execute(await runEnv(), work, 'cmBenchCheckVsPg');
			ours.push(nodeRun(res, 'Consent Guard Check').ms);
			theirs.push(nodeRun(res, 'Postgres (one select per item)').ms);
		}
		rows.push([
			'Consent Guard Check (SQLite) vs Postgres node',
			`${N_VS_PG.toLocaleString('en-US')} items`,
			ours,
			N_VS_PG,
		]);
		rows.push([
			'  n8n Postgres node, one select per item',
			`${N_VS_PG.toLocaleString('en-US')} items`,
			theirs,
			N_VS_PG,
			undefined,
			`${(Math.min(...theirs) / Math.min(...ours)).toFixed(0)}x the Check's time (target >= 30x)`,
		]);
	}

	if (wanted('touchpoint') || wanted('http-request')) {
		// Transactional template sends to people whose phones are in the contact book.
		const people = Array.from({ length: N_SEND }, (_, i) => ({
			id: `b${i}`,
			phone: `+3461${1000000 + i}`,
		}));
		await sqliteStore.resolveContacts(
			people.map((c) => ({ id: c.id, addresses: [channelBookAddress(c, 'whatsapp')] })),
			{ create: true, link: true, source: 'bench' },
		);
	}
	const sendRow = (label, res, name, extra) => {
		const n = nodeRun(res, name);
		const recipients = new Set(
			meta.requests
				.filter((q) => q.body && q.body.to)
				.filter((q) => q.status === 200)
				.map((q) => q.body.to),
		);
		const delivered = meta.accepted;
		const achieved = delivered / (n.ms / 1000);
		const peakSecond = peakPerSecond(meta.requests.map((q) => q.at));
		const at = meta.requests.map((q) => q.at).sort((a, b) => a - b);
		// Where the time outside the paced sends goes: before the first request, after the last one.
		const edges = at.length
			? `; first request ${at[0] - n.startTime} ms after the node started, last ${n.startTime + n.ms - at[at.length - 1]} ms before it ended`
			: '';
		rows.push([
			label,
			`${N_SEND.toLocaleString('en-US')} WhatsApp templates, mock limit ${SEND_LIMIT}/s (sliding window), 50 ms latency`,
			[n.ms],
			delivered,
			undefined,
			`delivered ${delivered}, lost ${N_SEND - Math.min(N_SEND, recipients.size)}, duplicated ${delivered - recipients.size}, 429s ${meta.rateLimited}, busiest 1 s window ${peakSecond} requests${edges}; ${((achieved / SEND_LIMIT) * 100).toFixed(1)} % of the limit${extra ?? ''}`,
		]);
	};
	if (wanted('touchpoint')) {
		for (let r = 0; r < RUNS; r++) {
			await resetTouches(sqliteStore);
			meta.reset();
			meta.setLatency(50);
			meta.setRateLimit(SEND_LIMIT);
			sendRow(
				r === 0 ? 'Touchpoint, WhatsApp template' : '  (again)',
				await execute(await runEnv(), work, 'cmBenchTouchpnt'),
				'Touchpoint',
				' (target >= 95 %, 0 lost, 0 duplicated)',
			);
		}
	}
	if (wanted('http-request')) {
		meta.reset();
		meta.setLatency(50);
		meta.setRateLimit(SEND_LIMIT);
		sendRow(
			'  n8n HTTP Request, batched 80 per second',
			await execute(await runEnv(), work, 'cmBenchHttpReq1'),
			'HTTP Request (batched 80/s)',
			', On Error: Continue',
		);
	}
	if (wanted('ai-content')) {
		ai.reset();
		ai.setLatency(250);
		const res = await execute(await runEnv(), work, 'cmBenchAiConten');
		const ourCalls =
			ai.requests.filter(
				(q) => q.path.includes('/v1/chat/completions') || q.path.includes('/v1/responses'),
			).length - N_AI_NODE;
		const mine = nodeRun(res, 'AI Content (per segment)');
		const theirs = nodeRun(res, 'OpenAI (one call per item)');
		const perItem = theirs.ms / N_AI_NODE;
		rows.push([
			'AI Content, per segment',
			`${N_AI.toLocaleString('en-US')} contacts, 5 segments, 250 ms mock`,
			[mine.ms],
			N_AI,
			undefined,
			`${ourCalls} model calls`,
		]);
		rows.push([
			'  n8n OpenAI node, one call per item',
			`${N_AI_NODE} items, extrapolated to ${N_AI.toLocaleString('en-US')}`,
			[perItem * N_AI],
			N_AI,
			undefined,
			`${N_AI} calls; ${Math.round((perItem * N_AI) / mine.ms)}x AI Content's time`,
		]);
	}

	const line = (cells) => `| ${cells.join(' | ')} |`;
	console.log(
		`\nInside n8n ${rt.N8N_VERSION} (Node ${rt.NODE_VERSION}), ${os.cpus().length} CPUs (${os.cpus()[0].model.trim()}), ${new Date().toISOString().slice(0, 10)}; per-node execution time, min / median of ${RUNS} run(s)\n`,
	);
	console.log(line(['node', 'work', 'time', 'items/s', 'peak RSS', 'notes']));
	console.log(line(['---', '---', '---', '---', '---', '---']));
	for (const [name, workText, times, n, peak, extra] of rows) {
		const t =
			times.length > 1 ? `${fmtMs(Math.min(...times))} / ${fmtMs(median(times))}` : fmtMs(times[0]);
		const r =
			times.length > 1
				? `${rate(n, Math.min(...times))} / ${rate(n, median(times))}`
				: rate(n, times[0]);
		console.log(line([name, workText, t, r, peak ? `${peak} MB` : '', extra ?? '']));
	}
	for (const n of notes) console.log(`note: ${n}`);
	console.log(`\n(bench:n8n took ${Math.round((Date.now() - started) / 1000)} s)`);

	await Promise.all([meta.stop(), ai.stop()]);
	if (pgStore) await pgStore.db.exec(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
	await closeAllStores();
}

/** The most requests that arrived within any one-second window. */
function peakPerSecond(times) {
	const t = [...times].sort((a, b) => a - b);
	let best = 0;
	for (let i = 0, j = 0; i < t.length; i++) {
		while (t[i] - t[j] >= 1000) j++;
		best = Math.max(best, i - j + 1);
	}
	return best;
}

main().catch((error) => {
	console.error(error);
	process.exit(1);
});
