/**
 * `npm start`: n8n 2.x on http://localhost:5678 with this package installed as a community
 * package, the templates imported, n8n's embedded SQLite DB and the embedded Convergent store.
 * Everything lives in .cache/ (n8n + Node 24 once, the n8n user folder in .cache/n8n-home).
 * Environment: N8N_PORT (default 5678), N8N_USER_FOLDER (default .cache/n8n-home).
 */
'use strict';

const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const rt = require('./n8n-runtime');

const { STORE_CREDENTIAL } = rt;

async function main() {
	const port = Number(process.env.N8N_PORT || 5678);
	await rt.assertPortFree(port);
	const userFolder = path.resolve(
		process.env.N8N_USER_FOLDER || path.join(rt.ROOT, '.cache', 'n8n-home'),
	);
	await rt.ensureRuntime();
	rt.installPackage(userFolder);
	const env = rt.n8nEnv({ userFolder, port, brokerPort: await rt.freePort() });

	// The embedded Convergent Store credential every template uses, created once with the id the
	// templates reference: a template opens and runs its store steps with no credential to set up.
	const storeStamp = path.join(userFolder, '.store-credential');
	if (!fs.existsSync(storeStamp)) {
		const credFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cm-cred-')), 'store.json');
		fs.writeFileSync(
			credFile,
			JSON.stringify([
				{
					id: STORE_CREDENTIAL.id,
					name: STORE_CREDENTIAL.name,
					type: 'convergentStoreApi',
					data: { storageType: 'embedded', databasePath: '' },
				},
			]),
		);
		rt.n8nCli(['import:credentials', `--input=${credFile}`], env);
		fs.rmSync(path.dirname(credFile), { recursive: true, force: true });
		fs.writeFileSync(storeStamp, new Date().toISOString());
		rt.log(
			'Created the "Convergent Store" credential (embedded SQLite store in the n8n folder) for the templates.',
		);
	}

	// Import the templates that are new or changed since the last start (stable ids: updates, no duplicates).
	const stampFile = path.join(userFolder, '.imported-templates.json');
	const stamp = fs.existsSync(stampFile) ? JSON.parse(fs.readFileSync(stampFile, 'utf8')) : {};
	const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-templates-'));
	const changed = {};
	rt.templatesWithIds(tmp, (wf, file) => {
		rt.bindTemplate(wf);
		const hash = crypto.createHash('sha256').update(JSON.stringify(wf)).digest('hex');
		if (stamp[file] !== hash) changed[file] = hash;
		return wf;
	});
	for (const f of fs.readdirSync(tmp)) if (!changed[f]) fs.rmSync(path.join(tmp, f));
	if (Object.keys(changed).length) {
		rt.log(`Importing ${Object.keys(changed).length} template(s) from workflows/...`);
		rt.n8nCli(['import:workflow', '--separate', `--input=${tmp}`], env);
		fs.writeFileSync(stampFile, JSON.stringify({ ...stamp, ...changed }, null, 2));
	}
	fs.rmSync(tmp, { recursive: true, force: true });

	rt.log(
		`Starting n8n ${rt.N8N_VERSION} on http://localhost:${port} (user folder ${userFolder}). Ctrl+C stops it.`,
	);
	const child = rt.spawnN8n(
		['start'],
		{ ...env, N8N_LOG_LEVEL: process.env.N8N_LOG_LEVEL || 'info' },
		{ stdio: 'inherit' },
	);
	const stop = (signal) => child.kill(signal);
	process.on('SIGINT', stop);
	process.on('SIGTERM', stop);
	rt.waitForHttp(`http://127.0.0.1:${port}/healthz/readiness`, { child, timeoutMs: 300_000 })
		.then(() =>
			rt.log(
				`Ready: open http://localhost:${port} (the first visit creates the owner account). The templates are under Workflows; search the nodes panel for Consent Guard, Touchpoint, Audience Segment, AI Content, Journey or Conversational Form.`,
			),
		)
		.catch((e) => rt.log(e.message));
	child.on('exit', (code) => process.exit(code ?? 0));
}

main().catch((e) => {
	process.stderr.write(`\nnpm start failed: ${e.message}\n`);
	process.exit(1);
});
