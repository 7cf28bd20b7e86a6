/**
 * Embedded store backend: Node's built-in node:sqlite (no native addon to install), one file in
 * the n8n user folder, WAL, BEGIN IMMEDIATE for writes so reservations are atomic even when
 * several processes share the file.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { Mutex, type SqlDb, type SqlParam } from './db';

// node:sqlite is loaded lazily so that merely loading the package on an older Node does not fail.
type Statement = {
	all(...params: SqlParam[]): Record<string, unknown>[];
	run(...params: SqlParam[]): { changes: number | bigint };
};
type DatabaseSync = {
	prepare(sql: string): Statement;
	exec(sql: string): void;
	close(): void;
};

/** Where n8n keeps its data: N8N_USER_FOLDER (or the home folder), then `.n8n`. */
export function n8nUserFolder(): string {
	return path.join(process.env.N8N_USER_FOLDER ?? os.homedir(), '.n8n');
}

export function defaultSqlitePath(): string {
	return path.join(n8nUserFolder(), 'convergent-store.sqlite');
}

/** Kernel and device file systems: an SQLite file there hangs or corrupts, never works. */
const FORBIDDEN_ROOTS = ['/proc', '/sys', '/dev'];

/**
 * The Database File Path as a user writes it, made absolute and checked: empty = the default;
 * "~" and "~/x" = the home folder; a relative path is relative to the n8n user folder (not to
 * whatever folder n8n was started in). Throws an Error naming the path and what to do.
 */
export function resolveSqlitePath(input?: string): string {
	const raw = String(input ?? '').trim();
	if (!raw) return defaultSqlitePath();
	// eslint-disable-next-line no-control-regex
	if (/[\u0000-\u001f]/.test(raw) || raw.length > 1024)
		throw new Error(`Database File Path "${raw.slice(0, 80)}" is not a usable file path`);
	let resolved = raw === '~' || raw.startsWith('~/') ? path.join(os.homedir(), raw.slice(1)) : raw;
	resolved = path.resolve(n8nUserFolder(), resolved);
	const real = realParent(resolved);
	for (const root of FORBIDDEN_ROOTS) {
		if (real === root || real.startsWith(`${root}/`)) {
			throw new Error(
				`Database File Path ${resolved} is under ${root}, a system folder where no database can live. Use a file in the n8n user folder, e.g. ${defaultSqlitePath()}`,
			);
		}
	}
	if (fs.existsSync(resolved) && fs.statSync(resolved).isDirectory()) {
		throw new Error(
			`Database File Path ${resolved} is a folder. Give a file name, e.g. ${path.join(resolved, 'convergent-store.sqlite')}`,
		);
	}
	return resolved;
}

/** The path with its existing part resolved through symbolic links (so a link into /proc is caught). */
function realParent(p: string): string {
	let existing = p;
	const rest: string[] = [];
	while (!fs.existsSync(existing) && path.dirname(existing) !== existing) {
		rest.unshift(path.basename(existing));
		existing = path.dirname(existing);
	}
	try {
		return path.join(fs.realpathSync(existing), ...rest);
	} catch {
		return p;
	}
}

/**
 * `$1, $2...` -> SQLite parameters. When they appear once each in order (almost always), plain
 * `?`: node:sqlite binds numbered `?NNN` parameters of a long VALUES list ~10x slower.
 */
function toSqlite(sql: string): string {
	let expected = 1;
	let sequential = true;
	sql.replace(/\$(\d+)/g, (_m, n: string) => {
		if (Number(n) !== expected++) sequential = false;
		return '';
	});
	return sql.replace(/\$(\d+)/g, sequential ? '?' : '?$1');
}

export class SqliteDb implements SqlDb {
	readonly dialect = 'sqlite' as const;
	queryCount = 0;
	private readonly db: DatabaseSync;
	private readonly statements = new Map<string, Statement>();
	private readonly mutex = new Mutex();

	constructor(readonly file: string) {
		fs.mkdirSync(path.dirname(file), { recursive: true });
		// Loaded only when the embedded store is used, so a PostgreSQL-only setup never touches node:sqlite.
		// eslint-disable-next-line @typescript-eslint/no-require-imports
		const { DatabaseSync } = require('node:sqlite') as {
			DatabaseSync: new (f: string) => DatabaseSync;
		};
		this.db = new DatabaseSync(file);
		this.db.exec('PRAGMA busy_timeout = 10000');
		this.db.exec('PRAGMA journal_mode = WAL');
		this.db.exec('PRAGMA synchronous = NORMAL');
		this.db.exec('PRAGMA foreign_keys = ON');
		// A 100,000-item Check touches ~20 MB of index pages: keep them cached (up to 64 MB) and let
		// the WAL grow to ~40 MB before a checkpoint (each one syncs the file).
		this.db.exec('PRAGMA cache_size = -65536');
		this.db.exec('PRAGMA wal_autocheckpoint = 10000');
	}

	private prepare(sql: string): Statement {
		let stmt = this.statements.get(sql);
		if (!stmt) {
			stmt = this.db.prepare(toSqlite(sql));
			if (this.statements.size > 500) this.statements.clear();
			this.statements.set(sql, stmt);
		}
		return stmt;
	}

	async query<T = Record<string, unknown>>(sql: string, params: SqlParam[] = []): Promise<T[]> {
		this.queryCount++;
		return this.prepare(sql).all(...params.map(bind)) as T[];
	}

	/** Writes outside a transaction wait for any open one, so they never join it by accident. */
	async run(sql: string, params: SqlParam[] = []): Promise<{ changes: number }> {
		return await this.mutex.lock(async () => this.runNow(sql, params));
	}

	runNow(sql: string, params: SqlParam[]): { changes: number } {
		this.queryCount++;
		const r = this.prepare(sql).run(...params.map(bind));
		return { changes: Number(r.changes) };
	}

	async exec(sql: string): Promise<void> {
		await this.mutex.lock(async () => this.execNow(sql));
	}

	execNow(sql: string): void {
		this.queryCount++;
		this.db.exec(sql);
	}

	async transaction<T>(fn: (tx: SqlDb) => Promise<T>): Promise<T> {
		return await this.mutex.lock(async () => {
			this.db.exec('BEGIN IMMEDIATE');
			try {
				const result = await fn(new SqliteTx(this));
				this.db.exec('COMMIT');
				return result;
			} catch (error) {
				this.db.exec('ROLLBACK');
				throw error;
			}
		});
	}

	async close(): Promise<void> {
		this.statements.clear();
		this.db.close();
	}
}

function bind(value: SqlParam): SqlParam {
	return typeof value === 'boolean' ? (value ? 1 : 0) : value;
}

/** The handle a transaction's body uses: same connection, no mutex (it holds it already). */
class SqliteTx implements SqlDb {
	readonly dialect = 'sqlite' as const;

	constructor(private readonly db: SqliteDb) {}

	get queryCount() {
		return this.db.queryCount;
	}

	set queryCount(v: number) {
		this.db.queryCount = v;
	}

	async query<T = Record<string, unknown>>(sql: string, params: SqlParam[] = []): Promise<T[]> {
		return await this.db.query<T>(sql, params);
	}

	async run(sql: string, params: SqlParam[] = []): Promise<{ changes: number }> {
		return this.db.runNow(sql, params);
	}

	async exec(sql: string): Promise<void> {
		this.db.execNow(sql);
	}

	async transaction<T>(fn: (tx: SqlDb) => Promise<T>): Promise<T> {
		return await fn(this);
	}

	async close(): Promise<void> {}
}
