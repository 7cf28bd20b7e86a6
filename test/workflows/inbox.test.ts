/**
 * The durable inbox through n8n's webhook path in-process: the Touchpoint Trigger keeps each event
 * until the run marks it done (Touchpoint Inbox > Mark Done), Replay re-emits what a run never
 * finished with its original ids, and a store error mid-request leaves nothing half-written, so the
 * provider's re-delivery records the STOP.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { IDataObject, INode } from 'n8n-workflow';

import { metaSignature } from '../../nodes/shared/inbound/signatures';
import { openStore } from '../../nodes/shared/store';
import type { SqlStore } from '../../nodes/shared/store/sql-store';
import { makeNode, manualWorkflow, runWorkflow, type WorkflowJson } from '../harness';
import { startWebhookServer, type WebhookServer } from '../harness/webhook';
import { grantConsent } from '../helpers/people';
import { MetaGraphMock } from '../mocks';

const APP_SECRET = '0123456789abcdef0123456789abcdef';
const databasePath = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cm-inbox-')), 'store.sqlite');
const credentials = {
	metaWebhookApi: { appSecret: APP_SECRET, verifyToken: 'verify-inbox' },
	convergentStoreApi: { storageType: 'embedded', databasePath },
};
const storeCreds = { convergentStoreApi: 'Store' };
const now = () => Math.floor(Date.now() / 1000);
const waText = (id: string, from: string, body: string) => ({
	from,
	id,
	timestamp: String(now()),
	type: 'text',
	text: { body },
});
const waPayload = (messages: object[]) => ({
	object: 'whatsapp_business_account',
	entry: [
		{
			id: 'WABA',
			changes: [
				{
					field: 'messages',
					value: {
						messaging_product: 'whatsapp',
						metadata: { phone_number_id: '106540352242922' },
						contacts: [
							{
								profile: { name: 'Ana' },
								wa_id: messages.length ? (messages[0] as { from: string }).from : '',
							},
						],
						messages,
					},
				},
			],
		},
	],
});

async function postMeta(server: WebhookServer, body: object) {
	const raw = JSON.stringify(body);
	const res = await fetch(server.url, {
		method: 'POST',
		headers: {
			'content-type': 'application/json',
			'x-hub-signature-256': metaSignature(APP_SECRET, raw),
		},
		body: raw,
	});
	return { status: res.status, text: await res.text() };
}

/**
 * Inbound -> Run Dies Here (a Filter: the text "lost" stands for a run that died before its end) ->
 * Mark Done. Beside it: Start -> Replay.
 */
function inboxWorkflow(id: string, markDone = true): WorkflowJson {
	const trigger = makeNode(
		{
			type: 'touchpointTrigger',
			typeVersion: 2,
			name: 'Inbound',
			parameters: { provider: 'meta', options: {} },
			credentials: { metaWebhookApi: 'Meta', ...storeCreds },
		},
		[0, 0],
	);
	trigger.webhookId = randomUUID();
	const nodes: INode[] = [trigger];
	const connections: WorkflowJson['connections'] = {};
	if (markDone) {
		nodes.push(
			makeNode(
				{
					type: 'n8n-nodes-base.filter',
					name: 'Run Dies Here',
					typeVersion: 2.2,
					parameters: {
						conditions: {
							options: { caseSensitive: true, leftValue: '', typeValidation: 'strict', version: 2 },
							conditions: [
								{
									id: 'c1',
									leftValue: '={{ $json.text }}',
									rightValue: 'lost',
									operator: { type: 'string', operation: 'notEquals' },
								},
							],
							combinator: 'and',
						},
						options: {},
					},
				},
				[220, 0],
			),
			makeNode(
				{
					type: 'touchpointInbox',
					name: 'Mark Done',
					parameters: { operation: 'markDone' },
					credentials: storeCreds,
				},
				[440, 0],
			),
		);
		connections.Inbound = { main: [[{ node: 'Run Dies Here', type: 'main', index: 0 }]] };
		connections['Run Dies Here'] = { main: [[{ node: 'Mark Done', type: 'main', index: 0 }]] };
	}
	nodes.push(
		{
			id: randomUUID(),
			name: 'Start',
			type: 'n8n-nodes-base.manualTrigger',
			typeVersion: 1,
			position: [0, 200],
			parameters: {},
		},
		makeNode(
			{
				type: 'touchpointInbox',
				name: 'Replay',
				parameters: { operation: 'replay', replayAfter: 0, maxAttempts: 2 },
				credentials: storeCreds,
			},
			[220, 200],
		),
	);
	connections.Start = { main: [[{ node: 'Replay', type: 'main', index: 0 }]] };
	return { id, name: `inbox ${id}`, nodes, connections, settings: { executionOrder: 'v1' } };
}

