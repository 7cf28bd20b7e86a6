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

import { metaSignature, twilioSignature, twilioUrlVariants } from '../../nodes/shared/inbound/signatures';
import { openStore } from '../../nodes/shared/store';
import { manualWorkflow, runWorkflow, makeNode, type WorkflowJson } from '../harness';
import { startWebhookServer, type WebhookServer } from '../harness/webhook';

const APP_SECRET = '0123456789abcdef0123456789abcdef';
const VERIFY = 'verify-me-please';
const TWILIO_TOKEN = 'fedcba9876543210fedcba9876543210';
const databasePath = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cm-trigger-')), 'store.sqlite');
const credentials = {
	metaWebhookApi: { appSecret: APP_SECRET, verifyToken: VERIFY },
	twilioWebhookApi: { authToken: TWILIO_TOKEN },
	convergentStoreApi: { storageType: 'embedded', databasePath },
};

function triggerWorkflow(provider: string, options: IDataObject = {}): WorkflowJson {
	const node = makeNode(
		{ type: 'touchpointTrigger', name: 'Inbound', parameters: { provider, options }, credentials: { metaWebhookApi: 'Meta', twilioWebhookApi: 'Twilio', convergentStoreApi: 'Store' } },
		[0, 0],
	);
	node.webhookId = randomUUID();
	return { name: 'inbound', nodes: [node], connections: {}, settings: { executionOrder: 'v1' } };
}

const now = Math.floor(Date.now() / 1000);
const waText = (id: string, from: string, body: string) => ({ from, id, timestamp: String(now), type: 'text', text: { body } });
const waPayload = (messages: object[], statuses: object[] = []) => ({
	object: 'whatsapp_business_account',
	entry: [{ id: 'WABA', changes: [{ field: 'messages', value: { messaging_product: 'whatsapp', metadata: { display_phone_number: '15550100000', phone_number_id: '106540352242922' }, contacts: [{ profile: { name: 'Ana' }, wa_id: '34600111222' }], messages, statuses } }] }],
});

async function postMeta(server: WebhookServer, body: object, sign: string | null = APP_SECRET, tamper = false) {
	const raw = JSON.stringify(body);
	const headers: Record<string, string> = { 'content-type': 'application/json' };
	if (sign !== null) headers['x-hub-signature-256'] = metaSignature(sign, raw);
	const res = await fetch(server.url, { method: 'POST', headers, body: tamper ? raw.replace('Ana', 'Eve') : raw });
	return { status: res.status, text: await res.text() };
}

