/**
 * Where the store lives, as a user writes it: the embedded file path (home folder, relative paths,
 * system folders, folders) and PostgreSQL over TLS, verified by default. Errors name the path or
 * the server and survive n8n's own rewriting of error messages.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { Worker } from 'node:worker_threads';
import { NodeOperationError, type INode } from 'n8n-workflow';
import { Client } from 'pg';

import { closeAllStores, openStore, storeConfigFromCredential } from '../../nodes/shared/store';
import type { SqlStore } from '../../nodes/shared/store/sql-store';
import { resolveSqlitePath } from '../../nodes/shared/store/sqlite';
import { dropSchema, PG_AVAILABLE, PG_BASE } from './helpers';

const node = {
	id: '1',
	name: 'Guard',
	type: 'x',
	typeVersion: 1,
	position: [0, 0],
	parameters: {},
} as INode;
/** What a marketer reads: the message after n8n's NodeOperationError has had its say. */
const asNodeError = (e: unknown) => new NodeOperationError(node, (e as Error).message).message;

describe('embedded store path', () => {
	const userFolder = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-path-'));
	let previous: string | undefined;
	beforeAll(() => {
		previous = process.env.N8N_USER_FOLDER;
		process.env.N8N_USER_FOLDER = userFolder;
	});
	afterAll(async () => {
		if (previous === undefined) delete process.env.N8N_USER_FOLDER;
		else process.env.N8N_USER_FOLDER = previous;
		await closeAllStores();
	});

	it('~ is the home folder; a relative path is relative to the n8n user folder, not the working folder', () => {
		expect(resolveSqlitePath('~/cm/store.sqlite')).toBe(path.join(os.homedir(), 'cm/store.sqlite'));
		expect(resolveSqlitePath('data/store.sqlite')).toBe(
			path.join(userFolder, '.n8n', 'data', 'store.sqlite'),
		);
		expect(resolveSqlitePath('')).toBe(path.join(userFolder, '.n8n', 'convergent-store.sqlite'));
		expect(resolveSqlitePath('  /tmp/x.sqlite ')).toBe('/tmp/x.sqlite');
	});

	it("a relative path opens under the user folder whatever the process's working folder is", async () => {
		const cwd = process.cwd();
		process.chdir(os.tmpdir());
		try {
			await openStore(
				storeConfigFromCredential({
					storageType: 'embedded',
					databasePath: 'rel/convergent.sqlite',
				}),
			);
		} finally {
			process.chdir(cwd);
		}
		expect(fs.existsSync(path.join(userFolder, '.n8n', 'rel', 'convergent.sqlite'))).toBe(true);
		expect(fs.existsSync(path.join(os.tmpdir(), 'rel', 'convergent.sqlite'))).toBe(false);
	});

	// Under /proc it used to hang: a hang fails on the test's timeout, whatever the machine's load.
	it.each(['/proc/self/store.sqlite', '/sys/store.sqlite', '/dev/shm-not/store.sqlite'])(
		'%s is refused at once (under /proc it used to hang), naming the path',
		async (p) => {
			const error = await openStore({ type: 'embedded', path: p }).then(
				() => undefined,
				(e) => e,
			);
			expect(asNodeError(error)).toMatch(new RegExp(`${p.split('/')[1]}.*system folder`));
			expect(asNodeError(error)).toContain(p);
		},
	);

	it('a symbolic link into /proc is refused too', () => {
		const link = path.join(userFolder, 'sneaky');
		fs.symlinkSync('/proc/self', link);
		expect(() => resolveSqlitePath(path.join(link, 'store.sqlite'))).toThrow(/system folder/);
	});

	it('a folder instead of a file, and a path through a file, say so with the path', async () => {
		const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-dir-'));
		const folderError = await openStore({ type: 'embedded', path: dir }).then(
			() => undefined,
			(e) => e,
		);
		expect(asNodeError(folderError)).toContain(`${dir} is a folder`);
		const file = path.join(dir, 'a-file');
		fs.writeFileSync(file, 'x');
		const throughFile = await openStore({
			type: 'embedded',
			path: path.join(file, 'store.sqlite'),
		}).then(
			() => undefined,
			(e) => e,
		);
		const message = asNodeError(throughFile);
		expect(message).toContain(path.join(file, 'store.sqlite'));
		expect(message).not.toMatch(/ENOTDIR|EEXIST|The file or directory/);
	});
});

/** A TLS-terminating PostgreSQL proxy: answers SSLRequest with 'S', then relays to the real server. */
async function tlsProxy(certDir: string): Promise<{ port: number; close: () => void }> {
	const key = fs.readFileSync(path.join(certDir, 'key.pem'));
	const cert = fs.readFileSync(path.join(certDir, 'cert.pem'));
	const server = net.createServer((raw) => {
		raw.once('data', (first) => {
			// SSLRequest: length 8, code 80877103.
			if (first.length !== 8 || first.readInt32BE(4) !== 80877103) {
				raw.destroy();
				return;
			}
			raw.write('S');
			const secure = new tls.TLSSocket(raw, { isServer: true, key, cert });
			const upstream = net.connect(PG_BASE.port, PG_BASE.host);
			secure.pipe(upstream).pipe(secure);
			const end = () => {
				secure.destroy();
				upstream.destroy();
			};
			secure.on('error', end);
			upstream.on('error', end);
		});
		raw.on('error', () => raw.destroy());
	});
	await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
	return { port: (server.address() as net.AddressInfo).port, close: () => server.close() };
}

