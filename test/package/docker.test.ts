/**
 * The self-hosting files in docker/: no Docker engine runs here, so they are parsed and checked
 * against package.json instead. The image must run the n8n version `npm start` and the end-to-end
 * tests pin, install this package under its own name the way n8n's Community Nodes installer does,
 * and the queue-mode stack must give every n8n process the same image and the same settings.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';

const ROOT = path.resolve(__dirname, '..', '..');
const DOCKER = path.join(ROOT, 'docker');
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));

/** The n8n version `npm start` pins (scripts/n8n-runtime.js reads config.n8nVersion). */
const N8N_VERSION: string = pkg.config?.n8nVersion ?? '2.40.7';
const IMAGE = `n8n-convergent-marketing:${N8N_VERSION}`;
const NODES_DIR = '/home/node/.n8n/nodes/node_modules/';

const majorMinor = (version: string) =>
	version
		.replace(/^[\^~]/, '')
		.split('.')
		.slice(0, 2)
		.join('.');
const read = (file: string) => fs.readFileSync(path.join(DOCKER, file), 'utf8');

type Instruction = { keyword: string; args: string };

/** Dockerfile instructions, continuation lines joined, comments dropped. */
function instructions(text: string): Instruction[] {
	const logical: string[] = [];
	let current = '';
	for (const line of text.split('\n')) {
		if (/^\s*#/.test(line)) continue;
		if (/\\\s*$/.test(line)) {
			current += line.replace(/\\\s*$/, ' ');
			continue;
		}
		current += line;
		if (current.trim()) logical.push(current.trim());
		current = '';
	}
	return logical.map((l) => {
		const [keyword, ...rest] = l.split(/\s+/);
		return { keyword: keyword.toUpperCase(), args: rest.join(' ') };
	});
}

type Service = {
	image?: string;
	build?: { context: string; dockerfile: string; args?: Record<string, unknown> };
	command?: string | string[];
	ports?: string[];
	volumes?: string[];
	environment?: Record<string, unknown>;
	depends_on?: Record<string, { condition: string }>;
	deploy?: { replicas?: number };
	healthcheck?: { test: string | string[] };
};
type Compose = { services: Record<string, Service>; volumes?: Record<string, unknown> };

// merge: Compose resolves YAML merge keys (<<: *anchor), so the test does too.
const compose = (file: string): Compose => parse(read(file), { merge: true }) as Compose;
const commandOf = (s: Service) =>
	Array.isArray(s.command) ? s.command.join(' ') : String(s.command ?? '');

describe('docker/Dockerfile', () => {
	const steps = instructions(read('Dockerfile'));
	const froms = steps.filter((s) => s.keyword === 'FROM');
	const packStage = steps.slice(0, steps.indexOf(froms[1]));
	const finalStage = steps.slice(steps.indexOf(froms[froms.length - 1]));
	const run = (stage: Instruction[]) =>
		stage
			.filter((s) => s.keyword === 'RUN')
			.map((s) => s.args)
			.join('\n');

	it('defaults N8N_VERSION to the n8n version npm start pins', () => {
		const firstFrom = steps.indexOf(froms[0]);
		const arg = steps
			.slice(0, firstFrom)
			.find((s) => s.keyword === 'ARG' && s.args.startsWith('N8N_VERSION='));
		expect(arg?.args).toBe(`N8N_VERSION=${N8N_VERSION}`);
		// The n8n libraries the tests load are the same n8n release line.
		expect(majorMinor(N8N_VERSION)).toBe(majorMinor(pkg.devDependencies['n8n-core']));
		expect(majorMinor(N8N_VERSION)).toBe('2.40');
	});

	it('packs in a Node stage and ends on the official n8n image at that version', () => {
		expect(froms).toHaveLength(2);
		expect(froms[0].args).toMatch(/^node:(\d+)-alpine AS pack$/);
		const nodeMajor = /^node:(\d+)/.exec(froms[0].args)![1];
		expect(nodeMajor).toBe(String(pkg.config?.n8nNodeVersion ?? '24').split('.')[0]);
		// Literally `${N8N_VERSION}`: the ARG above, not a value fixed in the FROM line.
		expect(froms[1].args).toBe('n8nio/n8n:${N8N_VERSION}');
	});

	it('copies everything npm run build reads', () => {
		expect(pkg.scripts.build).toBe('tsc -p tsconfig.build.json && gulp build:assets');
		const copied = packStage
			.filter((s) => s.keyword === 'COPY')
			.flatMap((s) =>
				s.args
					.split(/\s+/)
					.filter((a) => !a.startsWith('--'))
					.slice(0, -1),
			)
			.map((src) => src.replace(/\/$/, ''));
		const tsconfigBuild = JSON.parse(
			fs.readFileSync(path.join(ROOT, 'tsconfig.build.json'), 'utf8'),
		);
		const needed = [
			'package.json',
			'package-lock.json',
			'tsconfig.build.json',
			path.basename(tsconfigBuild.extends),
			'gulpfile.js',
			...(tsconfigBuild.include as string[]).map((glob) => glob.split('/')[0]),
			...(fs.existsSync(path.join(ROOT, 'icons')) ? ['icons'] : []),
		];
		expect(copied).toEqual(expect.arrayContaining(needed));
		for (const src of copied) expect(fs.existsSync(path.join(ROOT, src))).toBe(true);
		expect(run(packStage)).toMatch(/npm ci --ignore-scripts/);
		expect(run(packStage)).toMatch(/npm run build/);
		expect(run(packStage)).toMatch(/npm pack/);
	});

	it('installs the package under its own name like the Community Nodes installer', () => {
		const text = finalStage.map((s) => s.args).join('\n');
		const names = [
			...text.matchAll(new RegExp(`${NODES_DIR.replace(/\./g, '\\.')}([^\\s/"';]+)`, 'g')),
		].map((m) => m[1]);
		expect(names.length).toBeGreaterThan(0);
		expect(new Set(names)).toEqual(new Set([pkg.name]));
		expect(finalStage.filter((s) => s.keyword === 'USER').map((s) => s.args)).toEqual(['node']);
		const script = run(finalStage);
		expect(script).toMatch(/tar -xzf \S+ -C "?\$target"? --strip-components=1/);
		for (const field of ['devDependencies', 'peerDependencies', 'optionalDependencies']) {
			expect(script).toContain(`delete p.${field}`);
		}
		expect(script).toMatch(/npm install --omit=dev --ignore-scripts/);
	});
});

describe('docker/docker-compose.yml (one instance)', () => {
	const file = compose('docker-compose.yml');
	const n8n = file.services.n8n;

	it('builds the Dockerfile at the pinned n8n version', () => {
		expect(Object.keys(file.services)).toEqual(['n8n']);
		expect(n8n.build?.args?.N8N_VERSION).toBe(N8N_VERSION);
		expect(n8n.image).toBe(IMAGE);
		expect(fs.existsSync(path.resolve(DOCKER, n8n.build!.context, n8n.build!.dockerfile))).toBe(
			true,
		);
		expect(path.resolve(DOCKER, n8n.build!.context)).toBe(ROOT);
	});

	it('keeps the n8n user folder (and the embedded store) in a named volume', () => {
		const mounts = (n8n.volumes ?? []).map((v) => v.split(':'));
		expect(mounts).toContainEqual(['n8n_data', '/home/node/.n8n']);
		expect(file.volumes).toHaveProperty('n8n_data');
		expect(n8n.ports).toContain('5678:5678');
	});

	it('requires an encryption key and enables community packages', () => {
		expect(n8n.environment?.N8N_ENCRYPTION_KEY).toMatch(/^\$\{N8N_ENCRYPTION_KEY:\?[^}]+\}$/);
		expect(n8n.environment?.N8N_COMMUNITY_PACKAGES_ENABLED).toBe('true');
		expect(n8n.environment).toHaveProperty('GENERIC_TIMEZONE');
		expect(n8n.environment).toHaveProperty('WEBHOOK_URL');
	});
});

