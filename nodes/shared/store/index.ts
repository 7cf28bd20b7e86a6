/**
 * openStore(config): the Convergent store a node uses, initialised (migrated) once per process
 * and cached per configuration, so nodes can call it on every execution at no cost.
 */
import { createHash } from 'node:crypto';

import type { ICredentialDataDecryptedObject } from 'n8n-workflow';

import { PostgresDb, type PostgresConfig } from './postgres';
import { SqlStore } from './sql-store';
import { SqliteDb, defaultSqlitePath, resolveSqlitePath } from './sqlite';
import type { Store } from './types';

export type StoreConfig =
	| { type: 'embedded'; path?: string }
	| ({ type: 'postgres' } & PostgresConfig);

const open = new Map<string, Promise<SqlStore>>();

function cacheKey(config: StoreConfig): string {
	if (config.type === 'embedded') {
		try {
			return `sqlite:${resolveSqlitePath(config.path)}`;
		} catch {
			return `sqlite:${config.path}`;
		}
	}
	const tls = config.ssl
		? `ssl:${config.sslAllowSelfSigned ? 'unverified' : 'verified'}:${config.sslCa ? createHash('sha256').update(config.sslCa).digest('hex').slice(0, 16) : ''}`
		: '';
	return `pg:${config.user}@${config.host}:${config.port}/${config.database}/${config.schema ?? ''}/${tls}`;
}

/** A message that says what to check, and never includes the password. */
// n8n rewrites any error message that mentions a Node.js error code (ECONNREFUSED, EACCES...)
// into a generic sentence, losing the host, port or path: say it in words instead.
const ERROR_WORDS: Record<string, string> = {
	ECONNREFUSED: 'the connection was refused (nothing listens there)',
	ENOTFOUND: 'the host name was not found',
	EAI_AGAIN: 'the host name could not be looked up',
	ETIMEDOUT: 'the connection timed out',
	ECONNRESET: 'the server closed the connection',
	EHOSTUNREACH: 'the host is unreachable',
	ENETUNREACH: 'the network is unreachable',
	ECONNABORTED: 'the connection was aborted',
	EADDRNOTAVAIL: 'the address is not available',
	EPIPE: 'the connection broke',
	ENOENT: 'no such file or folder',
	EISDIR: 'it is a folder, not a file',
	ENOTDIR: 'a part of the path is a file, not a folder',
	EACCES: 'permission denied',
	EPERM: 'operation not permitted',
	EEXIST: 'it already exists',
	EROFS: 'the file system is read-only',
};

export function describeConnectionError(config: StoreConfig, error: unknown): string {
	// Node's file errors read "EACCES: permission denied, open '/x'": the words are there already.
	let reason = ((error as Error)?.message ?? String(error))
		.replace(/^[A-Z_]{4,}: /, '')
		.replace(/\bgetaddrinfo\s+/gi, '');
	for (const [c, words] of Object.entries(ERROR_WORDS))
		reason = reason.replace(new RegExp(`\\b${c}\\b`, 'gi'), words);
	if (config.type === 'embedded') {
		return `Could not open the embedded Convergent store at ${config.path || defaultSqlitePath()}: ${reason}. Check Database File Path in the Convergent Store credential: a file in a folder n8n can write to.`;
	}
	const safe = config.password ? reason.split(config.password).join('***') : reason;
	return `Could not connect to PostgreSQL at ${config.host}:${config.port} (database "${config.database}", user "${config.user}"): ${safe}. Check Host, Port, Database, User and Password in the Convergent Store credential.`;
}

/** SQLite's "database is locked" past its busy timeout: another process (a second n8n, a worker) held the file. */
const isLocked = (error: unknown) =>
	/database is locked|SQLITE_BUSY/i.test(String((error as Error)?.message ?? error));

export async function openStore(config: StoreConfig = { type: 'embedded' }): Promise<Store> {
	const key = cacheKey(config);
	let pending = open.get(key);
	if (!pending) {
		pending = (async () => {
			// Two processes opening a new embedded store at once both migrate it; the one that waited
			// past SQLite's busy timeout (a loaded machine) tries again rather than failing the node.
			for (let attempt = 1; ; attempt++) {
				let db: SqliteDb | PostgresDb;
				try {
					db =
						config.type === 'embedded'
							? new SqliteDb(resolveSqlitePath(config.path))
							: new PostgresDb(config);
				} catch (error) {
					if (config.type === 'embedded' && isLocked(error) && attempt < 3) continue;
					throw new Error(describeConnectionError(config, error));
				}
				const store = new SqlStore(db, config.type === 'postgres' ? config.schema : undefined);
				try {
					await store.init();
				} catch (error) {
					await db.close().catch(() => {});
					if (config.type === 'embedded' && isLocked(error) && attempt < 3) {
						await new Promise((r) => setTimeout(r, 200 * attempt));
						continue;
					}
					throw new Error(describeConnectionError(config, error));
				}
				return store;
			}
		})();
		open.set(key, pending);
		pending.catch(() => open.delete(key));
	}
	return await pending;
}

/** Closes every cached store (tests, shutdown). */
export async function closeAllStores(): Promise<void> {
	const all = [...open.values()];
	open.clear();
	await Promise.all(all.map(async (p) => (await p.catch(() => undefined))?.close()));
}

/** Turns the "Convergent Store" credential's data into a StoreConfig. */
export function storeConfigFromCredential(
	data: ICredentialDataDecryptedObject | undefined,
): StoreConfig {
	if (!data || data.storageType !== 'postgres') {
		const path = typeof data?.databasePath === 'string' ? data.databasePath.trim() : '';
		return { type: 'embedded', path: path || undefined };
	}
	return {
		type: 'postgres',
		host: String(data.host ?? 'localhost'),
		port: Number(data.port ?? 5432),
		database: String(data.database ?? 'postgres'),
		user: String(data.user ?? 'postgres'),
		password: typeof data.password === 'string' ? data.password : undefined,
		ssl: data.ssl === true,
		sslCa: typeof data.sslCa === 'string' && data.sslCa.trim() ? data.sslCa : undefined,
		sslAllowSelfSigned: data.sslAllowSelfSigned === true,
		schema: typeof data.schema === 'string' && data.schema.trim() ? data.schema.trim() : undefined,
	};
}

/** Keep Send Detail (Months) of the credential (13 without one), in ms; undefined keeps everything. */
export function keepSendDetailMs(
	data: ICredentialDataDecryptedObject | undefined,
): number | undefined {
	const raw = data?.keepSendDetailMonths;
	const months = raw === undefined || raw === null || raw === '' ? 13 : Number(raw);
	if (!Number.isFinite(months) || months <= 0) return undefined;
	return Math.round(months * 30.44 * 86_400_000);
}

export { SqlStore } from './sql-store';
export type { Store } from './types';