describe('Touchpoint Trigger (Meta)', () => {
	let server: WebhookServer;
	beforeAll(async () => {
		server = await startWebhookServer(triggerWorkflow('meta'), { trigger: 'Inbound', credentials });
	});
	afterAll(() => server.stop());

	it('answers the GET verification only with the right verify token', async () => {
		const ok = await fetch(`${server.url}?hub.mode=subscribe&hub.verify_token=${VERIFY}&hub.challenge=1158201444`);
		expect([ok.status, await ok.text(), ok.headers.get('content-type')]).toEqual([200, '1158201444', 'text/plain']);
		const bad = await fetch(`${server.url}?hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1158201444`);
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
			[waText('wamid.A', '34600111222', 'Hola'), { from: '34600111222', id: 'wamid.B', timestamp: String(now), type: 'interactive', interactive: { type: 'button_reply', button_reply: { id: 'book', title: 'Book' } } }, { from: '34600111222', id: 'wamid.C', timestamp: String(now), type: 'image', image: { id: 'media-1', mime_type: 'image/jpeg', caption: 'look' } }],
			[{ id: 'wamid.OUT1', status: 'delivered', timestamp: String(now), recipient_id: '34600111222' }, { id: 'wamid.OUT2', status: 'read', timestamp: String(now), recipient_id: '34600111222' }],
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
		const s2 = await startWebhookServer(triggerWorkflow('meta', { includeStatuses: true }), { trigger: 'Inbound', credentials });
		try {
			const body = waPayload([waText('wamid.D1', '34600111222', 'a'), waText('wamid.D2', '34600111222', 'b'), waText('wamid.D3', '34600111222', 'c')], [
				{ id: 'wamid.OUT3', status: 'sent', timestamp: String(now), recipient_id: '34600111222' },
				{ id: 'wamid.OUT3', status: 'delivered', timestamp: String(now), recipient_id: '34600111222' },
			]);
			await postMeta(s2, body);
			expect(s2.runs[0].json('Inbound').map((e) => e.status ?? e.kind)).toEqual(['text', 'text', 'text', 'sent', 'delivered']);
		} finally {
			await s2.stop();
		}
	});

	it('STOP withdraws consent (Consent Guard then blocks WhatsApp); START re-allows', async () => {
		const guard = (items: IDataObject[]) =>
			runWorkflow(manualWorkflow({ items, node: { type: 'consentGuard', name: 'Guard', parameters: { operation: 'check', channel: 'whatsapp', messageKind: 'template', quietHours: { enabled: false }, frequencyCaps: { caps: [] }, campaign: '={{ $json.c }}' }, credentials: { convergentStoreApi: 'Store' } } }), { credentials });
		const contact = { contact: { id: '+34600111222', phone: '+34600111222' } };
		await runWorkflow(manualWorkflow({ items: [contact], node: { type: 'consentGuard', parameters: { operation: 'recordConsent', channel: 'whatsapp', consentAction: 'grant', source: 'web' }, credentials: { convergentStoreApi: 'Store' } } }), { credentials });
		expect((await guard([{ ...contact, c: '1' }])).json('Guard', 0)).toHaveLength(1);

		await postMeta(server, waPayload([waText('wamid.STOP', '34600111222', ' Stop ')]));
		expect(server.runs.at(-1)!.json('Inbound')[0]).toMatchObject({ keyword: 'stop', text: ' Stop ' });
		expect((await guard([{ ...contact, c: '2' }])).json('Guard', 1)[0].blocked).toMatchObject({ reason: 'WITHDRAWN' });

		await postMeta(server, waPayload([waText('wamid.START', '34600111222', 'START')]));
		expect((await guard([{ ...contact, c: '3' }])).json('Guard', 0)).toHaveLength(1);
		const ledger = (await (await openStore({ type: 'embedded', path: databasePath })).exportContact('+34600111222')).consentLedger;
		expect(ledger.filter((e) => e.channel === 'whatsapp' && e.purpose === 'marketing').sort((a, b) => a.id - b.id).map((e) => [e.action, e.evidence.source, e.evidence.wording])).toEqual([
			['grant', 'web', undefined],
			['withdraw', 'whatsapp-keyword', ' Stop '],
			['grant', 'whatsapp-keyword', 'START'],
		]);
	});

	it('normalises Messenger messages, quick replies and ignores echoes', async () => {
		const body = { object: 'page', entry: [{ id: 'PAGE', time: Date.now(), messaging: [
			{ sender: { id: '2411' }, recipient: { id: 'PAGE' }, timestamp: Date.now(), message: { mid: 'm_1', text: 'Quiero reservar' } },
			{ sender: { id: '2411' }, recipient: { id: 'PAGE' }, timestamp: Date.now(), message: { mid: 'm_2', text: 'Mañana', quick_reply: { payload: 'DAY_TOMORROW' } } },
			{ sender: { id: 'PAGE' }, recipient: { id: '2411' }, timestamp: Date.now(), message: { mid: 'm_3', text: 'echo', is_echo: true } },
		] }] };
		await postMeta(server, body);
		expect(server.runs.at(-1)!.json('Inbound').map((e) => [e.channel, e.kind, e.contactId, e.payload ?? null])).toEqual([
			['messenger', 'text', 'messenger:2411', null],
			['messenger', 'button', 'messenger:2411', 'DAY_TOMORROW'],
		]);
	});
});

describe('Touchpoint Trigger (Twilio SMS)', () => {
	let server: WebhookServer;
	beforeAll(async () => {
		server = await startWebhookServer(triggerWorkflow('twilio'), { trigger: 'Inbound', credentials });
	});
	afterAll(() => server.stop());

	const post = (form: Record<string, string>, signature?: string) =>
		fetch(server.url, {
			method: 'POST',
			headers: { 'content-type': 'application/x-www-form-urlencoded', ...(signature ? { 'x-twilio-signature': signature } : {}) },
			body: new URLSearchParams(form).toString(),
		});

	it('accepts a correctly signed SMS (answering TwiML) and rejects a bad signature', async () => {
		const form = { MessageSid: 'SM' + 'a'.repeat(32), From: '+34600999888', To: '+15550100000', Body: 'STOP', NumMedia: '0' };
		const bad = await post(form, twilioSignature('wrongwrongwrongwrongwrongwrong12', server.url, form));
		expect(bad.status).toBe(401);
		const ok = await post(form, twilioSignature(TWILIO_TOKEN, server.url, form));
		expect(ok.status).toBe(200);
		expect(await ok.text()).toBe('<Response></Response>');
		expect(server.runs[0].json('Inbound')[0]).toMatchObject({ channel: 'sms', keyword: 'stop', contactId: '+34600999888' });
		const store = await openStore({ type: 'embedded', path: databasePath });
		const states = await store.getConsentStates([{ contactId: '+34600999888', channel: 'sms', purpose: 'marketing' }]);
		expect([...states.values()][0].status).toBe('withdrawn');
	});

	it('tolerates the URL with and without the default port', () => {
		expect(twilioUrlVariants('https://n8n.example.com/webhook/x')).toContain('https://n8n.example.com:443/webhook/x');
		expect(twilioUrlVariants('https://n8n.example.com:443/webhook/x')).toContain('https://n8n.example.com/webhook/x');
	});
});
