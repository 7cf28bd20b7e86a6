/**
 * A real n8n for `npm start`, the end-to-end tests and queue mode: a pinned n8n 2.x and the Node 24
 * it needs, cached under .cache/ (outside the package's own dependencies), and this package
 * installed into an n8n user folder the way n8n's Community Nodes installer does it.
 *
 * Facts this relies on (checked on these machines):
 * - `npm i n8n` fails on a Kafka client's native build, so install with --ignore-scripts and then
 *   rebuild the two native modules n8n needs (sqlite3, isolated-vm) against Node 24's headers,
 *   which the `node-<platform>-<arch>` package ships.
 * - n8n loads community packages from <user folder>/.n8n/nodes/node_modules/<package>; its installer
 *   unpacks the tarball there, drops dev/peer/optional dependencies and runs
 *   `npm install --ignore-scripts --install-strategy=shallow` inside.
 */
'use strict';

const { spawn, spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const PKG = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const N8N_VERSION = PKG.config.n8nVersion;
const NODE_VERSION = PKG.config.n8nNodeVersion;
const NODE_PACKAGE = `node-${process.platform}-${process.arch}`;
const CACHE = path.join(ROOT, '.cache');
const RUNTIME = path.join(CACHE, `n8n-${N8N_VERSION}`);
const NODE_HOME = path.join(RUNTIME, 'node_modules', NODE_PACKAGE);
const NODE_BIN = path.join(NODE_HOME, 'bin', 'node');
const N8N_BIN = path.join(RUNTIME, 'node_modules', 'n8n', 'bin', 'n8n');
const READY = path.join(RUNTIME, '.ready');

const log = (msg) => process.stderr.write(`[n8n-runtime] ${msg}\n`);

function fail(msg, hint) {
	const e = new Error(`${msg}${hint ? `\n  What to do: ${hint}` : ''}`);
	e.userFacing = true;
	throw e;
}

/** Runs a command with its output shown (progress), failing with what to do. */
function run(cmd, args, options = {}, hint = undefined) {
	const r = spawnSync(cmd, args, {
		stdio: options.quiet ? 'pipe' : 'inherit',
		encoding: 'utf8',
		...options,
	});
	if (r.status !== 0) {
		const out = options.quiet
			? `\n${(r.stdout || '').slice(-2000)}${(r.stderr || '').slice(-2000)}`
			: '';
		fail(
			`"${cmd} ${args.join(' ')}" failed (exit ${r.status}${r.error ? `, ${r.error.message}` : ''})${out}`,
			hint,
		);
	}
	return r;
}

/** PATH with Node 24 first, and npm told where Node's headers are (for native rebuilds). */
function runtimeEnv(extra = {}) {
	// Not the test runner's NODE_ENV=test (n8n changes behaviour under it) nor its worker ids.
	const { NODE_ENV: _nodeEnv, JEST_WORKER_ID: _jest, ...inherited } = process.env;
	return {
		...inherited,
		NODE_ENV: 'production',
		PATH: `${path.dirname(NODE_BIN)}${path.delimiter}${process.env.PATH}`,
		npm_config_nodedir: NODE_HOME,
		...extra,
	};
}

/** Like run(), but async, printing a heartbeat (elapsed time, packages so far) while it works. */
function runWithProgress(cmd, args, options, hint, what) {
	return new Promise((resolve, reject) => {
		const started = Date.now();
		const child = spawn(cmd, args, { stdio: 'inherit', ...options });
		const modules = path.join(options.cwd, 'node_modules');
		const timer = setInterval(() => {
			let count = 0;
			try {
				count = fs.readdirSync(modules).length;
			} catch {
				// not created yet
			}
			log(`${what}: ${Math.round((Date.now() - started) / 1000)} s, ${count} packages so far...`);
		}, 15_000);
		child.on('error', (e) => {
			clearInterval(timer);
			reject(e);
		});
		child.on('exit', (code) => {
			clearInterval(timer);
			if (code === 0) resolve();
			else {
				try {
					fail(`"${cmd} ${args.join(' ')}" failed (exit ${code})`, hint);
				} catch (e) {
					reject(e);
				}
			}
		});
	});
}

/** Downloads n8n and Node 24 into .cache once; later calls reuse them. */
async function ensureRuntime() {
	if (fs.existsSync(READY) && fs.existsSync(N8N_BIN) && fs.existsSync(NODE_BIN))
		return { nodeBin: NODE_BIN, n8nBin: N8N_BIN };
	log(
		`Installing n8n ${N8N_VERSION} with Node ${NODE_VERSION} into ${path.relative(ROOT, RUNTIME)} (first time only: a few minutes, about 3 GB)...`,
	);
	fs.mkdirSync(RUNTIME, { recursive: true });
	fs.writeFileSync(
		path.join(RUNTIME, 'package.json'),
		JSON.stringify({ name: 'n8n-runtime', private: true }, null, 2),
	);
	await runWithProgress(
		'npm',
		[
			'install',
			'--ignore-scripts',
			'--no-audit',
			'--no-fund',
			`${NODE_PACKAGE}@${NODE_VERSION}`,
			`n8n@${N8N_VERSION}`,
		],
		{ cwd: RUNTIME },
		'Check that the npm registry is reachable and that there are ~4 GB free, then run the command again (it resumes).',
		'Downloading n8n',
	);
	log("Building n8n's native modules (sqlite3, isolated-vm) for Node 24...");
	await runWithProgress(
		'npm',
		['rebuild', 'sqlite3', 'isolated-vm'],
		{ cwd: RUNTIME, env: runtimeEnv() },
		'A C++ toolchain is needed (python3, make, g++).',
		'Building native modules',
	);
	run(
		NODE_BIN,
		['-e', "require('sqlite3'); require('isolated-vm'); console.log('native modules load')"],
		{ cwd: RUNTIME, env: runtimeEnv() },
	);
	fs.writeFileSync(READY, new Date().toISOString());
	return { nodeBin: NODE_BIN, n8nBin: N8N_BIN };
}

/** Packs the built package and installs it into <userFolder>/.n8n/nodes like the Community Nodes installer. */
function installPackage(userFolder) {
	if (
		!fs.existsSync(path.join(ROOT, 'dist', 'package.json')) &&
		!fs.existsSync(path.join(ROOT, 'dist', 'nodes'))
	) {
		fail('The package is not built (no dist/).', 'Run `npm run build` first.');
	}
	const nodesDir = path.join(userFolder, '.n8n', 'nodes');
	const target = path.join(nodesDir, 'node_modules', PKG.name);
	const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-pack-'));
	try {
		const packed = run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], {
			cwd: ROOT,
			quiet: true,
		});
		const file = path.join(work, JSON.parse(packed.stdout)[0].filename);
		const hash = crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
		const stamp = path.join(target, '.installed-from');
		if (fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === hash) return target;
		log(`Installing ${PKG.name}@${PKG.version} into ${nodesDir}...`);
		fs.rmSync(target, { recursive: true, force: true });
		fs.mkdirSync(target, { recursive: true });
		run('tar', ['-xzf', file, '-C', target, '--strip-components=1'], { quiet: true });
		const manifestPath = path.join(target, 'package.json');
		const manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8'));
		delete manifest.devDependencies;
		delete manifest.peerDependencies;
		delete manifest.optionalDependencies;
		delete manifest.scripts;
		fs.writeFileSync(manifestPath, JSON.stringify(manifest, null, 2));
		run(
			'npm',
			[
				'install',
				'--ignore-scripts=true',
				'--install-strategy=shallow',
				'--omit=dev',
				'--no-audit',
				'--no-fund',
				'--no-package-lock',
			],
			{ cwd: target, env: runtimeEnv(), quiet: true },
			'Check that the npm registry is reachable.',
		);
		// What n8n's installer keeps beside it: the nodes folder's own manifest.
		const nodesManifest = path.join(nodesDir, 'package.json');
		const m = fs.existsSync(nodesManifest)
			? JSON.parse(fs.readFileSync(nodesManifest, 'utf8'))
			: { name: 'installed-nodes', private: true, dependencies: {} };
		m.dependencies = { ...(m.dependencies || {}), [PKG.name]: PKG.version };
		fs.writeFileSync(nodesManifest, JSON.stringify(m, null, 2));
		fs.writeFileSync(stamp, hash);
		return target;
	} finally {
		fs.rmSync(work, { recursive: true, force: true });
	}
}

