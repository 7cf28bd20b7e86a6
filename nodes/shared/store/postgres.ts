/**
 * PostgreSQL store backend (pg): for n8n queue mode, where several workers share one store.
 * int8 columns come back as numbers (epoch ms fit) through a per-pool type parser, so the
 * global pg parser n8n itself may rely on is left alone.
 */
import { Pool, types, type PoolClient, type PoolConfig } from 'pg';

import type { SqlDb, SqlParam } from './db';

export interface PostgresConfig {
	host: string;
	port: number;
	database: string;
	user: string;
	password?: string;
	ssl?: boolean;
	/** PEM CA certificate(s) to verify the server with (default: the system's). */
	sslCa?: string;
	/** Encrypt without verifying the server (explicit opt-in). */
	sslAllowSelfSigned?: boolean;
	schema?: string;
	max?: number;
}

const typeParser = {
	getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
		oid === 20 ? (v: string) => Number(v) : types.getTypeParser(oid, format as 'text')) as never,
};

export function quoteIdent(name: string): string {
	if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(name)) {
		throw new Error(
			`Schema "${name}" is not a valid PostgreSQL identifier: use letters, digits and _`,
		);
	}
	return `"${name}"`;
}

/** TLS for the pool: the server certificate is verified unless the user explicitly allows self-signed. */
export function sslOptions(config: PostgresConfig): PoolConfig['ssl'] {
	if (!config.ssl) return undefined;
	return {
		rejectUnauthorized: config.sslAllowSelfSigned !== true,
		...(config.sslCa && config.sslCa.trim() ? { ca: config.sslCa } : {}),
	};
}

/**
 * No sequential scan where an index serves, SET on every new connection before its first query.
 * Every statement of the store looks rows up by an index (a key, a person, a window); the planner
 * otherwise picks a scan whenever its statistics say a table is small or empty (a new store, after
 * a truncate or a bulk load, before autovacuum), and a list of a few thousand keys looks cheaper to
 * scan for. With this it still scans where no index serves. A SET, not a startup option, so a
 * pooler that refuses startup options (PgBouncer) still connects; a pooler that drops it only
 * changes plans. The schema stays a startup option: a pooler that cannot keep it refuses the
 * connection rather than let the store read another schema's consent.
 */
const PLAN_BY_INDEX = 'SET enable_seqscan = off';

abstract class PgBase implements SqlDb {
	readonly dialect = 'postgres' as const;
	abstract queryCount: number;
	protected abstract exec_(
		sql: string,
		params: SqlParam[],
	): Promise<{ rows: unknown[]; rowCount: number | null }>;

	async query<T = Record<string, unknown>>(sql: string, params: SqlParam[] = []): Promise<T[]> {
		return (await this.exec_(sql, params)).rows as T[];
	}

	async run(sql: string, params: SqlParam[] = []): Promise<{ changes: number }> {
		return { changes: (await this.exec_(sql, params)).rowCount ?? 0 };
	}

	async exec(sql: string): Promise<void> {
		await this.exec_(sql, []);
	}

	abstract transaction<T>(fn: (tx: SqlDb) => Promise<T>): Promise<T>;
	abstract close(): Promise<void>;
}

class PgTx extends PgBase {
	constructor(
		private readonly client: PoolClient,
		private readonly parent: PostgresDb,
	) {
		super();
	}

	get queryCount() {
		return this.parent.queryCount;
	}

	set queryCount(v: number) {
		this.parent.queryCount = v;
	}

	protected async exec_(sql: string, params: SqlParam[]) {
		this.parent.queryCount++;
		return await this.client.query(sql, params);
	}

	async transaction<T>(fn: (tx: SqlDb) => Promise<T>): Promise<T> {
		return await fn(this);
	}

	async close(): Promise<void> {}
}

export class PostgresDb extends PgBase {
	queryCount = 0;
	readonly pool: Pool;

	constructor(readonly config: PostgresConfig) {
		super();
		const poolConfig: PoolConfig = {
			host: config.host,
			port: config.port,
			database: config.database,
			user: config.user,
			password: config.password || undefined,
			ssl: sslOptions(config),
			max: config.max ?? 5,
			connectionTimeoutMillis: 10000,
			// The schema is set for every connection at connect time, before any query runs.
			options: config.schema ? `-c search_path=${quoteIdent(config.schema)}` : undefined,
			types: typeParser,
		};
		this.pool = new Pool(poolConfig);
		// An idle client that errors (server restart) must not crash the n8n process.
		this.pool.on('error', () => {});
		// Queued before anything the pool's user sends on this connection.
		this.pool.on('connect', (client) => {
			client.query(PLAN_BY_INDEX).catch(() => {});
		});
	}

	protected async exec_(sql: string, params: SqlParam[]) {
		this.queryCount++;
		return await this.pool.query(sql, params);
	}

	async transaction<T>(fn: (tx: SqlDb) => Promise<T>): Promise<T> {
		const client = await this.pool.connect();
		try {
			await client.query('BEGIN');
			const result = await fn(new PgTx(client, this));
			await client.query('COMMIT');
			return result;
		} catch (error) {
			await client.query('ROLLBACK').catch(() => {});
			throw error;
		} finally {
			client.release();
		}
	}

	async close(): Promise<void> {
		await this.pool.end();
	}
}
