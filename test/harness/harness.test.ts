/**
 * Proves the harness runs workflows as n8n does: expressions from the item, a generic credential
 * header reaching a loopback server, pairedItem, continueOnFail and two outputs.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

import { manualWorkflow, runWorkflow } from './index';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'harness-package');

interface Seen {
	headers: http.IncomingHttpHeaders;
	body: { value: string };
}

let server: http.Server;
let baseUrl: string;
const seen: Seen[] = [];

beforeAll(async () => {
	server = http.createServer((req, res) => {
		let raw = '';
		req.on('data', (c) => (raw += c));
		req.on('end', () => {
			const body = JSON.parse(raw) as { value: string };
			seen.push({ headers: req.headers, body });
			if (req.headers['x-api-key'] !== 'secret-key-123') {
				res.writeHead(401, { 'content-type': 'application/json' });
				res.end(JSON.stringify({ message: 'bad key' }));
				return;
			}
			if (body.value === 'boom') {
				res.writeHead(500, { 'content-type': 'application/json' });
				res.end(JSON.stringify({ message: 'exploded' }));
				return;
			}
			res.writeHead(200, { 'content-type': 'application/json' });
			res.end(JSON.stringify({ accepted: !body.value.startsWith('no'), value: body.value }));
		});
	});
	await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
	baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((r) => server.close(() => r())));
beforeEach(() => (seen.length = 0));

const echo = (extra: object = {}) => ({
	type: 'harness-fixture-nodes.harnessEcho',
	name: 'Echo',
	parameters: { value: '={{ $json.word }}-{{ $json.n * 2 }}' },
	credentials: { harnessEchoApi: 'Echo account' },
	...extra,
});

describe('in-process harness', () => {
	it('resolves expressions per item, sends the credential header, stamps pairedItem and routes two outputs', async () => {
		const wf = manualWorkflow({
			items: [
				{ word: 'yes', n: 1 },
				{ word: 'no', n: 2 },
				{ word: 'yes', n: 3 },
			],
			node: echo(),
		});
		const run = await runWorkflow(wf, {
			extraPackages: [FIXTURES],
			credentials: { harnessEchoApi: { apiKey: 'secret-key-123', baseUrl } },
		});
		expect(run.error).toBeUndefined();
		expect(run.status).toBe('success');
		expect(seen.map((s) => s.body.value)).toEqual(['yes-2', 'no-4', 'yes-6']);
		expect(seen.every((s) => s.headers['x-api-key'] === 'secret-key-123')).toBe(true);
		expect(run.json('Echo', 0).map((j) => j.value)).toEqual(['yes-2', 'yes-6']);
		expect(run.json('Echo', 1).map((j) => j.value)).toEqual(['no-4']);
		expect(run.items('Echo', 0).map((i) => i.pairedItem)).toEqual([{ item: 0 }, { item: 2 }]);
		expect(run.items('Echo', 1).map((i) => i.pairedItem)).toEqual([{ item: 1 }]);
		expect(run.executionOrder).toEqual(['When clicking ‘Execute workflow’', 'Echo']);
	});

	it('with continueOnFail a failing item becomes an error item and the others succeed', async () => {
		const wf = manualWorkflow({
			items: [{ word: 'yes', n: 1 }, { word: 'boom' }, { word: 'yes', n: 5 }],
			node: echo({
				continueOnFail: true,
				parameters: { value: '={{ $json.n ? $json.word + $json.n : $json.word }}' },
			}),
		});
		const run = await runWorkflow(wf, {
			extraPackages: [FIXTURES],
			credentials: { harnessEchoApi: { apiKey: 'secret-key-123', baseUrl } },
		});
		expect(run.error).toBeUndefined();
		const out = run.items('Echo', 0);
		expect(out.map((i) => i.json.value ?? 'ERR')).toEqual(['yes1', 'ERR', 'yes5']);
		expect(String(out[1].json.error)).toMatch(/500|exploded|not able to process/);
		expect(out[1].pairedItem).toEqual({ item: 1 });
	});

	it('without continueOnFail the execution fails with the node error, as in n8n', async () => {
		const wf = manualWorkflow({ items: [{ word: 'yes', n: 1 }], node: echo() });
		const run = await runWorkflow(wf, {
			extraPackages: [FIXTURES],
			credentials: { harnessEchoApi: { apiKey: 'wrong', baseUrl } },
		});
		expect(run.status).toBe('error');
		expect(run.error).toBeDefined();
		expect(run.nodeError('Echo')?.message).toMatch(/401|Authorization failed|bad key/i);
	});

	it('credential property defaults are applied like n8n does', async () => {
		const wf = manualWorkflow({
			items: [{ word: 'yes', n: 1 }],
			node: echo({ continueOnFail: true }),
		});
		const run = await runWorkflow(wf, {
			extraPackages: [FIXTURES],
			credentials: { harnessEchoApi: { apiKey: 'secret-key-123' } },
		});
		// No baseUrl given: the default https://api.example.com is used and (no network) fails.
		expect(String(run.json('Echo', 0)[0].error)).not.toBe('');
		expect(seen).toHaveLength(0);
	});
});