/** A free TCP port on loopback. */
function freePort() {
	return new Promise((resolve, reject) => {
		const s = net.createServer();
		s.unref();
		s.on('error', reject);
		s.listen(0, '127.0.0.1', () => {
			const { port } = s.address();
			s.close(() => resolve(port));
		});
	});
}

/**
 * Fails with a clear message when `port` is taken (another n8n, another app): n8n would otherwise
 * start, fail to listen, and a readiness check could be answered by the other process.
 */
function assertPortFree(port, host = '0.0.0.0') {
	return new Promise((resolve, reject) => {
		const s = net.createServer();
		s.unref();
		s.once('error', (e) =>
			reject(
				e && e.code === 'EADDRINUSE'
					? new Error(
							`Port ${port} is already in use by another process. Stop it, or start on another port: N8N_PORT=${port + 1} npm start`,
						)
					: e,
			),
		);
		s.listen(port, host, () => s.close(() => resolve()));
	});
}

/** Environment for an n8n process: its own user folder and ports, nothing phoning home. */
function n8nEnv({ userFolder, port, brokerPort, extra = {} }) {
	return runtimeEnv({
		N8N_USER_FOLDER: userFolder,
		N8N_PORT: String(port),
		N8N_LISTEN_ADDRESS: '127.0.0.1',
		N8N_HOST: 'localhost',
		N8N_RUNNERS_BROKER_PORT: String(brokerPort),
		N8N_DIAGNOSTICS_ENABLED: 'false',
		N8N_VERSION_NOTIFICATIONS_ENABLED: 'false',
		N8N_TEMPLATES_ENABLED: 'false',
		N8N_PERSONALIZATION_ENABLED: 'false',
		N8N_HIRING_BANNER_ENABLED: 'false',
		N8N_SECURE_COOKIE: 'false',
		N8N_COMMUNITY_PACKAGES_ENABLED: 'true',
		N8N_ENFORCE_SETTINGS_FILE_PERMISSIONS: 'false',
		N8N_LOG_LEVEL: 'warn',
		...extra,
	});
}