describe('Durable inbox (Touchpoint Trigger + Touchpoint Inbox)', () => {
	const servers: WebhookServer[] = [];
	afterAll(async () => {
		for (const s of servers) await s.stop();
	});
	const serve = async (wf: WorkflowJson) => {
		const s = await startWebhookServer(wf, { trigger: 'Inbound', credentials });
		servers.push(s);
		return s;
	};
	const replay = async (wf: WorkflowJson) => {
		await new Promise((r) => setTimeout(r, 5));
		const run = await runWorkflow(wf, { startNode: 'Start', credentials });
		expect(run.error).toBeUndefined();
		return { replayed: run.json('Replay', 0), abandoned: run.json('Replay', 1) };
	};

	it('keeps each event until its run marks it done; Replay re-emits the unfinished one with its original ids, then abandons it after the last attempt', async () => {
		const wf = inboxWorkflow('wf-inbox-a');
		const server = await serve(wf);
		expect(
			(
				await postMeta(
					server,
					waPayload([
						waText('wamid.IN1', '34600700001', 'hola'),
						waText('wamid.IN2', '34600700001', 'lost'),
						waText('wamid.IN3', '34600700001', 'adios'),
					]),
				)
			).status,
		).toBe(200);
		await server.settled();
		const run = server.runs[0];
		const emitted = run.json('Inbound');
		expect(emitted.map((e) => e.inboxId)).toEqual(
			[0, 1, 2].map((k) => `meta:wf-inbox-a:${wf.nodes[0].id}/wamid.IN${k + 1}`),
		);
		expect(run.json('Mark Done').map((e) => [e.providerMessageId, e.inboxDone])).toEqual([
			['wamid.IN1', true],
			['wamid.IN3', true],
		]);

		const first = await replay(wf);
		expect(first.abandoned).toEqual([]);
		expect(first.replayed).toHaveLength(1);
		const { inboxAttempt, inboxReceivedAt, ...original } = first.replayed[0];
		expect(original).toEqual(emitted[1]);
		expect(original).toMatchObject({
			providerMessageId: 'wamid.IN2',
			contactId: '+34600700001',
			text: 'lost',
			channel: 'whatsapp',
		});
		expect(inboxAttempt).toBe(2);
		expect(Date.parse(String(inboxReceivedAt))).toBeGreaterThan(Date.now() - 60_000);

		// Its second run did not mark it either: with Max Attempts 2 it goes to Abandoned, once.
		const second = await replay(wf);
		expect(second.replayed).toEqual([]);
		expect(second.abandoned.map((e) => [e.providerMessageId, e.inboxAbandoned])).toEqual([
			['wamid.IN2', true],
		]);
		expect(await replay(wf)).toEqual({ replayed: [], abandoned: [] });
		// A re-delivery of the whole request is still a duplicate: no run.
		expect(
			(
				await postMeta(
					server,
					waPayload([
						waText('wamid.IN1', '34600700001', 'hola'),
						waText('wamid.IN2', '34600700001', 'lost'),
					]),
				)
			).status,
		).toBe(200);
		await server.settled();
		expect(server.runs).toHaveLength(1);
	});

	it('Replay with Download Media fetches the files of a replayed event again (the store keeps references, not files); without the credential it names it', async () => {
		const meta = new MetaGraphMock();
		await meta.start();
		try {
			const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 7, 7, 7]);
			const img = meta.addMedia(jpeg, 'image/jpeg');
			const wf = inboxWorkflow('wf-inbox-media');
			const replayNode = wf.nodes.find((n) => n.name === 'Replay')!;
			replayNode.parameters = { ...replayNode.parameters, downloadMedia: true, maxAttempts: 5 };
			const server = await serve(wf);
			// The caption "lost" stands for a run that died before Mark Done.
			const image = {
				from: '34600700009',
				id: 'wamid.IMG1',
				timestamp: String(now()),
				type: 'image',
				image: { id: img.id, mime_type: 'image/jpeg', sha256: img.sha256, caption: 'lost' },
			};
			expect((await postMeta(server, waPayload([image]))).status).toBe(200);
			await server.settled();

			// No WhatsApp credential on the Replay node: the event is replayed, the file named as missing.
			const without = await runWorkflow(wf, { startNode: 'Start', credentials });
			const [bare] = without.items('Replay', 0);
			expect(bare.binary).toBeUndefined();
			expect(String((bare.json.media as IDataObject[])[0].downloadError)).toContain(
				'WhatsApp Cloud API credential',
			);

			replayNode.credentials = {
				...replayNode.credentials,
				whatsAppCloudApi: { id: 'WA', name: 'WA' },
			};
			const run = await runWorkflow(wf, {
				startNode: 'Start',
				credentials: {
					...credentials,
					whatsAppCloudApi: {
						accessToken: meta.accessToken,
						phoneNumberId: meta.phoneNumberId,
						apiVersion: 'v21.0',
						baseUrl: meta.baseUrl,
					},
				},
			});
			expect(run.error).toBeUndefined();
			const [item] = run.items('Replay', 0);
			expect(item.json).toMatchObject({ providerMessageId: 'wamid.IMG1', text: 'lost' });
			expect(
				Buffer.from(String((item.binary!.media_0 as unknown as IDataObject).data), 'base64').equals(
					jpeg,
				),
			).toBe(true);
			expect((item.json.media as IDataObject[])[0]).toMatchObject({
				binaryProperty: 'media_0',
				mimeType: 'image/jpeg',
			});
			expect(item.pairedItem).toEqual({ item: 0 });
		} finally {
			await meta.stop();
		}
	});

	it("a delivery status kept for replay is tied to its send's person, so Erase reaches it (before, it was kept with no contact id and its phone survived Erase)", async () => {
		const wf = inboxWorkflow('wf-inbox-status');
		(wf.nodes[0].parameters.options as IDataObject).includeStatuses = true;
		const server = await serve(wf);
		const store = await openStore({ type: 'embedded', path: databasePath });
		await store.resolveContacts(
			[{ id: 'crm-status', addresses: [{ kind: 'phone', value: '+34600700077' }] }],
			{ create: true, link: true },
		);
		await store.reserveTouches([
			{
				idempotencyKey: 'status-key',
				contactId: 'crm-status',
				channel: 'whatsapp',
				purpose: 'service',
				caps: [],
			},
		]);
		await store.completeTouch('status-key', {
			status: 'sent',
			providerMessageId: 'wamid.OUT-STATUS',
		});
		const statuses = {
			object: 'whatsapp_business_account',
			entry: [
				{
					id: 'WABA',
					changes: [
						{
							field: 'messages',
							value: {
								messaging_product: 'whatsapp',
								metadata: { phone_number_id: '106540352242922' },
								statuses: [
									{
										id: 'wamid.OUT-STATUS',
										status: 'read',
										timestamp: String(Math.floor(Date.now() / 1000)),
										recipient_id: '34600700077',
									},
								],
							},
						},
					],
				},
			],
		};
		expect((await postMeta(server, statuses)).status).toBe(200);
		await server.settled();
		const rows = await (store as SqlStore).db.query<{ contact_id: string | null }>(
			"SELECT contact_id FROM processed_ids WHERE id = 'status:read:wamid.OUT-STATUS'",
		);
		expect(rows.map((r) => r.contact_id)).toEqual(['crm-status']);
		await store.eraseContact('crm-status', []);
		expect(
			await (store as SqlStore).db.query(
				"SELECT * FROM processed_ids WHERE id = 'status:read:wamid.OUT-STATUS'",
			),
		).toEqual([]);
	});

	it('keeps nothing for replay when no run marks events done (no Touchpoint Inbox after the trigger)', async () => {
		const wf = inboxWorkflow('wf-inbox-b', false);
		const server = await serve(wf);
		expect(
			(await postMeta(server, waPayload([waText('wamid.NB1', '34600700002', 'hola')]))).status,
		).toBe(200);
		await server.settled();
		expect(server.runs[0].json('Inbound')[0].inboxId).toBeUndefined();
		expect(await replay(wf)).toEqual({ replayed: [], abandoned: [] });
	});

	it('Mark Done names a malformed Inbox ID; with On Error: Continue the other items are still marked, and one without an ID says so', async () => {
		const wf = inboxWorkflow('wf-inbox-c');
		const server = await serve(wf);
		expect(
			(await postMeta(server, waPayload([waText('wamid.MC1', '34600700003', 'hola')]))).status,
		).toBe(200);
		await server.settled();
		const inboxId = String(server.runs[0].json('Inbound')[0].inboxId);
		const markOnly = (continueOnFail: boolean) => ({
			name: 'mark',
			nodes: [
				{
					id: randomUUID(),
					name: 'Start',
					type: 'n8n-nodes-base.manualTrigger',
					typeVersion: 1,
					position: [0, 0] as [number, number],
					parameters: {},
				},
				makeNode(
					{
						type: 'touchpointInbox',
						name: 'Mark Done',
						parameters: { operation: 'markDone' },
						credentials: storeCreds,
						continueOnFail,
					},
					[220, 0],
				),
			],
			connections: { Start: { main: [[{ node: 'Mark Done', type: 'main' as const, index: 0 }]] } },
			pinData: {
				Start: [
					{ json: { inboxId: 'not-an-inbox-id' } },
					{ json: { inboxId } },
					{ json: { text: 'a test event from the editor' } },
					{ json: { error: 'Not Sent upstream' } },
				],
			},
			settings: { executionOrder: 'v1' as const },
		});
		const failed = await runWorkflow(markOnly(false), { credentials });
		expect(failed.error?.message).toBe(
			'Inbox ID "not-an-inbox-id" is not one the Touchpoint Trigger emitted',
		);
		const lenient = await runWorkflow(markOnly(true), { credentials });
		expect(
			lenient
				.json('Mark Done')
				.map((e) => [e.inboxDone ?? null, e.error ?? null, e.inboxNote ?? null]),
		).toEqual([
			[null, 'Inbox ID "not-an-inbox-id" is not one the Touchpoint Trigger emitted', null],
			[true, null, null],
			[
				false,
				null,
				'No inbox ID on this item: nothing to mark (test events from the editor are not kept)',
			],
			// An item that carries an earlier node's error is still told it had nothing to mark.
			[
				false,
				'Not Sent upstream',
				'No inbox ID on this item: nothing to mark (test events from the editor are not kept)',
			],
		]);
		// Marked by hand above although its run did not: nothing to replay.
		await new Promise((r) => setTimeout(r, 5));
		const store = await openStore({ type: 'embedded', path: databasePath });
		expect(
			(
				await store.claimInboxReplay('wf-inbox-c', {
					olderThan: Date.now(),
					limit: 10,
					maxAttempts: 3,
				})
			).replay,
		).toEqual([]);
	});

	it('a store error mid-request answers 500 and leaves nothing of the request; the re-delivery records the STOP', async () => {
		const wf = inboxWorkflow('wf-inbox-d');
		const server = await serve(wf);
		const store = await openStore({ type: 'embedded', path: databasePath });
		const ana = { id: '+34600700004', phone: '+34600700004' };
		await grantConsent(store, [ana], ['whatsapp']);
		const stop = waPayload([
			waText('wamid.STOP4', '34600700004', 'STOP'),
			waText('wamid.NEW5', '34600700005', 'hi'),
		]);
		// A transient failure: the consent ledger is unreachable for one request.
		const db = (store as unknown as { db: { exec(sql: string): Promise<void> } }).db;
		await db.exec('ALTER TABLE consent_events RENAME TO consent_events_away');
		const failed = await postMeta(server, stop);
		await db.exec('ALTER TABLE consent_events_away RENAME TO consent_events');
		expect(failed.status).toBe(500);
		expect(server.runs).toHaveLength(0);
		// Nothing half-written: the new sender was not created, no inbound time, no processed id.
		expect(
			await store.getLastInbound([
				{ contactId: '+34600700004', channel: 'whatsapp' },
				{ contactId: '+34600700005', channel: 'whatsapp' },
			]),
		).toEqual(new Map());
		expect(
			(await store.resolveContacts([{ addresses: [{ kind: 'phone', value: '+34600700005' }] }]))[0]
				.contactId,
		).toBe('');
		expect(
			await store.findProcessed(`meta:wf-inbox-d:${wf.nodes[0].id}`, ['wamid.STOP4', 'wamid.NEW5']),
		).toEqual(new Set());

		expect((await postMeta(server, stop)).status).toBe(200);
		await server.settled();
		expect(server.runs).toHaveLength(1);
		expect(
			server.runs[0].json('Inbound').map((e) => [e.providerMessageId, e.keyword ?? null]),
		).toEqual([
			['wamid.STOP4', 'stop'],
			['wamid.NEW5', null],
		]);
		expect(
			(
				await store.getConsentStates([
					{ contactId: ana.id, channel: 'whatsapp', purpose: 'marketing' },
				])
			).get(`${ana.id}\u0000whatsapp\u0000marketing`)?.status,
		).toBe('withdrawn');
	});
});