describe('docker/docker-compose.queue.yml (queue mode)', () => {
	const file = compose('docker-compose.queue.yml');
	const n8nNames = ['n8n-main', 'n8n-webhook', 'n8n-worker'];
	const n8nServices = n8nNames.map((name) => file.services[name]);

	it('has exactly PostgreSQL, Redis, main, webhook and worker', () => {
		expect(Object.keys(file.services).sort()).toEqual([
			'n8n-main',
			'n8n-webhook',
			'n8n-worker',
			'postgres',
			'redis',
		]);
	});

	it('runs every n8n process from one image at the pinned n8n version', () => {
		for (const service of n8nServices) {
			expect(service.image).toBe(IMAGE);
			expect(service.build?.args?.N8N_VERSION).toBe(N8N_VERSION);
			expect(service.build).toEqual(file.services['n8n-main'].build);
			expect(path.resolve(DOCKER, service.build!.context, service.build!.dockerfile)).toBe(
				path.join(DOCKER, 'Dockerfile'),
			);
		}
	});

	it('gives main, webhook and worker their roles', () => {
		expect(commandOf(file.services['n8n-main'])).toBe('start');
		expect(file.services['n8n-main'].ports).toContain('5678:5678');
		expect(commandOf(file.services['n8n-webhook'])).toBe('webhook');
		expect(commandOf(file.services['n8n-worker'])).toBe('worker --concurrency=10');
		expect(file.services['n8n-worker'].deploy?.replicas).toBe(2);
	});

	it('shares one queue-mode environment with the same encryption key', () => {
		const envs = n8nServices.map((s) => s.environment ?? {});
		for (const env of envs) expect(env).toEqual(envs[0]);
		const keys = new Set(envs.map((env) => env.N8N_ENCRYPTION_KEY));
		expect(keys.size).toBe(1);
		expect([...keys][0]).toMatch(/^\$\{N8N_ENCRYPTION_KEY:\?[^}]+\}$/);
		for (const env of envs) {
			expect(env.EXECUTIONS_MODE).toBe('queue');
			expect(env.DB_TYPE).toBe('postgresdb');
			expect(env.DB_POSTGRESDB_HOST).toBe('postgres');
			expect(env.QUEUE_BULL_REDIS_HOST).toBe('redis');
			expect(String(env.QUEUE_BULL_REDIS_PORT)).toBe('6379');
			expect(env.OFFLOAD_MANUAL_EXECUTIONS_TO_WORKERS).toBe('true');
			expect(env).toHaveProperty('WEBHOOK_URL');
		}
	});

	it('points n8n at the PostgreSQL service it starts, once it is healthy', () => {
		const pg = file.services.postgres;
		const env = n8nServices[0].environment ?? {};
		expect(pg.image).toBe('postgres:16');
		expect(env.DB_POSTGRESDB_DATABASE).toBe('n8n');
		expect(pg.environment?.POSTGRES_DB).toBe(env.DB_POSTGRESDB_DATABASE);
		expect(pg.environment?.POSTGRES_USER).toBe(env.DB_POSTGRESDB_USER);
		expect(pg.environment?.POSTGRES_PASSWORD).toBe(env.DB_POSTGRESDB_PASSWORD);
		expect(String(pg.healthcheck?.test)).toContain('pg_isready');
		expect(file.services.redis.image).toBe('redis:7');
		expect(file.services.redis.healthcheck?.test).toEqual(['CMD', 'redis-cli', 'ping']);
		for (const service of n8nServices) {
			expect(service.depends_on?.postgres?.condition).toBe('service_healthy');
			expect(service.depends_on?.redis?.condition).toBe('service_healthy');
		}
	});

	it('creates the shared Convergent store database on first start', () => {
		const init = (file.services.postgres.volumes ?? []).find((v) =>
			v.includes('/docker-entrypoint-initdb.d/'),
		);
		expect(init).toBeDefined();
		const source = path.resolve(DOCKER, init!.split(':')[0]);
		expect(source).toBe(path.join(DOCKER, 'postgres-init.sql'));
		expect(fs.readFileSync(source, 'utf8')).toMatch(/^CREATE DATABASE convergent;$/m);
	});
});

