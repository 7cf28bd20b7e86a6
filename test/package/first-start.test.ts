/**
 * The Docker image's first start (docker/first-start.sh, run with stand-ins for n8n and n8n's own
 * entrypoint: no Docker engine here) and the templates the image ships (scripts/docker-templates.js):
 * the main instance creates the Convergent Store credential and imports the templates bound to it
 * once; workers and webhook processors never import; the command always reaches n8n unchanged.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');

function sandbox() {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-first-start-'));
	const bin = path.join(dir, 'bin');
	fs.mkdirSync(bin);
	const log = path.join(dir, 'calls.log');
	// Stand-in n8n: records its arguments and, for import:credentials, the credential file.
	fs.writeFileSync(
		path.join(bin, 'n8n'),
		`#!/bin/sh\necho "n8n $*" >> "${log}"\ncase "$1" in import:credentials) cat "\${2#--input=}" >> "${log}"; echo >> "${log}";; esac\n`,
		{ mode: 0o755 },
	);
	const next = path.join(dir, 'entrypoint.sh');
	fs.writeFileSync(next, `#!/bin/sh\necho "entrypoint $*" >> "${log}"\n`, { mode: 0o755 });
	const home = path.join(dir, 'home');
	fs.mkdirSync(home);
	const templates = path.join(dir, 'convergent', 'templates');
	execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'docker-templates.js'), templates]);
	const run = (args: string[], env: Record<string, string> = {}) => {
		execFileSync('sh', [path.join(ROOT, 'docker', 'first-start.sh'), ...args], {
			env: {
				PATH: `${bin}:${path.dirname(process.execPath)}:/usr/bin:/bin`,
				HOME: home,
				CONVERGENT_HOME: path.join(dir, 'convergent'),
				CONVERGENT_NEXT_ENTRYPOINT: next,
				...env,
			},
			stdio: 'pipe',
		});
		const calls = fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '';
		fs.rmSync(log, { force: true });
		return calls;
	};
	return { run, templates, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

describe('Docker image first start', () => {
	it('ships every template bound to the Convergent Store credential, without provider credential ids', () => {
		const s = sandbox();
		try {
			const files = fs.readdirSync(s.templates);
			expect(files.sort()).toEqual(
				fs
					.readdirSync(path.join(ROOT, 'workflows'))
					.filter((f) => f.endsWith('.json'))
					.sort(),
			);
			for (const f of files) {
				const wf = JSON.parse(fs.readFileSync(path.join(s.templates, f), 'utf8'));
				expect(wf.id).toMatch(/^cm[A-Za-z0-9]{14}$/);
				const refs = wf.nodes.flatMap((n: { credentials?: Record<string, { id: string }> }) =>
					Object.entries(n.credentials ?? {}),
				);
				expect(refs.filter(([type]: [string]) => type !== 'convergentStoreApi')).toEqual([]);
				expect(refs.every(([, ref]: [string, { id: string }]) => ref.id === 'store')).toBe(true);
			}
		} finally {
			s.cleanup();
		}
	});

	it('the main instance imports the embedded store credential and the templates once, then starts n8n', () => {
		const s = sandbox();
		try {
			const first = s.run([]);
			expect(first).toContain('n8n import:credentials --input=');
			expect(first).toContain(
				'"type":"convergentStoreApi","data":{"storageType":"embedded","databasePath":""}',
			);
			expect(first).toContain(`n8n import:workflow --separate --input=${s.templates}`);
			expect(first.trim().split('\n').at(-1)).toBe('entrypoint');
			// Second start: nothing imported again (a marketer's edits are never overwritten).
			expect(s.run(['start'])).toBe('entrypoint start\n');
		} finally {
			s.cleanup();
		}
	});

	it('queue mode: the credential points at the shared PostgreSQL store; workers and webhook processors never import', () => {
		const s = sandbox();
		try {
			const env = {
				CONVERGENT_STORE_HOST: 'postgres',
				CONVERGENT_STORE_DATABASE: 'convergent',
				CONVERGENT_STORE_USER: 'n8n',
				CONVERGENT_STORE_PASSWORD: 'pw',
			};
			expect(s.run(['worker', '--concurrency=10'], env)).toBe(
				'entrypoint worker --concurrency=10\n',
			);
			expect(s.run(['webhook'], env)).toBe('entrypoint webhook\n');
			const main = s.run(['start'], env);
			expect(main).toContain(
				'"data":{"storageType":"postgres","host":"postgres","port":5432,"database":"convergent","user":"n8n","password":"pw","ssl":false,"schema":""}',
			);
			expect(main.trim().split('\n').at(-1)).toBe('entrypoint start');
			expect(s.run(['start'], { CONVERGENT_FIRST_START: 'false' })).toBe('entrypoint start\n');
		} finally {
			s.cleanup();
		}
	});
});