describe('Touchpoint Inbox fails closed', () => {
	it("Replay with the store unreachable and On Error: Continue: nothing on Replayed (before, n8n copied the schedule's item there as if it were an event), the error on Abandoned", async () => {
		const broken = {
			convergentStoreApi: {
				storageType: 'postgres',
				host: '127.0.0.1',
				port: 1,
				database: 'none',
				user: 'none',
				password: '',
				ssl: false,
			},
		};
		const run = await runWorkflow(
			manualWorkflow({
				items: [{ tick: 1 }],
				node: {
					type: 'touchpointInbox',
					name: 'Replay',
					parameters: { operation: 'replay', replayAfter: 0 },
					credentials: storeCreds,
					continueOnFail: true,
				},
			}),
			{ credentials: broken as never },
		);
		expect(run.error).toBeUndefined();
		expect(run.json('Replay', 0)).toEqual([]);
		expect(run.json('Replay', 1)).toEqual([
			expect.objectContaining({ tick: 1, error: expect.any(String) }),
		]);
	});
});

describe('Touchpoint Inbox: Record Inbound Message', () => {
	// Messages that reached n8n another way (or the templates' sample messages), in the trigger's shape.
	const message = (phone: string, text: string, at: number = Date.now()) => ({
		channel: 'whatsapp',
		contact: { phone, whatsappId: phone.slice(1), name: 'Noa' },
		text,
		timestamp: new Date(at).toISOString(),
		providerMessageId: `wamid.${randomUUID()}`,
	});
	const flow = (
		items: object[],
		tail: Array<Parameters<typeof makeNode>[0]> = [],
		continueOnFail = false,
	) => {
		const start = makeNode(
			{ type: 'n8n-nodes-base.manualTrigger', name: 'Start', parameters: {} },
			[0, 0],
		);
		const chain = [
			{
				type: 'touchpointInbox',
				name: 'Record',
				parameters: { operation: 'recordInbound' },
				credentials: storeCreds,
				continueOnFail,
			},
			...tail,
		].map((spec, k) => makeNode(spec, [220 * (k + 1), 0]));
		const nodes = [start, ...chain];
		const connections: WorkflowJson['connections'] = {};
		nodes
			.slice(0, -1)
			.forEach(
				(n, k) =>
					(connections[n.name] = { main: [[{ node: nodes[k + 1].name, type: 'main', index: 0 }]] }),
			);
		return runWorkflow(
			{
				name: 'record',
				nodes,
				connections,
				pinData: { Start: items.map((json) => ({ json })) } as never,
				settings: { executionOrder: 'v1' },
			},
			{ credentials: credentials as never },
		);
	};
	const reply = {
		type: 'touchpoint',
		name: 'Reply',
		parameters: {
			channel: 'whatsapp',
			purpose: 'transactional',
			text: 'Thanks for writing!',
			whatsappType: 'text',
			contactFields: {
				idField: 'contactId',
				phoneField: 'contact.phone',
				whatsappIdField: 'contact.whatsappId',
			},
			options: { dryRun: true },
		},
		credentials: storeCreds,
	};

	it('a new sender becomes a contact and the service window opens (a free-form reply may go); a message two days old leaves it closed', async () => {
		const run = await flow(
			[
				message('+34600000101', 'Hi, do you ship to Porto?'),
				message('+34600000102', 'Hello?', Date.now() - 2 * 86400_000),
			],
			[reply],
		);
		expect(run.error).toBeUndefined();
		expect(run.json('Record', 0).map((j) => j.contactId)).toEqual(['+34600000101', '+34600000102']);
		expect(
			run.json('Reply', 2).map((j) => [j.contactId, (j.touchpoint as { status: string }).status]),
		).toEqual([['+34600000101', 'dry_run']]);
		expect(
			run.json('Reply', 1).map((j) => [j.contactId, (j.touchpoint as { reason: string }).reason]),
		).toEqual([['+34600000102', 'WINDOW_CLOSED']]);
	});

	it('STOP withdraws consent; a START recorded this way never restores it (only the signed trigger may)', async () => {
		const store = await openStore({ type: 'embedded', path: databasePath });
		const phone = '+34600000103';
		await grantConsent(store, [{ id: phone, phone } as never], ['whatsapp']);
		const check = {
			type: 'consentGuard',
			name: 'Check',
			parameters: {
				operation: 'check',
				channel: 'whatsapp',
				messageKind: 'template',
				quietHours: { enabled: false },
				contactFields: { idField: 'contactId', phoneField: 'contact.phone' },
			},
			credentials: storeCreds,
		};
		const stop = await flow([message(phone, 'STOP')], [check]);
		expect(stop.json('Record', 0)[0]).toMatchObject({ contactId: phone, keyword: 'stop' });
		expect(stop.json('Check', 1).map((j) => (j.blocked as { reason: string }).reason)).toEqual([
			'WITHDRAWN',
		]);
		const start = await flow([message(phone, 'START')], [check]);
		expect(start.json('Record', 0)[0]).toMatchObject({ keywordIgnored: 'start' });
		expect(start.json('Record', 0)[0].keyword).toBeUndefined();
		expect(start.json('Check', 1).map((j) => (j.blocked as { reason: string }).reason)).toEqual([
			'WITHDRAWN',
		]);
	});

	it('a STOP whose item time is old (2020) still withdraws the consent granted since: a withdrawal counts no later than it reaches the store', async () => {
		const store = await openStore({ type: 'embedded', path: databasePath });
		const phone = '+34600000106';
		await grantConsent(store, [{ id: phone, phone } as never], ['whatsapp']);
		const check = {
			type: 'consentGuard',
			name: 'Check',
			parameters: {
				operation: 'check',
				channel: 'whatsapp',
				messageKind: 'template',
				quietHours: { enabled: false },
				contactFields: { idField: 'contactId', phoneField: 'contact.phone' },
			},
			credentials: storeCreds,
		};
		const stop = await flow([message(phone, 'STOP', Date.UTC(2020, 0, 1))], [check]);
		expect(stop.json('Record', 0)[0]).toMatchObject({ contactId: phone, keyword: 'stop' });
		expect(stop.json('Record', 0)[0]).not.toHaveProperty('supersededBy');
		// Before, the 2020 STOP folded before the grant: consent stayed granted and Check allowed.
		expect(stop.json('Check', 1).map((j) => (j.blocked as { reason: string }).reason)).toEqual([
			'WITHDRAWN',
		]);
	});

	it('an item that is not a message is an error naming what is wrong; the others are recorded', async () => {
		const run = await flow(
			[
				{ channel: 'fax', contact: { phone: '+34600000104' }, text: 'hi' },
				{ channel: 'sms', contact: {}, text: 'hi' },
				{ channel: 'sms', contact: { phone: '12ab' }, text: 'hi' },
				message('+34600000105', 'hi'),
			],
			[],
			true,
		);
		expect(run.json('Record', 0).map((j) => j.error ?? j.contactId)).toEqual([
			'Unknown channel "fax"',
			'The message has no sender',
			'Invalid phone "12ab" at contact.phone',
			'+34600000105',
		]);
	});
});