/** Runs an n8n CLI command to completion (import, publish, execute). */
function n8nCli(args, env, options = {}) {
	return run(NODE_BIN, [N8N_BIN, ...args], {
		env,
		cwd: ROOT,
		quiet: options.quiet !== false,
		timeout: options.timeout ?? 300_000,
	});
}

/**
 * Runs an n8n CLI command without blocking this process's event loop (needed when the command
 * calls servers that live in this process, e.g. a test's loopback mocks). Resolves with the
 * exit status and output; kills the command after `timeout` ms.
 */
function n8nCliAsync(args, env, { timeout = 300_000 } = {}) {
	return new Promise((resolve) => {
		const child = spawn(NODE_BIN, [N8N_BIN, ...args], {
			env,
			cwd: ROOT,
			stdio: ['ignore', 'pipe', 'pipe'],
		});
		let stdout = '';
		let stderr = '';
		child.stdout.on('data', (d) => (stdout += d));
		child.stderr.on('data', (d) => (stderr += d));
		const timer = setTimeout(() => child.kill('SIGKILL'), timeout);
		// 'close', not 'exit': the output pipes may still hold the last lines (the run's JSON) at exit.
		child.on('close', (status, signal) => {
			clearTimeout(timer);
			resolve({ status, signal, stdout, stderr });
		});
	});
}

/** Starts a long-running n8n process (start, worker, webhook). */
function spawnN8n(args, env, options = {}) {
	return spawn(NODE_BIN, [N8N_BIN, ...args], {
		env,
		cwd: ROOT,
		stdio: options.stdio ?? ['ignore', 'pipe', 'pipe'],
		detached: options.detached ?? false,
	});
}

/** Waits until GET url answers 200 (n8n's /healthz/readiness), or the process exits. */
async function waitForHttp(url, { timeoutMs = 180_000, child } = {}) {
	const start = Date.now();
	let exited = false;
	child?.once('exit', () => (exited = true));
	while (Date.now() - start < timeoutMs) {
		if (exited) fail(`n8n exited before ${url} answered`, 'Look at the n8n output above.');
		try {
			const res = await fetch(url);
			if (res.ok) return;
		} catch {
			// not listening yet
		}
		await new Promise((r) => setTimeout(r, 500));
	}
	fail(`${url} did not answer within ${Math.round(timeoutMs / 1000)} s`);
}

/** Template files with a stable id each (so a re-import updates instead of duplicating). */
function templatesWithIds(outDir, transform = (wf) => wf) {
	fs.mkdirSync(outDir, { recursive: true });
	const dir = path.join(ROOT, 'workflows');
	const ids = {};
	for (const f of fs.readdirSync(dir).filter((x) => x.endsWith('.json'))) {
		const wf = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
		wf.id = templateId(f);
		// The CLI importer creates each workflow's tags by name and trips over the second workflow
		// with the same tag (unique constraint); the editor's import keeps them.
		delete wf.tags;
		ids[f] = wf.id;
		fs.writeFileSync(path.join(outDir, f), JSON.stringify(transform(wf, f), null, 2));
	}
	return ids;
}

/** The Convergent Store credential every template is bound to (npm start and the Docker image create it). */
const STORE_CREDENTIAL = { id: 'store', name: 'Convergent Store' };

/**
 * A template as `npm start` and the Docker image's first start import it: its store steps bound
 * to the Convergent Store credential, and no provider credential ids (WhatsApp, Twilio, SMTP,
 * OpenAI...) that would not exist in that n8n: those nodes show "credential not set" instead.
 */
function bindTemplate(wf) {
	for (const node of wf.nodes) {
		if (!node.credentials) continue;
		for (const type of Object.keys(node.credentials)) {
			if (type === 'convergentStoreApi') node.credentials[type] = { ...STORE_CREDENTIAL };
			else delete node.credentials[type];
		}
		if (!Object.keys(node.credentials).length) delete node.credentials;
	}
	return wf;
}

/** n8n ids are 16-character nanoids; derive one from the file name. */
function templateId(file) {
	return `cm${crypto
		.createHash('sha256')
		.update(file)
		.digest('base64url')
		.replace(/[^A-Za-z0-9]/g, '')
		.slice(0, 14)}`;
}

module.exports = {
	ROOT,
	PKG,
	N8N_VERSION,
	NODE_VERSION,
	RUNTIME,
	NODE_BIN,
	N8N_BIN,
	ensureRuntime,
	installPackage,
	freePort,
	assertPortFree,
	n8nEnv,
	n8nCli,
	n8nCliAsync,
	spawnN8n,
	waitForHttp,
	templatesWithIds,
	templateId,
	bindTemplate,
	STORE_CREDENTIAL,
	runtimeEnv,
	log,
};
