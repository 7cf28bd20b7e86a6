/**
 * Store factories for the contract suite: SQLite on a temp file, and PostgreSQL on the machine's
 * server (127.0.0.1:5432, trust auth, database "test") in a fresh schema per test file. When
 * PostgreSQL does not answer, the PostgreSQL half is skipped with a visible message.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { Client } from 'pg';

import { PostgresDb, type PostgresConfig } from '../../nodes/shared/store/postgres';
import { SqliteDb } from '../../nodes/shared/store/sqlite';
import { SqlStore } from '../../nodes/shared/store/sql-store';

export const PG_BASE: Omit<PostgresConfig, 'schema'> = {
	host: process.env.PGHOST ?? '127.0.0.1',
	port: Number(process.env.PGPORT ?? 5432),
	database: process.env.PGDATABASE ?? 'test',
	user: process.env.PGUSER ?? 'postgres',
	password: process.env.PGPASSWORD,
};

/** Set by test/setup/global-setup.js, which prints a visible warning when PostgreSQL is absent. */
export const PG_AVAILABLE = process.env.CM_PG_AVAILABLE === '1';

/** The backends to run a contract suite against (PostgreSQL only when it answers). */
export function backends(): Array<[string, () => Backend]> {
	const list: Array<[string, () => Backend]> = [['sqlite', sqliteBackend]];
	if (PG_AVAILABLE) list.push(['postgres', postgresBackend]);
	else
		console.warn(
			'PostgreSQL half of this suite SKIPPED: PostgreSQL is not reachable (see the warning above).',
		);
	return list;
}

export interface Backend {
	name: 'sqlite' | 'postgres';
	/** A new store (own connection) on the same database as the others of this backend. */
	open(): Promise<SqlStore>;
	cleanup(): Promise<void>;
	/** Plain config for child processes/workers. */
	config: { type: 'embedded'; path: string } | ({ type: 'postgres' } & PostgresConfig);
}

export function sqliteBackend(): Backend {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-store-'));
	const file = path.join(dir, 'store.sqlite');
	const opened: SqlStore[] = [];
	return {
		name: 'sqlite',
		config: { type: 'embedded', path: file },
		async open() {
			const store = new SqlStore(new SqliteDb(file));
			await store.init();
			opened.push(store);
			return store;
		},
		async cleanup() {
			await Promise.all(opened.map((s) => s.close().catch(() => {})));
			fs.rmSync(dir, { recursive: true, force: true });
		},
	};
}

export function postgresBackend(): Backend {
	const schema = `cm_test_${randomBytes(5).toString('hex')}`;
	const opened: SqlStore[] = [];
	const config = { ...PG_BASE, schema };
	return {
		name: 'postgres',
		config: { type: 'postgres', ...config },
		async open() {
			const store = new SqlStore(new PostgresDb(config), schema);
			await store.init();
			opened.push(store);
			return store;
		},
		async cleanup() {
			await Promise.all(opened.map((s) => s.close().catch(() => {})));
			await dropSchema(schema);
		},
	};
}

export async function dropSchema(schema: string): Promise<void> {
	const client = new Client(PG_BASE);
	await client.connect();
	await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
	await client.end();
}

/** The built store, for code running in a worker thread. */
export const STORE_MODULE = path.resolve(__dirname, '../../dist/nodes/shared/store/index.js');

/** Runs code in a worker thread (the built store as `workerData.storeModule`): its own connection, truly concurrent with the test's. */
export function inWorker(code: string, data: Record<string, unknown>): Promise<unknown> {
	return new Promise((resolve, reject) => {
		const w = new Worker(code, { eval: true, workerData: { storeModule: STORE_MODULE, ...data } });
		w.once('message', (m) => (m && m.error ? reject(new Error(m.error)) : resolve(m)));
		w.once('error', reject);
	});
}

/** A store of this backend, opened before the suite's tests and cleaned up after them: `const s = useStore(makeBackend)`, then `s().store`. */
export function useStore(makeBackend: () => Backend): () => { backend: Backend; store: SqlStore } {
	let opened: { backend: Backend; store: SqlStore } | undefined;
	beforeAll(async () => {
		const backend = makeBackend();
		opened = { backend, store: await backend.open() };
	});
	afterAll(async () => opened?.backend.cleanup());
	return () => opened!;
}
