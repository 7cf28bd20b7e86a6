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

/**
 * `column IN (...)` over a list, written once for both databases: on SQLite one parameter per value
 * (`IN ($2,$3,...)`); on PostgreSQL the whole list as one text array (`= ANY($2::text[])`), so
 * the server parses and plans one statement shape whatever the list's length. Append `params`
 * to the statement's parameters at position `start`.
 */
export function inList(
	db: Pick<SqlDb, 'dialect'>,
	values: SqlParam[],
	start = 1,
): { sql: string; params: SqlParam[] } {
	if (db.dialect === 'postgres')
		return { sql: `= ANY($${start}::text[])`, params: [values as unknown as SqlParam] };
	return { sql: `IN (${placeholders(values.length, start)})`, params: values };
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

/**
 * Inserts many rows in one statement. `tail` e.g. "ON CONFLICT (a) DO NOTHING". With `pgTypes`
 * (one PostgreSQL type per column), PostgreSQL gets one array per column through unnest: a fixed
 * handful of parameters instead of rows x width, which the server otherwise parses and plans anew
 * for every chunk. SQLite always takes a multi-row VALUES list.
 */
export async function insertRows(
	db: SqlDb,
	head: string,
	width: number,
	rows: SqlParam[][],
	tail = '',
	pgTypes?: string[],
): Promise<number> {
	if (rows.length === 0) return 0;
	if (db.dialect === 'postgres' && pgTypes) {
		const columns = pgTypes.map((type, c) => `$${c + 1}::${type}[]`).join(', ');
		const arrays = pgTypes.map((_, c) => rows.map((row) => row[c])) as unknown as SqlParam[];
		return (await db.run(`${head} SELECT * FROM unnest(${columns}) ${tail}`, arrays)).changes;
	}
	const r = await db.run(`${head} VALUES ${valuesList(rows.length, width)} ${tail}`, rows.flat());
	return r.changes;
}
