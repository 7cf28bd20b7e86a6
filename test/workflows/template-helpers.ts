/** Shared by the template tests: loading a template, time zones that are day or night right now, a loopback JSON API. */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

import { PROJECT_ROOT, type WorkflowJson } from '../harness';

/** A template as it ships: its real triggers off, so the editor's Execute workflow runs Try It. */
export const loadTemplate = (file: string) =>
	JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'workflows', file), 'utf8')) as WorkflowJson;

/** What a user does to go live: every trigger the template ships off is switched on. */
export function goLive(wf: WorkflowJson): WorkflowJson {
	for (const node of wf.nodes) if (node.disabled) node.disabled = false;
	return wf;
}

/** The workflow without these nodes and every connection to or from them. */
export function dropNodes(wf: WorkflowJson, names: Set<string>): WorkflowJson {
	wf.nodes = wf.nodes.filter((n) => !names.has(n.name));
	for (const name of names) delete wf.connections[name];
	for (const byType of Object.values(wf.connections))
		for (const outputs of Object.values(byType))
			for (const out of outputs)
				if (out) out.splice(0, out.length, ...out.filter((c) => !names.has(c.node)));
	return wf;
}

/** A template with its triggers on, as it runs once published. */
export const loadLive = (file: string) => goLive(loadTemplate(file));

/** Points a template's HTTP Request node at a loopback server (templates ship with example.com URLs). */
export function retarget(
	wf: WorkflowJson,
	nodeName: string,
	from: string,
	to: string,
): WorkflowJson {
	const n = wf.nodes.find((x) => x.name === nodeName);
	if (!n) throw new Error(`No node "${nodeName}"`);
	n.parameters.url = String(n.parameters.url).replace(from, to);
	return wf;
}

/** A fixed-offset zone whose local hour right now satisfies `wanted` (quiet hours are checked against the real clock). */
export function zoneAt(wanted: (hour: number) => boolean): string {
	const utcHour = new Date().getUTCHours();
	for (let o = -12; o <= 12; o++)
		if (wanted((utcHour + o + 24) % 24))
			return o === 0 ? 'UTC' : `Etc/GMT${o > 0 ? '-' : '+'}${Math.abs(o)}`;
	throw new Error('No zone found');
}

/** A tiny JSON API on loopback (a CRM or shop backend): routes by exact path, records every path asked for. */
export class JsonApi {
	readonly hits: string[] = [];
	baseUrl = '';
	private server?: http.Server;
	constructor(private readonly routes: (path: string) => unknown) {}

	async start(): Promise<void> {
		this.server = http.createServer((req, res) => {
			const url = new URL(req.url ?? '/', 'http://x');
			this.hits.push(url.pathname);
			const body = this.routes(url.pathname);
			res.writeHead(body === undefined ? 404 : 200, { 'content-type': 'application/json' });
			res.end(JSON.stringify(body ?? { error: 'not found' }));
		});
		await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
		this.baseUrl = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
	}

	async stop(): Promise<void> {
		await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
	}
}

/** The text of a mail body, quoted-printable undone (nodemailer folds long HTML lines). */
export const mailText = (body: string) =>
	body
		.replace(/=\r?\n/g, '')
		.replace(/=([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));

/**
 * Ten shop customers for the win-back template. Recency (days) and a frequency/money rank chosen
 * so that (hand-checked against the RFM table): c1 Lost, c2 + c3 At risk, c4 Hibernating,
 * c5 + c6 Need attention, c7 Loyal, c8-c10 Champions.
 */
export function winBackCustomers(timeZone: string) {
	const shape: Array<[string, number, number]> = [
		['c1', 400, 1],
		['c2', 350, 5],
		['c3', 300, 8],
		['c4', 200, 2],
		['c5', 150, 3],
		['c6', 90, 4],
		['c7', 60, 6],
		['c8', 30, 7],
		['c9', 10, 9],
		['c10', 2, 10],
	];
	const names = ['Ana', 'Ben', 'Cai', 'Dan', 'Eva', 'Fer', 'Gil', 'Hal', 'Ivo', 'Jon'];
	return shape.map(([id, days, rank], k) => ({
		id,
		firstName: names[k],
		email: `${id}@example.com`,
		timeZone,
		lastOrderAt: new Date(Date.now() - days * 86400_000).toISOString(),
		orderCount: rank,
		totalSpent: rank * 40,
	}));
}

/** What the model "writes" for the win-back template: two email variants named after the segment. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const winBackCopy = (req: any) => {
	const segment = JSON.parse(req.messages[1].content).audience['rfm.segment'];
	return {
		variants: ['A', 'B'].map((v) => ({
			subject: `${segment} ${v}`,
			preheader: 'We miss you',
			text: `{{firstName}}, ${segment} variant ${v}: 20% off this week.`,
		})),
	};
};