describe('docker/ as a whole', () => {
	it('names the same image tag everywhere, and the README the same build command', () => {
		const texts = ['Dockerfile', 'docker-compose.yml', 'docker-compose.queue.yml', 'README.md'].map(
			read,
		);
		const tags = texts.flatMap((t) =>
			[...t.matchAll(/n8n-convergent-marketing:([\w.-]+)/g)].map((m) => m[1]),
		);
		expect(tags.length).toBeGreaterThan(0);
		expect(new Set(tags)).toEqual(new Set([N8N_VERSION]));
		expect(read('README.md')).toContain('docker build -f docker/Dockerfile');
	});
});

describe('.dockerignore', () => {
	it('sits at the build context (the repository root) and keeps the n8n cache, node_modules and dist out of it', () => {
		const ignore = fs
			.readFileSync(path.join(ROOT, '.dockerignore'), 'utf8')
			.split('\n')
			.map((l) => l.trim())
			.filter((l) => l && !l.startsWith('#'));
		expect(ignore).toEqual(expect.arrayContaining(['.cache', 'node_modules', 'dist']));
		// Nothing the Dockerfile copies is ignored.
		for (const copied of [
			'package.json',
			'package-lock.json',
			'.npmrc',
			'tsconfig.json',
			'tsconfig.build.json',
			'gulpfile.js',
			'icons',
			'credentials',
			'nodes',
			'scripts',
			'workflows',
			'docker',
		])
			expect(ignore).not.toContain(copied);
	});
});
