/**
 * The minimal SQL layer both store implementations share. SQL is written once with `$1, $2`
 * placeholders (PostgreSQL style); the SQLite adapter rewrites them to `?1, ?2`.
 * Every statement run is counted, so tests can prove a batch costs O(n / chunk) queries.
 */
export type Dialect = 'sqlite' | 'postgres';
export type SqlParam = string | number | bigint | null | boolean;

export interface SqlDb {
	readonly dialect: Dialect;
	/** Statements run so far (instrumentation for the batching tests and benchmarks). */
	queryCount: number;
	query<T = Record<string, unknown>>(sql: string, params?: SqlParam[]): Promise<T[]>;
	run(sql: string, params?: SqlParam[]): Promise<{ changes: number }>;
	exec(sql: string): Promise<void>;
	/** A write transaction: atomic, and serialised against other writers (other processes too). */
	transaction<T>(fn: (tx: SqlDb) => Promise<T>): Promise<T>;
	close(): Promise<void>;
}

/** `($1,$2,$3),($4,$5,$6)` for rows of `width` values, numbering from `start`. */
export function valuesList(rows: number, width: number, start = 1): string {
	const out: string[] = [];
	let n = start;
	for (let r = 0; r < rows; r++) {
		const cols: string[] = [];
		for (let c = 0; c < width; c++) cols.push(`$${n++}`);
		out.push(`(${cols.join(',')})`);
	}
	return out.join(',');
}

/** `$1,$2,...,$n` numbering from `start`. */
export function placeholders(count: number, start = 1): string {
	return Array.from({ length: count }, (_, i) => `$${start + i}`).join(',');
}

export function chunks<T>(list: T[], size: number): T[][] {
	const out: T[][] = [];
	for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
	return out;
}

/** A FIFO async mutex: one transaction at a time on a connection. */
export class Mutex {
	private tail: Promise<void> = Promise.resolve();

	async lock<T>(fn: () => Promise<T>): Promise<T> {
		let release!: () => void;
		const previous = this.tail;
		this.tail = new Promise<void>((r) => (release = r));
		await previous;
		try {
			return await fn();
		} finally {
			release();
		}
	}
}

/** Inserts many rows in one multi-row VALUES statement. `tail` e.g. "ON CONFLICT (a) DO NOTHING". */
export async function insertRows(db: SqlDb, head: string, width: number, rows: SqlParam[][], tail = ''): Promise<number> {
	if (rows.length === 0) return 0;
	const r = await db.run(`${head} VALUES ${valuesList(rows.length, width)} ${tail}`, rows.flat());
	return r.changes;
}
