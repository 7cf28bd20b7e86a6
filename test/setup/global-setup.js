// Runs once before all suites: refuses an old Node, and finds out whether PostgreSQL answers,
// so the store contract suite runs its PostgreSQL half or says loudly that it skips it.
const { Client } = require('pg');

module.exports = async () => {
	const major = Number(process.versions.node.split('.')[0]);
	if (major < 24) {
		throw new Error(
			`Tests need Node >= 24 (n8n 2.x and node:sqlite); this is ${process.version}. ` +
				"Run them through npm (npm test), which puts the project's own Node 24 first on PATH.",
		);
	}
	const config = {
		host: process.env.PGHOST || '127.0.0.1',
		port: Number(process.env.PGPORT || 5432),
		database: process.env.PGDATABASE || 'test',
		user: process.env.PGUSER || 'postgres',
		password: process.env.PGPASSWORD,
		connectionTimeoutMillis: 3000,
	};
	const client = new Client(config);
	try {
		await client.connect();
		await client.query('SELECT 1');
		process.env.CM_PG_AVAILABLE = '1';
	} catch (error) {
		process.env.CM_PG_AVAILABLE = '0';
		console.warn(
			`\n*** PostgreSQL is not reachable at ${config.host}:${config.port}/${config.database} as ${config.user} ` +
				`(${error.message}): every PostgreSQL test is SKIPPED. Start PostgreSQL (see .ci/run) to run them. ***\n`,
		);
	} finally {
		await client.end().catch(() => {});
	}
};