/**
 * A connection pooler that refuses startup options, as PgBouncer does ("unsupported startup
 * parameter: options"): a StartupMessage naming `options` is answered with an ErrorResponse,
 * anything else is relayed to the real server.
 */
async function strictPooler(): Promise<{ port: number; close: () => void }> {
	const server = net.createServer((client) => {
		client.once('data', (first) => {
			const params = first.subarray(8).toString('latin1').split('\0');
			if (params.filter((_, k) => k % 2 === 0).includes('options')) {
				const fields = Buffer.from(
					'SFATAL\0C08P01\0Munsupported startup parameter: options\0\0',
					'latin1',
				);
				const head = Buffer.alloc(5);
				head.write('E', 0, 'latin1');
				head.writeInt32BE(fields.length + 4, 1);
				client.end(Buffer.concat([head, fields]));
				return;
			}
			const upstream = net.connect(PG_BASE.port, PG_BASE.host, () => upstream.write(first));
			client.pipe(upstream).pipe(client);
			const end = () => {
				client.destroy();
				upstream.destroy();
			};
			client.on('error', end);
			upstream.on('error', end);
		});
		client.on('error', () => client.destroy());
	});
	await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
	return { port: (server.address() as net.AddressInfo).port, close: () => server.close() };
}

(PG_AVAILABLE ? describe : describe.skip)(
	'PostgreSQL behind a pooler that refuses startup options',
	() => {
		it('connects without a schema and plans by index (set on the connection); with a schema it refuses rather than guess', async () => {
			const pooler = await strictPooler();
			const database = `cm_pooler_${Date.now()}`;
			const admin = new Client(PG_BASE);
			await admin.connect();
			await admin.query(`CREATE DATABASE ${database}`);
			try {
				const store = (await openStore({
					type: 'postgres',
					...PG_BASE,
					database,
					port: pooler.port,
				})) as SqlStore;
				const [row] = await store.db.query<{ enable_seqscan: string }>(
					"SELECT current_setting('enable_seqscan') AS enable_seqscan",
				);
				expect(row.enable_seqscan).toBe('off');
				// A schema a pooler could not keep would have the store read another schema's consent.
				await expect(
					openStore({ type: 'postgres', ...PG_BASE, database, port: pooler.port, schema: 'x' }),
				).rejects.toThrow(/unsupported startup parameter: options/);
			} finally {
				await closeAllStores();
				pooler.close();
				await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
				await admin.end();
			}
		});
	},
);

(PG_AVAILABLE ? describe : describe.skip)('PostgreSQL over TLS', () => {
	const certDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-tls-'));
	let proxy: { port: number; close: () => void };
	beforeAll(async () => {
		execFileSync(
			'openssl',
			[
				'req',
				'-x509',
				'-newkey',
				'rsa:2048',
				'-nodes',
				'-days',
				'1',
				'-subj',
				'/CN=localhost',
				'-addext',
				'subjectAltName=IP:127.0.0.1,DNS:localhost',
				'-keyout',
				path.join(certDir, 'key.pem'),
				'-out',
				path.join(certDir, 'cert.pem'),
			],
			{ stdio: 'ignore' },
		);
		proxy = await tlsProxy(certDir);
	});
	afterAll(async () => {
		await closeAllStores();
		proxy.close();
		await dropSchema('cm_tls_test');
	});
	const cred = (extra: Record<string, unknown>) =>
		storeConfigFromCredential({
			storageType: 'postgres',
			host: '127.0.0.1',
			port: proxy.port,
			database: PG_BASE.database,
			user: PG_BASE.user,
			password: PG_BASE.password ?? '',
			ssl: true,
			schema: 'cm_tls_test',
			...extra,
		});

	it('verifies the server certificate by default: a self-signed server is refused', async () => {
		const error = await openStore(cred({})).then(
			() => undefined,
			(e) => e,
		);
		expect(asNodeError(error)).toMatch(
			/Could not connect to PostgreSQL at 127\.0\.0\.1:\d+.*self[- ]signed/i,
		);
	});

	it('accepts it with its CA certificate, and with the explicit Allow Self-Signed option', async () => {
		const withCa = await openStore(
			cred({ sslCa: fs.readFileSync(path.join(certDir, 'cert.pem'), 'utf8') }),
		);
		expect(withCa.dialect).toBe('postgres');
		const unverified = await openStore(cred({ sslAllowSelfSigned: true }));
		expect(unverified.dialect).toBe('postgres');
	});
});

describe('embedded store held by another process', () => {
	it("opens once the other process lets go, even past SQLite's 10 s busy timeout (two n8n processes starting at once)", async () => {
		const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cm-locked-')), 'store.sqlite');
		// Another process takes the new file exclusively for 10.5 s (as a second n8n migrating it would).
		const holder = new Worker(
			`
			const { parentPort, workerData } = require('node:worker_threads');
			const { DatabaseSync } = require('node:sqlite');
			const db = new DatabaseSync(workerData.file);
			db.exec('CREATE TABLE held (x)');
			db.exec('BEGIN EXCLUSIVE');
			db.exec('INSERT INTO held VALUES (1)');
			parentPort.postMessage('held');
			setTimeout(() => { db.exec('COMMIT'); db.close(); parentPort.postMessage('released'); }, 10_500);
		`,
			{ eval: true, workerData: { file } },
		);
		await new Promise((resolve) => holder.once('message', resolve));
		const started = Date.now();
		const store = await openStore({ type: 'embedded', path: file });
		expect(Date.now() - started).toBeGreaterThan(10_000);
		expect(await store.findProcessed('x', ['y'])).toEqual(new Set());
		await holder.terminate();
	}, 40_000);
});
