/**
 * A marketer's first flow, built from an empty canvas with only the fields a marketer fills: a
 * manual trigger, three people as Edit Fields gives them (name, email, phone: no `contact` object,
 * no ID of ours), Record Consent, Check, Touchpoint email as a dry run. It runs green with three
 * previews; without Record Consent the three are Blocked NO_CONSENT with a sentence saying what
 * to do, and the run goes on.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { IDataObject, IConnections } from 'n8n-workflow';

import { makeNode, runWorkflow, type NodeSpec, type WorkflowJson } from '../harness';

const databasePath = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cm-first-')), 'store.sqlite');
const credentials = { convergentStoreApi: { storageType: 'embedded', databasePath } };
const STORE = { convergentStoreApi: 'Store' };
const people = [
	{ name: 'Ana', email: 'ana.first@example.com', phone: '+34600555001' },
	{ name: 'Ben', email: 'ben.first@example.com', phone: '+34600555002' },
	{ name: 'Cai', email: 'cai.first@example.com', phone: '+34600555003' },
];

/** Start (the three people) -> each step in a row. */
function flow(steps: NodeSpec[]): WorkflowJson {
	const start = makeNode({ type: 'n8n-nodes-base.manualTrigger', name: 'Start' }, [0, 0]);
	const nodes = [start, ...steps.map((s, k) => makeNode(s, [220 * (k + 1), 0]))];
	const connections: IConnections = {};
	nodes
		.slice(0, -1)
		.forEach(
			(n, k) =>
				(connections[n.name] = { main: [[{ node: nodes[k + 1].name, type: 'main', index: 0 }]] }),
		);
	return {
		name: 'first flow',
		nodes,
		connections,
		pinData: { Start: people.map((json) => ({ json })) } as never,
		settings: { executionOrder: 'v1' },
	};
}

const check: NodeSpec = {
	type: 'consentGuard',
	name: 'Check',
	parameters: {
		operation: 'check',
		channel: 'email',
		purpose: 'marketing',
		quietHours: { enabled: false },
	},
	credentials: STORE,
};
const send: NodeSpec = {
	type: 'touchpoint',
	name: 'Send Email',
	parameters: {
		channel: 'email',
		purpose: 'marketing',
		campaign: 'hello',
		subject: 'Hello',
		text: 'Our spring offers are here.',
		unsubscribeUrl: 'https://shop.example/unsubscribe',
		postalAddress: 'Shop SL, Calle Mayor 1, Madrid',
		quietHours: { enabled: false },
		options: { dryRun: true },
	},
	credentials: STORE,
};

describe("a marketer's first flow", () => {
	it('without Record Consent: the three are Blocked NO_CONSENT, each saying what to do, and the run goes on', async () => {
		const run = await runWorkflow(flow([check, send]), { credentials: credentials as never });
		expect(run.error).toBeUndefined();
		const blocked = run.json('Check', 1).map((j) => j.blocked as IDataObject);
		expect(blocked.map((b) => b.reason)).toEqual(['NO_CONSENT', 'NO_CONSENT', 'NO_CONSENT']);
		expect(String(blocked[0].message)).toMatch(
			/no contact holds email ana\.first@example\.com or phone \+34600555001: no marketing consent on email is recorded for them\. Record their consent first/,
		);
		// The Table view's first column is what was decided, before the fields the item came with.
		expect(run.json('Check', 1).map((j) => Object.keys(j)[0])).toEqual([
			'blocked',
			'blocked',
			'blocked',
		]);
	});

	it('with Record Consent: Check allows the three and Touchpoint previews three emails, from items with no contact object and no ID', async () => {
		const record: NodeSpec = {
			type: 'consentGuard',
			name: 'Record Consent',
			parameters: {
				operation: 'recordConsent',
				channel: 'email',
				purpose: 'marketing',
				consentAction: 'grant',
				source: 'newsletter-form',
				evidence: { wording: 'Yes, send me offers by email' },
			},
			credentials: STORE,
		};
		const run = await runWorkflow(flow([record, check, send]), {
			credentials: credentials as never,
		});
		expect(run.error).toBeUndefined();
		expect(run.json('Check', 0)).toHaveLength(3);
		const previews = run.json('Send Email', 2).map((j) => j.touchpoint as IDataObject);
		expect(previews.map((t) => [t.status, t.channel])).toEqual([
			['dry_run', 'email'],
			['dry_run', 'email'],
			['dry_run', 'email'],
		]);
		expect(JSON.stringify(previews)).toContain('ana.first@example.com');
		expect(Object.keys(run.json('Check', 0)[0])[0]).toBe('consent');
		expect(Object.keys(run.json('Send Email', 2)[0]).slice(0, 2)).toEqual([
			'preview',
			'touchpoint',
		]);
		expect(String(run.json('Send Email', 2)[0].preview)).toMatch(
			/^To ana\.first@example\.com\nFrom: .+\nSubject: Hello\n\nOur spring offers are here\./,
		);
	});

	it('an item that already carries a decision gets the new one first, never both', async () => {
		const wf = flow([check]);
		const old = { reason: 'OLD', message: 'from an earlier Check' };
		const dee = { name: 'Dee', email: 'dee.first@example.com', phone: '+34600555004' };
		wf.pinData = { Start: [{ json: { blocked: old, ...dee } }] } as never;
		const run = await runWorkflow(wf, { credentials: credentials as never });
		expect(run.error).toBeUndefined();
		const item = run.json('Check', 1)[0];
		expect(Object.keys(item)).toEqual(['blocked', 'name', 'email', 'phone']);
		expect((item.blocked as IDataObject).reason).toBe('NO_CONSENT');
	});
});
