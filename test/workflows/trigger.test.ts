/**
 * Touchpoint Trigger through n8n's webhook path in-process (real HTTP, n8n-core WebhookContext):
 * signatures, Meta's verification GET, batching, statuses, de-duplication, the inbound log and
 * STOP/START into the consent ledger (then Consent Guard blocks / allows).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { IDataObject } from 'n8n-workflow';

import {
	metaSignature,
	twilioSignature,
	twilioUrlVariants,
} from '../../nodes/shared/inbound/signatures';
import { openStore } from '../../nodes/shared/store';
import { manualWorkflow, runWorkflow, makeNode, type WorkflowJson } from '../harness';
import { startWebhookServer, type WebhookServer } from '../harness/webhook';
import { MetaGraphMock, TwilioMock } from '../mocks';

const APP_SECRET = '0123456789abcdef0123456789abcdef';
const VERIFY = 'verify-me-please';
const TWILIO_TOKEN = 'fedcba9876543210fedcba9876543210';
const databasePath = path.join(
	fs.mkdtempSync(path.join(os.tmpdir(), 'cm-trigger-')),
	'store.sqlite',
);
const credentials = {
	metaWebhookApi: { appSecret: APP_SECRET, verifyToken: VERIFY },
	twilioWebhookApi: { authToken: TWILIO_TOKEN },
	convergentStoreApi: { storageType: 'embedded', databasePath },
};

function triggerWorkflow(provider: string, options: IDataObject = {}): WorkflowJson {
	const node = makeNode(
		{
			type: 'touchpointTrigger',
			name: 'Inbound',
			parameters: { provider, options },
			credentials: {
				metaWebhookApi: 'Meta',
				twilioWebhookApi: 'Twilio',
				convergentStoreApi: 'Store',
			},
		},
		[0, 0],
	);
	node.webhookId = randomUUID();
	return { name: 'inbound', nodes: [node], connections: {}, settings: { executionOrder: 'v1' } };
}

const now = Math.floor(Date.now() / 1000);
const waText = (id: string, from: string, body: string) => ({
	from,
	id,
	timestamp: String(now),
	type: 'text',
	text: { body },
});
const waPayload = (messages: object[], statuses: object[] = []) => ({
	object: 'whatsapp_business_account',
	entry: [
		{
			id: 'WABA',
			changes: [
				{
					field: 'messages',
					value: {
						messaging_product: 'whatsapp',
						metadata: { display_phone_number: '15550100000', phone_number_id: '106540352242922' },
						contacts: [{ profile: { name: 'Ana' }, wa_id: '34600111222' }],
						messages,
						statuses,
					},
				},
			],
		},
	],
});

async function postMeta(
	server: WebhookServer,
	body: object,
	sign: string | null = APP_SECRET,
	tamper = false,
) {
	const raw = JSON.stringify(body);
	const headers: Record<string, string> = { 'content-type': 'application/json' };
	if (sign !== null) headers['x-hub-signature-256'] = metaSignature(sign, raw);
	const res = await fetch(server.url, {
		method: 'POST',
		headers,
		body: tamper ? raw.replace('Ana', 'Eve') : raw,
	});
	return { status: res.status, text: await res.text() };
}

describe('Touchpoint Trigger (Meta)', () => {
	let server: WebhookServer;
	beforeAll(async () => {
		server = await startWebhookServer(triggerWorkflow('meta'), { trigger: 'Inbound', credentials });
	});
	afterAll(() => server.stop());

	it('answers the GET verification only with the right verify token', async () => {
		const ok = await fetch(
			`${server.url}?hub.mode=subscribe&hub.verify_token=${VERIFY}&hub.challenge=1158201444`,
		);
		expect([ok.status, await ok.text(), ok.headers.get('content-type')]).toEqual([
			200,
			'1158201444',
			'text/plain',
		]);
		const bad = await fetch(
			`${server.url}?hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1158201444`,
		);
		expect(bad.status).toBe(403);
		expect(await bad.text()).not.toContain('1158201444');
	});

	it('rejects a tampered body, a wrong secret and a missing signature with 401 and no run', async () => {
		const body = waPayload([waText('wamid.X1', '34600111222', 'hi')]);
		expect((await postMeta(server, body, APP_SECRET, true)).status).toBe(401);
		expect((await postMeta(server, body, 'ffffffffffffffffffffffffffffffff')).status).toBe(401);
		expect((await postMeta(server, body, null)).status).toBe(401);
		expect(server.runs).toHaveLength(0);
	});

	it('a batch of 3 messages and 2 statuses -> 3 events; delivered again -> the flow does not run again', async () => {
		const body = waPayload(
			[
				waText('wamid.A', '34600111222', 'Hola'),
				{
					from: '34600111222',
					id: 'wamid.B',
					timestamp: String(now),
					type: 'interactive',
					interactive: { type: 'button_reply', button_reply: { id: 'book', title: 'Book' } },
				},
				{
					from: '34600111222',
					id: 'wamid.C',
					timestamp: String(now),
					type: 'image',
					image: { id: 'media-1', mime_type: 'image/jpeg', caption: 'look' },
				},
			],
			[
				{
					id: 'wamid.OUT1',
					status: 'delivered',
					timestamp: String(now),
					recipient_id: '34600111222',
				},
				{ id: 'wamid.OUT2', status: 'read', timestamp: String(now), recipient_id: '34600111222' },
			],
		);
		expect((await postMeta(server, body)).status).toBe(200);
		expect(server.runs).toHaveLength(1);
		const events = server.runs[0].json('Inbound');
		expect(events.map((e) => [e.kind, e.providerMessageId, e.contactId])).toEqual([
			['text', 'wamid.A', '+34600111222'],
			['interactive', 'wamid.B', '+34600111222'],
			['media', 'wamid.C', '+34600111222'],
		]);
		expect(events[1].payload).toBe('book');
		expect(JSON.stringify(events)).not.toContain(APP_SECRET);
		expect((await postMeta(server, body)).status).toBe(200);
		expect(server.runs).toHaveLength(1);
		// The inbound log opened the 24 h window for this contact.
		const store = await openStore({ type: 'embedded', path: databasePath });
		const last = await store.getLastInbound([{ contactId: '+34600111222', channel: 'whatsapp' }]);
		expect(Date.now() - [...last.values()][0]).toBeLessThan(120_000);
	});

	it('with Include Status Updates the same batch gives 5 events', async () => {
		const s2 = await startWebhookServer(triggerWorkflow('meta', { includeStatuses: true }), {
			trigger: 'Inbound',
			credentials,
		});
		try {
			const body = waPayload(
				[
					waText('wamid.D1', '34600111222', 'a'),
					waText('wamid.D2', '34600111222', 'b'),
					waText('wamid.D3', '34600111222', 'c'),
				],
				[
					{ id: 'wamid.OUT3', status: 'sent', timestamp: String(now), recipient_id: '34600111222' },
					{
						id: 'wamid.OUT3',
						status: 'delivered',
						timestamp: String(now),
						recipient_id: '34600111222',
					},
				],
			);
			await postMeta(s2, body);
			expect(s2.runs[0].json('Inbound').map((e) => e.status ?? e.kind)).toEqual([
				'text',
				'text',
				'text',
				'sent',
				'delivered',
			]);
		} finally {
			await s2.stop();
		}
	});

	it('a status names the send it is about: the person it went to, its campaign and key, so a Journey moves that person on "read"', async () => {
		const store = await openStore({ type: 'embedded', path: databasePath });
		await store.reserveTouches([
			{
				idempotencyKey: 'spring-noa',
				contactId: 'crm-noa',
				channel: 'whatsapp',
				purpose: 'marketing',
				campaign: 'spring',
				caps: [],
			},
		]);
		await store.completeTouch('spring-noa', { status: 'sent', providerMessageId: 'wamid.SENT9' });
		const wf = triggerWorkflow('meta', { includeStatuses: true });
		const journey = makeNode(
			{
				type: 'journey',
				name: 'Journey',
				parameters: {
					operation: 'trackEvent',
					journeyName: 'Spring',
					moves: { move: [{ event: 'read', stage: 'Interest' }] },
					contactIdField: 'contactId',
					eventField: 'status',
					eventIdField: 'eventId',
				},
				credentials: { convergentStoreApi: 'Store' },
			},
			[220, 0],
		);
		wf.nodes.push(journey);
		wf.connections = { Inbound: { main: [[{ node: 'Journey', type: 'main', index: 0 }]] } };
		const s3 = await startWebhookServer(wf, { trigger: 'Inbound', credentials });
		try {
			await postMeta(
				s3,
				waPayload(
					[],
					[
						{
							id: 'wamid.SENT9',
							status: 'read',
							timestamp: String(now),
							recipient_id: '34600999000',
						},
						{
							id: 'wamid.UNKNOWN',
							status: 'read',
							timestamp: String(now),
							recipient_id: '34600999001',
						},
					],
				),
			);
			await s3.settled();
			const [known, unknown] = s3.runs[0].json('Inbound');
			expect(known).toMatchObject({
				kind: 'status',
				status: 'read',
				contactId: 'crm-noa',
				eventId: 'status:read:wamid.SENT9',
				touch: {
					idempotencyKey: 'spring-noa',
					campaign: 'spring',
					channel: 'whatsapp',
					purpose: 'marketing',
				},
			});
			// A status for a message this store never sent keeps the recipient's id, and says so.
			expect(unknown).toMatchObject({ contactId: '+34600999001', touch: null });
			expect((await store.getJourneyStates('Spring', ['crm-noa'])).get('crm-noa')?.stage).toBe(
				'Interest',
			);
		} finally {
			await s3.stop();
		}
	});

	it("a failed status reporting 131050 (stopped marketing on WhatsApp) withdraws that person's WhatsApp marketing consent, not service", async () => {
		const store = await openStore({ type: 'embedded', path: databasePath });
		await store.recordConsent(
			['marketing', 'service'].map((purpose) => ({
				contactId: 'crm-ivy',
				channel: 'whatsapp' as const,
				purpose,
				address: '+34600888111',
				action: 'grant' as const,
				evidence: { source: 'checkout' },
				occurredAt: Date.now() - 60_000,
			})),
		);
		await store.reserveTouches([
			{
				idempotencyKey: 'wa-optout-1',
				contactId: 'crm-ivy',
				channel: 'whatsapp',
				purpose: 'marketing',
				campaign: 'autumn',
				caps: [],
			},
		]);
		await store.completeTouch('wa-optout-1', {
			status: 'sent',
			providerMessageId: 'wamid.OPTOUT1',
		});
		await postMeta(
			server,
			waPayload(
				[],
				[
					{
						id: 'wamid.OPTOUT1',
						status: 'failed',
						timestamp: String(now),
						recipient_id: '34600888111',
						errors: [{ code: 131050, title: 'User has stopped marketing messages' }],
					},
				],
			),
		);
		const states = await store.getConsentStates(
			['marketing', 'service'].map((purpose) => ({
				contactId: 'crm-ivy',
				channel: 'whatsapp' as const,
				purpose,
			})),
		);
		expect([...states.values()].map((st) => [st.purpose, st.status]).sort()).toEqual([
			['marketing', 'withdrawn'],
			['service', 'granted'],
		]);
	});

	const guardOn =
		(channel: string, purpose = 'marketing') =>
		(items: IDataObject[]) =>
			runWorkflow(
				manualWorkflow({
					items,
					node: {
						type: 'consentGuard',
						name: 'Guard',
						parameters: {
							operation: 'check',
							channel,
							purpose,
							messageKind: 'template',
							quietHours: { enabled: false },
							frequencyCaps: { caps: [] },
							campaign: '={{ $json.c }}',
						},
						credentials: { convergentStoreApi: 'Store' },
					},
				}),
				{ credentials },
			);
	const grantOn = (contact: IDataObject, at: number, purpose = 'marketing') =>
		runWorkflow(
			manualWorkflow({
				items: [{ ...contact, at: new Date(at).toISOString() }],
				node: {
					type: 'consentGuard',
					parameters: {
						operation: 'recordConsent',
						channel: 'whatsapp',
						purpose,
						consentAction: 'grant',
						source: 'web',
						evidence: { wording: 'Yes, send me offers on WhatsApp' },
						recordOptions: { occurredAtField: 'at' },
					},
					credentials: { convergentStoreApi: 'Store' },
				},
			}),
			{ credentials },
		);
	const textAt = (id: string, from: string, body: string, seconds: number) => ({
		from,
		id,
		timestamp: String(seconds),
		type: 'text',
		text: { body },
	});
	const stateOf = async (contactId: string, purpose: string) =>
		(
			await (
				await openStore({ type: 'embedded', path: databasePath })
			).getConsentStates([{ contactId, channel: 'whatsapp', purpose }])
		).get(`${contactId}\u0000whatsapp\u0000${purpose}`)?.status;

	it('STOP withdraws consent (Consent Guard then blocks WhatsApp); START restores exactly what the STOP withdrew', async () => {
		const guard = guardOn('whatsapp');
		const contact = { contact: { id: '+34600111222', phone: '+34600111222' } };
		const t = Math.floor(Date.now() / 1000);
		await grantOn(contact, (t - 60) * 1000);
		expect((await guard([{ ...contact, c: '1' }])).json('Guard', 0)).toHaveLength(1);

		await postMeta(server, waPayload([textAt('wamid.STOP', '34600111222', ' Stop ', t - 30)]));
		expect(server.runs.at(-1)!.json('Inbound')[0]).toMatchObject({
			keyword: 'stop',
			text: ' Stop ',
		});
		expect((await guard([{ ...contact, c: '2' }])).json('Guard', 1)[0].blocked).toMatchObject({
			reason: 'WITHDRAWN',
		});

		await postMeta(server, waPayload([textAt('wamid.START', '34600111222', 'START', t - 20)]));
		expect((await guard([{ ...contact, c: '3' }])).json('Guard', 0)).toHaveLength(1);
		// The service purpose was never granted: the STOP withdrew nothing there, so START restores nothing.
		expect(await stateOf('+34600111222', 'service')).toBe('withdrawn');
		const ledger = (
			await (
				await openStore({ type: 'embedded', path: databasePath })
			).exportContact('+34600111222')
		).consentLedger;
		expect(
			ledger
				.filter((e) => e.channel === 'whatsapp' && e.purpose === 'marketing')
				.sort((a, b) => a.id - b.id)
				.map((e) => [e.action, e.evidence.source, e.evidence.wording]),
		).toEqual([
			['grant', 'web', 'Yes, send me offers on WhatsApp'],
			['withdraw', 'whatsapp-keyword', ' Stop '],
			['restore', 'whatsapp-keyword', 'START'],
		]);
	});

	it('a START re-delivered with a time before the latest STOP restores nothing and says so on its item (superseded by the STOP, from when)', async () => {
		const guard = guardOn('whatsapp');
		const contact = { contact: { id: '+34600111333', phone: '+34600111333' } };
		const t = Math.floor(Date.now() / 1000);
		await grantOn(contact, (t - 120) * 1000);
		await postMeta(server, waPayload([textAt('wamid.STOP-R', '34600111333', 'STOP', t - 30)]));
		await postMeta(server, waPayload([textAt('wamid.START-OLD', '34600111333', 'START', t - 90)]));
		const item = server.runs.at(-1)!.json('Inbound')[0];
		expect(item).toMatchObject({
			keyword: 'start',
			supersededBy: { action: 'withdraw', at: new Date((t - 30) * 1000).toISOString() },
		});
		expect((await guard([{ ...contact, c: 'r1' }])).json('Guard', 1)[0].blocked).toMatchObject({
			reason: 'WITHDRAWN',
		});
	});

	it('a STOP from a sender whose phone and business-scoped id belong to two contacts withdraws both (an opt-out is never lost to a data conflict)', async () => {
		const store = await openStore({ type: 'embedded', path: databasePath });
		await store.resolveContacts(
			[
				{ id: 'crm-phone', addresses: [{ kind: 'phone', value: '+34600123111' }] },
				{ id: 'crm-bsuid', addresses: [{ kind: 'whatsapp', value: 'ES.bsuid.111' }] },
			],
			{ create: true, link: true },
		);
		const t = Math.floor(Date.now() / 1000);
		await grantOn({ contact: { id: 'crm-phone', phone: '+34600123111' } }, (t - 60) * 1000);
		await grantOn({ contact: { id: 'crm-bsuid', whatsappId: 'ES.bsuid.111' } }, (t - 60) * 1000);
		const body = {
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
									{ profile: { name: 'Dual' }, wa_id: '34600123111', user_id: 'ES.bsuid.111' },
								],
								messages: [
									{
										from: '34600123111',
										from_user_id: 'ES.bsuid.111',
										id: 'wamid.DUAL',
										timestamp: String(t - 10),
										type: 'text',
										text: { body: 'STOP' },
									},
								],
							},
						},
					],
				},
			],
		};
		expect((await postMeta(server, body)).status).toBe(200);
		const event = server.runs.at(-1)!.json('Inbound')[0];
		expect(event).toMatchObject({ contactId: 'crm-phone', keyword: 'stop' });
		expect(String((event.identityConflict as IDataObject).message)).toContain('crm-bsuid');
		expect([
			await stateOf('crm-phone', 'marketing'),
			await stateOf('crm-bsuid', 'marketing'),
		]).toEqual(['withdrawn', 'withdrawn']);
	});

	it('a bare "yes" or START from someone who never opted in grants nothing; YES re-subscribes only right after a STOP', async () => {
		const guard = guardOn('whatsapp');
		const t = Math.floor(Date.now() / 1000);
		const stranger = { contact: { id: '+34600222333', phone: '+34600222333' } };
		for (const [i, word] of ['Yes', 'yes', 'START', 'Sí', 'UNSTOP'].entries()) {
			await postMeta(
				server,
				waPayload([textAt(`wamid.yes.${i}`, '34600222333', word, t - 50 + i)]),
			);
		}
		const blocked = (await guard([{ ...stranger, c: 'y' }])).json('Guard', 1);
		expect(blocked.map((b) => (b.blocked as IDataObject).reason)).toEqual(['NO_CONSENT']);
		expect(await stateOf('+34600222333', 'service')).toBeUndefined();
		// A "yes" that is not a re-subscription is an ordinary answer: no keyword on the event.
		expect(server.runs.at(-5)!.json('Inbound')[0].keyword).toBeUndefined();

		// Granted, then STOP, then "Yes": restored (carriers treat YES after STOP as re-subscribe).
		const ana = { contact: { id: '+34600333444', phone: '+34600333444' } };
		await grantOn(ana, (t - 100) * 1000);
		await postMeta(server, waPayload([textAt('wamid.ana.stop', '34600333444', 'STOP', t - 40)]));
		await postMeta(server, waPayload([textAt('wamid.ana.yes', '34600333444', 'Yes', t - 30)]));
		expect(server.runs.at(-1)!.json('Inbound')[0].keyword).toBe('start');
		expect((await guard([{ ...ana, c: 'a' }])).json('Guard', 0)).toHaveLength(1);
	});

	it('consent follows event time, not arrival: a re-delivered START older than a later STOP leaves the person withdrawn', async () => {
		const guard = guardOn('whatsapp');
		const t = Math.floor(Date.now() / 1000);
		const bo = { contact: { id: '+34600444555', phone: '+34600444555' } };
		await grantOn(bo, (t - 300) * 1000);
		await postMeta(server, waPayload([textAt('wamid.bo.stop1', '34600444555', 'STOP', t - 200)]));
		// START at t-100, then STOP at t-50, but the STOP arrives first.
		await postMeta(server, waPayload([textAt('wamid.bo.stop2', '34600444555', 'STOP', t - 50)]));
		await postMeta(server, waPayload([textAt('wamid.bo.start', '34600444555', 'START', t - 100)]));
		expect(await stateOf('+34600444555', 'marketing')).toBe('withdrawn');
		expect((await guard([{ ...bo, c: 'b' }])).json('Guard', 1)[0].blocked).toMatchObject({
			reason: 'WITHDRAWN',
		});
	});

	it('normalises Messenger messages, quick replies and ignores echoes', async () => {
		const body = {
			object: 'page',
			entry: [
				{
					id: 'PAGE',
					time: Date.now(),
					messaging: [
						{
							sender: { id: '2411' },
							recipient: { id: 'PAGE' },
							timestamp: Date.now(),
							message: { mid: 'm_1', text: 'Quiero reservar' },
						},
						{
							sender: { id: '2411' },
							recipient: { id: 'PAGE' },
							timestamp: Date.now(),
							message: { mid: 'm_2', text: 'Mañana', quick_reply: { payload: 'DAY_TOMORROW' } },
						},
						{
							sender: { id: 'PAGE' },
							recipient: { id: '2411' },
							timestamp: Date.now(),
							message: { mid: 'm_3', text: 'echo', is_echo: true },
						},
					],
				},
			],
		};
		await postMeta(server, body);
		expect(
			server.runs
				.at(-1)!
				.json('Inbound')
				.map((e) => [e.channel, e.kind, e.contactId, e.payload ?? null]),
		).toEqual([
			['messenger', 'text', 'messenger:2411', null],
			['messenger', 'button', 'messenger:2411', 'DAY_TOMORROW'],
		]);
	});
});

describe('Touchpoint Trigger (Twilio SMS)', () => {
	let server: WebhookServer;
	beforeAll(async () => {
		server = await startWebhookServer(triggerWorkflow('twilio'), {
			trigger: 'Inbound',
			credentials,
		});
	});
	afterAll(() => server.stop());

	const post = (form: Record<string, string>, signature?: string) =>
		fetch(server.url, {
			method: 'POST',
			headers: {
				'content-type': 'application/x-www-form-urlencoded',
				...(signature ? { 'x-twilio-signature': signature } : {}),
			},
			body: new URLSearchParams(form).toString(),
		});

	it('a status callback reporting 21610 (the person texted STOP to Twilio) suppresses the number for the person the message went to', async () => {
		const store = await openStore({ type: 'embedded', path: databasePath });
		await store.reserveTouches([
			{
				idempotencyKey: 'sms-optout-1',
				contactId: 'crm-kai',
				channel: 'sms',
				purpose: 'marketing',
				campaign: 'autumn',
				caps: [],
			},
		]);
		const sid = 'SM' + 'b'.repeat(32);
		await store.completeTouch('sms-optout-1', { status: 'sent', providerMessageId: sid });
		const form = {
			MessageSid: sid,
			SmsSid: sid,
			MessageStatus: 'undelivered',
			ErrorCode: '21610',
			From: '+15550100000',
			To: '+34600777555',
			AccountSid: 'AC' + 'c'.repeat(32),
		};
		expect((await post(form, twilioSignature(TWILIO_TOKEN, server.url, form))).status).toBe(200);
		expect(
			(await store.findSuppressions(['+34600777555'])).map((x) => [x.channel, x.reason]),
		).toEqual([['sms', 'unsubscribed']]);
		// A forged callback changes nothing.
		const forged = { ...form, To: '+34600777556' };
		expect(
			(await post(forged, twilioSignature('wrongwrongwrongwrongwrongwrong12', server.url, forged)))
				.status,
		).toBe(401);
		expect(await store.findSuppressions(['+34600777556'])).toEqual([]);
	});

	it('accepts a correctly signed SMS (answering TwiML) and rejects a bad signature', async () => {
		const form = {
			MessageSid: 'SM' + 'a'.repeat(32),
			From: '+34600999888',
			To: '+15550100000',
			Body: 'STOP',
			NumMedia: '0',
		};
		const bad = await post(
			form,
			twilioSignature('wrongwrongwrongwrongwrongwrong12', server.url, form),
		);
		expect(bad.status).toBe(401);
		const ok = await post(form, twilioSignature(TWILIO_TOKEN, server.url, form));
		expect(ok.status).toBe(200);
		expect(await ok.text()).toBe('<Response></Response>');
		expect(server.runs[0].json('Inbound')[0]).toMatchObject({
			channel: 'sms',
			keyword: 'stop',
			contactId: '+34600999888',
		});
		const store = await openStore({ type: 'embedded', path: databasePath });
		const states = await store.getConsentStates([
			{ contactId: '+34600999888', channel: 'sms', purpose: 'marketing' },
		]);
		expect([...states.values()][0].status).toBe('withdrawn');
	});

	it('a captured request re-cut into other names and values keeps its signature but is refused (400), and starts nothing', async () => {
		const sid = 'SM' + 'b'.repeat(32);
		const form = {
			Body: 'hi',
			From: '+34600999777',
			MessageSid: sid,
			NumMedia: '0',
			To: '+15550100000',
		};
		const signature = twilioSignature(TWILIO_TOKEN, server.url, form);
		// "…MessageSid" + "SMbbb…" + "NumMedia" + "0" + "To…" re-cut into a new MessageSid (which would
		// pass de-duplication as a new message): the signed string is the same.
		const recut = {
			Body: 'hi',
			From: '+34600999777',
			MessageSid: `${sid}NumMedia0`,
			To: '+15550100000',
		};
		expect(twilioSignature(TWILIO_TOKEN, server.url, recut)).toBe(signature);
		const runs = server.runs.length;
		const res = await post(recut, signature);
		expect(res.status).toBe(400);
		expect(await res.text()).toMatch(/MessageSid/);
		// A malformed SID in an otherwise valid request is refused as well.
		const badSid = { ...form, MessageSid: 'SM123' };
		expect((await post(badSid, twilioSignature(TWILIO_TOKEN, server.url, badSid))).status).toBe(
			400,
		);
		expect(server.runs.length).toBe(runs);
	});

	it('with Public URL set, a request whose URL has a query string is verified against the public URL plus that query', async () => {
		const publicUrl = 'https://n8n.example.com/webhook/inbound-sms/webhook';
		const s2 = await startWebhookServer(triggerWorkflow('twilio', { publicUrl }), {
			trigger: 'Inbound',
			credentials,
		});
		try {
			const form = {
				MessageSid: 'SM' + 'c'.repeat(32),
				From: '+34600999666',
				To: '+15550100000',
				Body: 'Hola',
				NumMedia: '0',
			};
			const query = '?tenant=acme&src=sms';
			const res = await fetch(`${s2.url}${query}`, {
				method: 'POST',
				headers: {
					'content-type': 'application/x-www-form-urlencoded',
					'x-twilio-signature': twilioSignature(TWILIO_TOKEN, `${publicUrl}${query}`, form),
				},
				body: new URLSearchParams(form).toString(),
			});
			expect(res.status).toBe(200);
			expect(s2.runs[0].json('Inbound')[0]).toMatchObject({
				text: 'Hola',
				contactId: '+34600999666',
			});
		} finally {
			await s2.stop();
		}
	});

	it('tolerates the URL with and without the default port', () => {
		expect(twilioUrlVariants('https://n8n.example.com/webhook/x')).toContain(
			'https://n8n.example.com:443/webhook/x',
		);
		expect(twilioUrlVariants('https://n8n.example.com:443/webhook/x')).toContain(
			'https://n8n.example.com/webhook/x',
		);
	});
});

describe('Touchpoint Trigger: Download Media', () => {
	const meta = new MetaGraphMock();
	const twilio = new TwilioMock();
	const servers: WebhookServer[] = [];
	const mediaCredentials = () => ({
		...credentials,
		whatsAppCloudApi: {
			accessToken: meta.accessToken,
			phoneNumberId: meta.phoneNumberId,
			apiVersion: 'v21.0',
			baseUrl: meta.baseUrl,
		},
	});
	const start = async (
		provider: string,
		downloadMedia: boolean,
		options: IDataObject = {},
		withWhatsApp = true,
	) => {
		const wf = triggerWorkflow(provider, options);
		wf.nodes[0].parameters.downloadMedia = downloadMedia;
		if (withWhatsApp)
			(wf.nodes[0].credentials as IDataObject).whatsAppCloudApi = { id: 'WA', name: 'WA' };
		const server = await startWebhookServer(wf, {
			trigger: 'Inbound',
			credentials: withWhatsApp ? mediaCredentials() : credentials,
		});
		servers.push(server);
		return server;
	};
	const bytesOf = (item: { binary?: IDataObject }, name: string) =>
		Buffer.from(String((item.binary![name] as IDataObject).data), 'base64');
	beforeAll(async () => {
		await Promise.all([meta.start(), twilio.start()]);
		twilio.authToken = TWILIO_TOKEN;
	});
	afterAll(async () => {
		for (const s of servers) await s.stop();
		await Promise.all([meta.stop(), twilio.stop()]);
	});

	it('WhatsApp: the media id is resolved and fetched with the token into media_0 (checked against its SHA-256), the provider answered first; a document keeps its file name', async () => {
		const server = await start('meta', true);
		const jpeg = Buffer.concat([
			Buffer.from([0xff, 0xd8, 0xff, 0xe0]),
			Buffer.from('a photo of my skin'),
		]);
		const pdf = Buffer.from('%PDF-1.4 my prescription');
		const img = meta.addMedia(jpeg, 'image/jpeg');
		const doc = meta.addMedia(pdf, 'application/pdf');
		const res = await postMeta(
			server,
			waPayload([
				{
					from: '34600111222',
					id: 'wamid.MEDIA1',
					timestamp: String(now),
					type: 'image',
					image: {
						id: img.id,
						mime_type: 'image/jpeg',
						sha256: img.sha256,
						caption: 'Is this ok?',
					},
				},
				{
					from: '34600111222',
					id: 'wamid.MEDIA2',
					timestamp: String(now),
					type: 'document',
					document: {
						id: doc.id,
						mime_type: 'application/pdf',
						sha256: doc.sha256,
						filename: 'prescription.pdf',
					},
				},
			]),
		);
		expect(res).toEqual({ status: 200, text: 'EVENT_RECEIVED' });
		await server.settled();
		const items = server.runs.at(-1)!.items('Inbound');
		expect(
			items.map((i) => [
				i.json.providerMessageId,
				i.json.text ?? null,
				(i.json.media as IDataObject[])[0].binaryProperty,
			]),
		).toEqual([
			['wamid.MEDIA1', 'Is this ok?', 'media_0'],
			['wamid.MEDIA2', null, 'media_0'],
		]);
		expect(bytesOf(items[0], 'media_0').equals(jpeg)).toBe(true);
		expect(items[0].binary!.media_0).toMatchObject({
			mimeType: 'image/jpeg',
			fileName: 'whatsapp-wamid.MEDIA1-0.jpg',
		});
		expect(bytesOf(items[1], 'media_0').equals(pdf)).toBe(true);
		expect(items[1].binary!.media_0).toMatchObject({
			mimeType: 'application/pdf',
			fileName: 'prescription.pdf',
		});
		const gets = meta.requests.filter((r) => r.method === 'GET');
		expect(gets.map((r) => r.path).sort()).toEqual(
			[
				`/v21.0/${img.id}`,
				`/v21.0/${doc.id}`,
				`/media-download/${img.id}`,
				`/media-download/${doc.id}`,
			].sort(),
		);
		expect(gets.every((r) => r.headers.authorization === `Bearer ${meta.accessToken}`)).toBe(true);
		expect(JSON.stringify(items.map((i) => i.json))).not.toContain(meta.accessToken);
	});

	it('a file that does not match its SHA-256, one over Max Media Size, or WhatsApp media without the credential: no binary, the reason on the media entry, the message still starts the workflow', async () => {
		const server = await start('meta', true, { maxMediaSize: 1 });
		const ok = meta.addMedia(Buffer.from('real bytes'), 'image/png');
		const big = meta.addMedia(Buffer.alloc(1024 * 1024 + 10, 7), 'video/mp4');
		const before = meta.downloads;
		await postMeta(
			server,
			waPayload([
				{
					from: '34600111222',
					id: 'wamid.SHA',
					timestamp: String(now),
					type: 'image',
					image: { id: ok.id, mime_type: 'image/png', sha256: 'f'.repeat(64) },
				},
				{
					from: '34600111222',
					id: 'wamid.BIG',
					timestamp: String(now),
					type: 'video',
					video: { id: big.id, mime_type: 'video/mp4', sha256: big.sha256 },
				},
			]),
		);
		await server.settled();
		const items = server.runs.at(-1)!.items('Inbound');
		expect(
			items.map((i) => [
				i.json.providerMessageId,
				i.binary ?? null,
				(i.json.media as IDataObject[])[0].downloadError,
			]),
		).toEqual([
			[
				'wamid.SHA',
				null,
				'The downloaded file does not match the SHA-256 WhatsApp gave for it: not kept',
			],
			['wamid.BIG', null, 'The file is 1.0 MB; Max Media Size is 1 MB'],
		]);
		// The large file's size was known before downloading it: only the first was fetched.
		expect(meta.downloads - before).toBe(1);

		const noKey = await start('meta', true, {}, false);
		await postMeta(
			noKey,
			waPayload([
				{
					from: '34600111222',
					id: 'wamid.NOKEY',
					timestamp: String(now),
					type: 'image',
					image: { id: ok.id, mime_type: 'image/png', sha256: ok.sha256 },
				},
			]),
		);
		await noKey.settled();
		expect((noKey.runs.at(-1)!.json('Inbound')[0].media as IDataObject[])[0].downloadError).toBe(
			'Select a WhatsApp Cloud API credential on the trigger to download WhatsApp media',
		);
	});

	it("without Download Media nothing is fetched; Messenger attachments come from their URL; Twilio MMS media with the account's basic auth into media_0 and media_1", async () => {
		const off = await start('meta', false);
		const img = meta.addMedia(Buffer.from('x'), 'image/png');
		const before = meta.requests.length;
		await postMeta(
			off,
			waPayload([
				{
					from: '34600111222',
					id: 'wamid.OFF',
					timestamp: String(now),
					type: 'image',
					image: { id: img.id, mime_type: 'image/png', sha256: img.sha256 },
				},
			]),
		);
		await off.settled();
		expect(off.runs.at(-1)!.items('Inbound')[0].binary).toBeUndefined();
		expect(meta.requests.length).toBe(before);

		// The mocks live on this machine: named in Media Hosts, as a self-hoster names a media proxy.
		const server = await start('meta', true, { mediaHosts: '127.0.0.1' });
		const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]);
		meta.cdn.set('look.png', { bytes: png, mimeType: 'image/png' });
		await postMeta(server, {
			object: 'page',
			entry: [
				{
					id: 'PAGE',
					time: Date.now(),
					messaging: [
						{
							sender: { id: '2412' },
							recipient: { id: 'PAGE' },
							timestamp: Date.now(),
							message: {
								mid: 'm_media',
								attachments: [{ type: 'image', payload: { url: `${meta.baseUrl}/cdn/look.png` } }],
							},
						},
					],
				},
			],
		});
		await server.settled();
		const [m] = server.runs.at(-1)!.items('Inbound');
		expect(bytesOf(m, 'media_0').equals(png)).toBe(true);
		expect(
			meta.requests
				.filter((r) => r.path === '/cdn/look.png')
				.map((r) => r.headers.authorization ?? null),
		).toEqual([null]);

		const sms = await start('twilio', true, { mediaHosts: '127.0.0.1' });
		const sid = 'AC' + 'a'.repeat(32);
		twilio.accountSid = sid;
		twilio.media.set('ME1', { bytes: Buffer.from('jpeg one'), mimeType: 'image/jpeg' });
		twilio.media.set('ME2', { bytes: Buffer.from('gif two'), mimeType: 'image/gif' });
		const msg = 'MM' + 'd'.repeat(32);
		const form = {
			MessageSid: msg,
			SmsSid: msg,
			AccountSid: sid,
			From: '+34600999555',
			To: '+15550100000',
			Body: 'my photos',
			NumMedia: '2',
			MediaUrl0: `${twilio.baseUrl}/2010-04-01/Accounts/${sid}/Messages/${msg}/Media/ME1`,
			MediaContentType0: 'image/jpeg',
			MediaUrl1: `${twilio.baseUrl}/2010-04-01/Accounts/${sid}/Messages/${msg}/Media/ME2`,
			MediaContentType1: 'image/gif',
		};
		const res = await fetch(sms.url, {
			method: 'POST',
			headers: {
				'content-type': 'application/x-www-form-urlencoded',
				'x-twilio-signature': twilioSignature(TWILIO_TOKEN, sms.url, form),
			},
			body: new URLSearchParams(form).toString(),
		});
		expect(res.status).toBe(200);
		await sms.settled();
		const [item] = sms.runs.at(-1)!.items('Inbound');
		expect([bytesOf(item, 'media_0').toString(), bytesOf(item, 'media_1').toString()]).toEqual([
			'jpeg one',
			'gif two',
		]);
		expect((item.json.media as IDataObject[]).map((x) => [x.binaryProperty, x.mimeType])).toEqual([
			['media_0', 'image/jpeg'],
			['media_1', 'image/gif'],
		]);
		expect(
			twilio.requests
				.filter((r) => r.method === 'GET')
				.every(
					(r) =>
						r.headers.authorization ===
						`Basic ${Buffer.from(`${sid}:${TWILIO_TOKEN}`).toString('base64')}`,
				),
		).toBe(true);
	});

	it("Twilio MMS media that redirects to its CDN on another host: the file arrives, the account's credentials do not follow the redirect", async () => {
		const sms = await start('twilio', true, { mediaHosts: '127.0.0.1, localhost' });
		const sid = 'AC' + 'b'.repeat(32);
		twilio.accountSid = sid;
		// The CDN is another host (localhost, not 127.0.0.1, and another port), as S3 is for Twilio.
		const cdnBase = `${meta.baseUrl.replace('127.0.0.1', 'localhost')}/cdn/`;
		twilio.mediaRedirect = cdnBase;
		meta.cdn.set('ME9', { bytes: Buffer.from('photo on the cdn'), mimeType: 'image/jpeg' });
		try {
			const msg = 'MM' + 'e'.repeat(32);
			const form = {
				MessageSid: msg,
				SmsSid: msg,
				AccountSid: sid,
				From: '+34600999556',
				To: '+15550100000',
				Body: 'look',
				NumMedia: '1',
				MediaUrl0: `${twilio.baseUrl}/2010-04-01/Accounts/${sid}/Messages/${msg}/Media/ME9`,
				MediaContentType0: 'image/jpeg',
			};
			const cdnBefore = meta.requests.length;
			const res = await fetch(sms.url, {
				method: 'POST',
				headers: {
					'content-type': 'application/x-www-form-urlencoded',
					'x-twilio-signature': twilioSignature(TWILIO_TOKEN, sms.url, form),
				},
				body: new URLSearchParams(form).toString(),
			});
			expect(res.status).toBe(200);
			await sms.settled();
			const [item] = sms.runs.at(-1)!.items('Inbound');
			expect(bytesOf(item, 'media_0').toString()).toBe('photo on the cdn');
			const atCdn = meta.requests.slice(cdnBefore).filter((r) => r.path === '/cdn/ME9');
			expect(atCdn).toHaveLength(1);
			expect(atCdn[0].headers.authorization).toBeUndefined();
			expect(JSON.stringify(atCdn[0].headers)).not.toContain(TWILIO_TOKEN);
		} finally {
			twilio.mediaRedirect = undefined;
		}
	});

	it('a URL a payload names is fetched only from the provider\'s media hosts: an attachment on this machine, a shared link ("fallback"), and a redirect to a host nobody named are not fetched, each saying why', async () => {
		// Nothing named: the Messenger attachment points at this machine (as a signed but hostile event could).
		const server = await start('meta', true);
		meta.cdn.set('secret.txt', { bytes: Buffer.from('internal'), mimeType: 'text/plain' });
		const before = meta.requests.length;
		await postMeta(server, {
			object: 'page',
			entry: [
				{
					id: 'PAGE',
					time: Date.now(),
					messaging: [
						{
							sender: { id: '2413' },
							recipient: { id: 'PAGE' },
							timestamp: Date.now(),
							message: {
								mid: 'm_ssrf',
								attachments: [
									{ type: 'image', payload: { url: `${meta.baseUrl}/cdn/secret.txt` } },
									{
										type: 'fallback',
										payload: { url: `${meta.baseUrl}/cdn/secret.txt` },
										title: 'a link',
									},
								],
							},
						},
					],
				},
			],
		});
		await server.settled();
		const [item] = server.runs.at(-1)!.items('Inbound');
		expect(item.binary).toBeUndefined();
		const media = item.json.media as IDataObject[];
		// Before, both were fetched and the body put on the item.
		expect(String(media[0].downloadError)).toMatch(
			/^http:\/\/127\.0\.0\.1 is not https: not fetched|127\.0\.0\.1 is not one of the provider's media hosts/,
		);
		expect(media[1].downloadError).toBeUndefined();
		expect(media[1].binaryProperty).toBeUndefined();
		expect(meta.requests.length).toBe(before);

		// Twilio named, its redirect to another host not: the hop is refused before it is requested.
		const sms = await start('twilio', true, { mediaHosts: '127.0.0.1' });
		const sid = 'AC' + 'c'.repeat(32);
		twilio.accountSid = sid;
		twilio.mediaRedirect = `${meta.baseUrl.replace('127.0.0.1', 'localhost')}/cdn/`;
		meta.cdn.set('ME7', { bytes: Buffer.from('elsewhere'), mimeType: 'image/jpeg' });
		try {
			const msg = 'MM' + 'f'.repeat(32);
			const form = {
				MessageSid: msg,
				SmsSid: msg,
				AccountSid: sid,
				From: '+34600999557',
				To: '+15550100000',
				Body: 'look',
				NumMedia: '1',
				MediaUrl0: `${twilio.baseUrl}/2010-04-01/Accounts/${sid}/Messages/${msg}/Media/ME7`,
				MediaContentType0: 'image/jpeg',
			};
			const cdnBefore = meta.requests.length;
			await fetch(sms.url, {
				method: 'POST',
				headers: {
					'content-type': 'application/x-www-form-urlencoded',
					'x-twilio-signature': twilioSignature(TWILIO_TOKEN, sms.url, form),
				},
				body: new URLSearchParams(form).toString(),
			});
			await sms.settled();
			const [mms] = sms.runs.at(-1)!.items('Inbound');
			expect(mms.binary).toBeUndefined();
			expect(String((mms.json.media as IDataObject[])[0].downloadError)).toMatch(
				/localhost is not (https|one of the provider's media hosts)/,
			);
			expect(meta.requests.slice(cdnBefore).filter((r) => r.path === '/cdn/ME7')).toEqual([]);
		} finally {
			twilio.mediaRedirect = undefined;
		}
	});
});
