/**
 * What the database plans for every statement a piece of the store runs: the statements are
 * recorded as they run (reads and writes, in transactions or not), then each is explained with
 * its own parameters. A "scan" is a read of a whole table (PostgreSQL's Seq Scan; SQLite's SCAN of
 * a table or of a whole index), which costs the table's size instead of the rows asked for.
 * Used by test/store/plans.test.ts and by the history benchmark (through the bench build).
 */
import type { SqlDb, SqlParam } from '../../nodes/shared/store/db';

export interface Statement {
	sql: string;
	params: SqlParam[];
}

type Patchable = Record<string, unknown>;

/** Replaces `obj[name]` with a function that records the statement, for the time of `fn`. */
function patch(obj: Patchable, name: string, seen: Statement[]): () => void {
	const had = Object.prototype.hasOwnProperty.call(obj, name);
	const original = obj[name] as (sql: string, params?: SqlParam[]) => unknown;
	obj[name] = function (this: unknown, sql: string, params: SqlParam[] = []) {
		if (/^\s*(SELECT|INSERT|UPDATE|DELETE|WITH)\b/i.test(sql)) seen.push({ sql, params });
		return original.call(this, sql, params);
	};
	return () => {
		if (had) obj[name] = original;
		else delete obj[name];
	};
}

/** Runs `fn` and returns every data statement the store ran meanwhile, each once (by its text). */
export async function recordStatements(
	db: SqlDb,
	fn: () => Promise<unknown>,
): Promise<Statement[]> {
	const seen: Statement[] = [];
	const target = db as unknown as Patchable;
	const undo: Array<() => void> = [];
	if (db.dialect === 'sqlite') {
		// A transaction's handle calls the connection's own query and runNow.
		undo.push(patch(target, 'query', seen), patch(target, 'runNow', seen));
	} else {
		undo.push(patch(target, 'exec_', seen));
		const transaction = db.transaction.bind(db);
		target.transaction = async (body: (tx: SqlDb) => Promise<unknown>) =>
			await transaction(async (tx) => {
				const restore = patch(tx as unknown as Patchable, 'exec_', seen);
				try {
					return await body(tx);
				} finally {
					restore();
				}
			});
		undo.push(() => delete target.transaction);
	}
	try {
		await fn();
	} finally {
		for (const u of undo.reverse()) u();
	}
	const unique = new Map<string, Statement>();
	for (const s of seen) if (!unique.has(s.sql)) unique.set(s.sql, s);
	return [...unique.values()];
}

interface PgPlan {
	'Node Type': string;
	'Relation Name'?: string;
	Plans?: PgPlan[];
}

function pgScans(plan: PgPlan, out: string[] = []): string[] {
	if (plan['Node Type'] === 'Seq Scan') out.push(`Seq Scan on ${plan['Relation Name']}`);
	for (const p of plan.Plans ?? []) pgScans(p, out);
	return out;
}

/** The whole-table reads in the statement's plan (empty when every table is read by an index). */
export async function scansOf(db: SqlDb, statement: Statement): Promise<string[]> {
	if (db.dialect === 'postgres') {
		const [row] = await db.query<{ 'QUERY PLAN': Array<{ Plan: PgPlan }> }>(
			`EXPLAIN (FORMAT JSON) ${statement.sql}`,
			statement.params,
		);
		return pgScans(row['QUERY PLAN'][0].Plan);
	}
	const rows = await db.query<{ detail: string }>(
		`EXPLAIN QUERY PLAN ${statement.sql}`,
		statement.params,
	);
	// "SCAN t" reads a table, "SCAN t USING [COVERING] INDEX i" a whole index; a scan of a list of
	// values, a subquery's result or a constant row reads nothing stored, and a probe that stops at
	// its first row ("is there any?": LIMIT 1, nothing to filter, group or sort) reads one row.
	if (/\bLIMIT 1\s*$/i.test(statement.sql) && !/\b(WHERE|GROUP BY|ORDER BY)\b/i.test(statement.sql))
		return [];
	return rows
		.map((r) => r.detail)
		.filter(
			(d) =>
				/^SCAN /.test(d) &&
				!/^SCAN (CONSTANT ROW|\(|\d+-ROW VALUES CLAUSE|.*VIRTUAL TABLE)/.test(d),
		);
}

/** Every statement with a scan in its plan, with the scans: what a test or a benchmark reports. */
export async function statementsThatScan(
	db: SqlDb,
	statements: Statement[],
): Promise<Array<{ sql: string; scans: string[] }>> {
	const out: Array<{ sql: string; scans: string[] }> = [];
	for (const s of statements) {
		const scans = await scansOf(db, s);
		if (scans.length) out.push({ sql: s.sql.replace(/\s+/g, ' ').slice(0, 240), scans });
	}
	return out;
}
