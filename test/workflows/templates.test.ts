/**
 * The shipped templates (workflows/*.json): every parameter exists in the node's description at
 * that typeVersion, and each template runs in the harness against the loopback mocks, including
 * a blocked path.
 */
import { createHmac } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { IDataObject, INode, INodeProperties } from 'n8n-workflow';

import { metaSignature } from '../../nodes/shared/inbound/signatures';
import { openStore } from '../../nodes/shared/store';
import { getRegistry, PROJECT_ROOT, runWorkflow } from '../harness';
import { startWebhookServer } from '../harness/webhook';
import { FcmMock, MetaGraphMock, OpenAIMock, SmtpMock, TwilioMock } from '../mocks';
import { grantConsent } from '../helpers/people';
import { loadLive } from './template-helpers';
import { waWebhookBody } from '../helpers/whatsapp';

const DIR = path.join(PROJECT_ROOT, 'workflows');
const LANGCHAIN = '@n8n/n8n-nodes-langchain.';
const templates = fs.readdirSync(DIR).filter((f) => f.endsWith('.json'));
const load = (f: string) => loadLive(f);

function unknownParameters(props: INodeProperties[], params: IDataObject, where: string): string[] {
	const out: string[] = [];
	for (const [key, value] of Object.entries(params)) {
		const candidates = props.filter((p) => p.name === key);
		if (candidates.length === 0) {
			out.push(`${where}.${key}`);
			continue;
		}
		for (const p of candidates) {
			if (p.type === 'collection' && value && typeof value === 'object') {
				out.push(
					...unknownParameters(
						(p.options ?? []) as INodeProperties[],
						value as IDataObject,
						`${where}.${key}`,
					),
				);
			}
		}
	}
	return out;
}

describe('templates', () => {
	it('there are templates, each a valid n8n workflow with sticky notes', () => {
		expect(templates.length).toBeGreaterThanOrEqual(1);
		for (const f of templates) {
			const wf = load(f);
			expect(wf.nodes.some((n) => n.type === 'n8n-nodes-base.stickyNote')).toBe(true);
			// n8n's own nodes (its AI nodes ship with n8n too) and this package's.
			for (const n of wf.nodes)
				if (!n.type.startsWith('n8n-nodes-base.') && !n.type.startsWith(LANGCHAIN))
					expect(n.type).toMatch(/^n8n-nodes-convergent-marketing\.[a-zA-Z]+$/);
			for (const [src, c] of Object.entries(wf.connections)) {
				expect(wf.nodes.find((n) => n.name === src)).toBeDefined();
				for (const outputs of Object.values(c))
					for (const out of outputs)
						for (const link of out ?? [])
							expect(wf.nodes.find((n) => n.name === link.node)).toBeDefined();
			}
		}
	});

	it.each(templates.map((f) => [f]))(
		"%s: every parameter exists in its node's description at that typeVersion",
		async (f) => {
			const registry = await getRegistry();
			const problems: string[] = [];
			for (const n of load(f).nodes as INode[]) {
				// n8n's AI nodes are not in the in-process harness: the real-n8n e2e imports and runs them.
				if (n.type.startsWith(LANGCHAIN)) continue;
				const type = registry.nodeTypes.getByNameAndVersion(n.type, n.typeVersion);
				problems.push(
					...unknownParameters(type.description.properties, n.parameters as IDataObject, n.name),
				);
			}
			expect(problems).toEqual([]);
		},
	);
});

describe('template: WhatsApp lead capture', () => {
	const meta = new MetaGraphMock();
	const ai = new OpenAIMock();
	const APP_SECRET = 'abcdefabcdefabcdefabcdefabcdef12';
	const databasePath = path.join(
		fs.mkdtempSync(path.join(os.tmpdir(), 'cm-tpl1-')),
		'store.sqlite',
	);
	let credentials: Record<string, IDataObject>;
	beforeAll(async () => {
		await Promise.all([meta.start(), ai.start()]);
		credentials = {
			metaWebhookApi: { appSecret: APP_SECRET, verifyToken: 'v' },
			whatsAppCloudApi: {
				accessToken: meta.accessToken,
				phoneNumberId: meta.phoneNumberId,
				apiVersion: 'v21.0',
				baseUrl: meta.baseUrl,
			},
			openAiCompatibleApi: { apiKey: ai.apiKey, baseUrl: `${ai.baseUrl}/v1` },
			convergentStoreApi: { storageType: 'embedded', databasePath },
		};
	});
	afterAll(async () => Promise.all([meta.stop(), ai.stop()]));

	it('captures a lead over chat, records consent, moves the journey; STOP withdraws and is confirmed once', async () => {
		const server = await startWebhookServer(load('whatsapp-lead-capture.json'), {
			trigger: 'WhatsApp Inbound',
			credentials: credentials as never,
		});
		let n = 0;
		// A typed text, or a tap on a reply button (WhatsApp sends the button's id).
		const write = async (text: string, button?: { id: string; title: string }) => {
			meta.setLastInbound('34611222333', Date.now());
			const message = button
				? {
						from: '34611222333',
						id: `wamid.t1.${++n}`,
						timestamp: String(Math.floor(Date.now() / 1000)),
						type: 'interactive',
						interactive: { type: 'button_reply', button_reply: button },
					}
				: {
						from: '34611222333',
						id: `wamid.t1.${++n}`,
						timestamp: String(Math.floor(Date.now() / 1000)),
						type: 'text',
						text: { body: text },
					};
			const body = waWebhookBody({
				phoneNumberId: meta.phoneNumberId,
				name: 'Lia',
				waId: '34611222333',
				messages: [message],
			});
			const res = await fetch(server.url, {
				method: 'POST',
				headers: {
					'content-type': 'application/json',
					'x-hub-signature-256': metaSignature(APP_SECRET, body),
				},
				body,
			});
			expect(res.status).toBe(200);
			await server.settled();
			const run = server.runs.at(-1);
			if (run?.error) throw run.error;
			const last = meta.requests.at(-1)?.body;
			if (last?.type !== 'interactive') return last?.text?.body as string | undefined;
			// Buttons (or a list) as the person sees them: the text, then each choice.
			const i = last.interactive;
			const options =
				i.type === 'button'
					? i.action.buttons.map(
							(b: { reply: { id: string; title: string } }) => `[${b.reply.id}: ${b.reply.title}]`,
						)
					: i.action.sections[0].rows.map(
							(r: { id: string; title: string }) => `<${r.id}: ${r.title}>`,
						);
			return `${i.body.text} ${options.join(' ')}`;
		};
		try {
			expect(await write('Hola')).toBe('Hi! What is your name?');
			expect(await write('Lia')).toBe('Thanks! What is your email?');
			expect(await write('lia@example')).toBe(
				'That does not look like an email address.\nThanks! What is your email?',
			);
			// The person sees the choices as reply buttons and taps one; the consent question too.
			expect(await write('lia@example.com')).toBe(
				'What are you interested in? [skin: Skincare] [hair: Haircare] [makeup: Makeup]',
			);
			expect(meta.requests.at(-1)?.body).toEqual({
				messaging_product: 'whatsapp',
				recipient_type: 'individual',
				to: '34611222333',
				type: 'interactive',
				interactive: {
					type: 'button',
					body: { text: 'What are you interested in?' },
					action: {
						buttons: [
							{ type: 'reply', reply: { id: 'skin', title: 'Skincare' } },
							{ type: 'reply', reply: { id: 'hair', title: 'Haircare' } },
							{ type: 'reply', reply: { id: 'makeup', title: 'Makeup' } },
						],
					},
				},
			});
			expect(await write('', { id: 'skin', title: 'Skincare' })).toBe(
				'May we send you offers on WhatsApp? (yes/no) [yes: Yes] [no: No]',
			);
			expect(await write('', { id: 'yes', title: 'Yes' })).toBe(
				'Thank you Lia! A beauty advisor will write to you soon.',
			);
			const store = await openStore({ type: 'embedded', path: databasePath });
			expect(
				(await store.getJourneyStates('Lead to Customer', ['+34611222333'])).get('+34611222333')
					?.stage,
			).toBe('Interest');
			const consent = () =>
				store.getConsentStates([
					{ contactId: '+34611222333', channel: 'whatsapp', purpose: 'marketing' },
				]);
			expect([...(await consent()).values()][0].status).toBe('granted');
			// The email typed in the chat is now one of this person's addresses.
			expect(
				(await store.getAddresses(['+34611222333'])).map((a) => `${a.kind}:${a.value}`).sort(),
			).toEqual(['email:lia@example.com', 'phone:+34611222333']);

			const before = meta.requests.length;
			expect(await write('STOP')).toBe(
				'You will not get more messages from us. Reply START to subscribe again.',
			);
			expect(meta.requests.length).toBe(before + 1);
			expect([...(await consent()).values()][0].status).toBe('withdrawn');
			// Blocked path: a marketing message to the opted-out person does not leave.
			const blocked = await runWorkflow(
				{
					nodes: [
						{
							id: 'm',
							name: 'Start',
							type: 'n8n-nodes-base.manualTrigger',
							typeVersion: 1,
							position: [0, 0],
							parameters: {},
						},
						{
							...load('whatsapp-lead-capture.json').nodes.find((x) => x.name === 'Thank You')!,
							parameters: {
								channel: 'whatsapp',
								purpose: 'marketing',
								whatsappType: 'template',
								templateName: 'promo',
								contactFields: { idField: 'contactId', phoneField: 'contact.phone' },
								options: {},
							},
						},
					],
					connections: { Start: { main: [[{ node: 'Thank You', type: 'main', index: 0 }]] } },
					pinData: {
						Start: [
							{
								json: {
									contactId: '+34611222333',
									contact: { phone: '+34611222333', timeZone: 'UTC' },
								},
							},
						],
					},
				},
				{ credentials: credentials as never },
			);
			expect(blocked.json('Thank You', 1)[0].touchpoint).toMatchObject({ reason: 'WITHDRAWN' });
			expect(meta.requests.length).toBe(before + 1);

			// Every message's run, whichever branch it took, ended in Mark Done: the durable inbox
			// holds nothing for Replay Unfinished, which sends nothing.
			expect(server.runs.every((r) => r.json('Mark Done').every((e) => e.inboxDone === true))).toBe(
				true,
			);
			expect(
				await store.claimInboxReplay('harness', {
					olderThan: Date.now() + 1,
					limit: 50,
					maxAttempts: 3,
				}),
			).toEqual({ replay: [], abandoned: [] });
			const replay = await runWorkflow(load('whatsapp-lead-capture.json'), {
				startNode: 'Every Minute',
				credentials: credentials as never,
			});
			expect(replay.error).toBeUndefined();
			expect(replay.outputs('Replay Unfinished')).toEqual([[], []]);
			expect(meta.requests.length).toBe(before + 1);
		} finally {
			await server.stop();
		}
	});
});

describe('template: Abandoned cart', () => {
	const fcm = new FcmMock();
	const meta = new MetaGraphMock();
	const twilio = new TwilioMock();
	const smtp = new SmtpMock();
	const ai = new OpenAIMock();
	const databasePath = path.join(
		fs.mkdtempSync(path.join(os.tmpdir(), 'cm-tpl2-')),
		'store.sqlite',
	);
	let credentials: Record<string, IDataObject>;
	beforeAll(async () => {
		await Promise.all([fcm.start(), meta.start(), twilio.start(), smtp.start(), ai.start()]);
		credentials = {
			fcmServiceAccountApi: {
				serviceAccountJson: JSON.stringify(fcm.serviceAccount()),
				baseUrl: fcm.baseUrl,
			},
			whatsAppCloudApi: {
				accessToken: meta.accessToken,
				phoneNumberId: meta.phoneNumberId,
				apiVersion: 'v21.0',
				baseUrl: meta.baseUrl,
			},
			twilioMessagingApi: {
				accountSid: twilio.accountSid,
				authToken: twilio.authToken,
				from: '+15550100000',
				ratePerSecond: 20,
				baseUrl: twilio.baseUrl,
			},
			convergentSmtpApi: {
				host: '127.0.0.1',
				port: smtp.port,
				user: smtp.user,
				password: smtp.pass,
				fromEmail: 'Glow <news@glow.example>',
			},
			openAiCompatibleApi: { apiKey: ai.apiKey, baseUrl: `${ai.baseUrl}/v1` },
			convergentStoreApi: { storageType: 'embedded', databasePath },
		};
		ai.responder = (req) => {
			const seg = JSON.parse(req.messages[1].content).audience.segment;
			return {
				variants: [
					{
						title: 'Your cart is waiting',
						text: `Hi {{body.contact.firstName}}, your cart is waiting${seg === 'High value' ? ': free shipping today' : ''}.`,
					},
				],
			};
		};
	});
	afterAll(async () =>
		Promise.all([fcm.stop(), meta.stop(), twilio.stop(), smtp.stop(), ai.stop()]),
	);

	it('reminds consented contacts over the best channel, one AI call per segment; no consent -> Blocked, nothing generated or sent', async () => {
		const store = await openStore({ type: 'embedded', path: databasePath });
		// Daytime zone for the default quiet hours (08:00-21:00).
		const h = new Date().getUTCHours();
		const timeZone =
			h >= 9 && h < 20
				? 'UTC'
				: h < 9
					? `Etc/GMT-${Math.min(12, 12 - h)}`
					: `Etc/GMT+${Math.min(12, h - 12)}`;
		const people = [
			{ id: 'u1', firstName: 'Ana', pushToken: 'tok-u1', email: 'ana@example.com', value: 150 },
			{ id: 'u2', firstName: 'Ben', pushToken: 'tok-dead', phone: '+34622000002', value: 30 },
			{ id: 'u3', firstName: 'Cai', email: 'cai@example.com', value: 40 },
			{ id: 'u4', firstName: 'Dora', pushToken: 'tok-u4', value: 500 },
		];
		fcm.addDeadToken('tok-dead');
		await grantConsent(store, [people[0], people[1]], ['push'], { evidence: { source: 'app' } });
		await grantConsent(store, [people[1]], ['sms'], { evidence: { source: 'web' } });
		await grantConsent(store, [people[2]], ['email'], { evidence: { source: 'web' } });
		// Cai's cart URL is hostile (a webhook body is anyone's input): it must not reach the email.
		const cartUrl = (id: string) =>
			id === 'u3'
				? 'javascript:alert(1)"><img src=x onerror=alert(2)>'
				: 'https://shop.example/cart';
		const events = people.map((p) => ({
			json: {
				body: {
					contact: { ...p, timeZone },
					preferredChannel: p.id === 'u3' ? 'email' : 'push',
					cart: { value: p.value, url: cartUrl(p.id) },
					at: new Date().toISOString(),
				},
				headers: {},
				query: {},
			},
		}));
		// Someone who learned Cai's customer id posts a cart with a victim's email: nothing may reach it.
		events.push({
			json: {
				body: {
					contact: { id: 'u3', firstName: 'Cai', email: 'victim@example.org', value: 40, timeZone },
					preferredChannel: 'email',
					cart: { value: 40, url: 'https://evil.example/phish' },
					at: new Date().toISOString(),
				},
				headers: {},
				query: {},
			},
		} as never);
		const run = await runWorkflow(load('abandoned-cart.json'), {
			startNode: 'Cart Abandoned',
			startItems: events,
			credentials: credentials as never,
		});
		expect(run.error).toBeUndefined();
		expect(
			run
				.json('Consent Guard', 1)
				.map((j) => [
					((j.body as IDataObject).contact as IDataObject).id,
					(j.blocked as IDataObject).reason,
				]),
		).toEqual([
			['u4', 'NO_CONSENT'],
			['u3', 'ADDRESS_NOT_CONSENTED'],
		]);
		expect(
			run
				.json('Review: Address Not Theirs')
				.map((j) => ((j.body as IDataObject).contact as IDataObject).email),
		).toEqual(['victim@example.org']);
		expect(ai.received).toBe(2);
		const sent = [...run.json('Send Best Channel', 0), ...run.json('Send Best Channel', 0, 1)].map(
			(j) => [
				((j.body as IDataObject).contact as IDataObject).id,
				(j.touchpoint as IDataObject).channel,
			],
		);
		expect(sent.sort()).toEqual([
			['u1', 'push'],
			['u2', 'sms'],
			['u3', 'email'],
		]);
		expect(twilio.requests[0].body.Body).toBe('Hi Ben, your cart is waiting.');
		const push = fcm.requests.find((r) => r.body?.message?.token === 'tok-u1');
		expect(push?.body.message.notification.body).toBe(
			'Hi Ana, your cart is waiting: free shipping today.',
		);
		expect(fcm.requests.some((r) => r.body?.message?.token === 'tok-u4')).toBe(false);
		const mails = await smtp.waitFor(1);
		expect(mails[0].headers.get('list-unsubscribe-post')).toEqual(['List-Unsubscribe=One-Click']);
		// The body as a mailbox shows it (quoted-printable decoded).
		const body = mails[0].body
			.replace(/=\r?\n/g, '')
			.replace(/=([0-9A-F]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));
		expect(body).toContain('<a href="https://shop.example/cart">Back to your cart</a>');
		expect(body).not.toMatch(/javascript:|onerror/);
		expect((await store.getJourneyStates('Shop', ['u1', 'u2', 'u3'])).size).toBe(3);
	});
});

describe('template: Personalised recommendations', () => {
	const fcm = new FcmMock();
	const smtp = new SmtpMock();
	const ai = new OpenAIMock();
	const databasePath = path.join(
		fs.mkdtempSync(path.join(os.tmpdir(), 'cm-tpl6-')),
		'store.sqlite',
	);
	let credentials: Record<string, IDataObject>;
	beforeAll(async () => {
		await Promise.all([fcm.start(), smtp.start(), ai.start()]);
		credentials = {
			fcmServiceAccountApi: {
				serviceAccountJson: JSON.stringify(fcm.serviceAccount()),
				baseUrl: fcm.baseUrl,
			},
			convergentSmtpApi: {
				host: '127.0.0.1',
				port: smtp.port,
				user: smtp.user,
				password: smtp.pass,
				fromEmail: 'Stream <hello@stream.example>',
			},
			openAiCompatibleApi: { apiKey: ai.apiKey, baseUrl: `${ai.baseUrl}/v1` },
			convergentStoreApi: { storageType: 'embedded', databasePath },
		};
		ai.responder = (req) => ({
			variants: [
				{
					title: 'New tonight',
					text: `{{body.contact.firstName}}, for a ${JSON.parse(req.messages[1].content).audience['engagement.tier']} viewer: Dark Waters S2`,
				},
			],
		});
	});
	afterAll(async () => Promise.all([fcm.stop(), smtp.stop(), ai.stop()]));

	it('scores engagement, writes one copy per tier, pushes by day and falls back to email at night (quiet hours); no consent -> Not Sent', async () => {
		const store = await openStore({ type: 'embedded', path: databasePath });
		const now = Date.now();
		const utcHour = new Date().getUTCHours();
		const zoneAt = (wanted: (h: number) => boolean) => {
			for (let o = -12; o <= 12; o++)
				if (wanted((utcHour + o + 24) % 24))
					return o === 0 ? 'UTC' : `Etc/GMT${o > 0 ? '-' : '+'}${Math.abs(o)}`;
			return 'UTC';
		};
		const day = zoneAt((h) => h >= 10 && h < 19);
		const night = zoneAt((h) => h >= 1 && h < 6);
		const viewers = [
			{
				id: 'v1',
				firstName: 'Ana',
				pushToken: 'tok-v1',
				email: 'v1@example.com',
				timeZone: day,
				events: [
					{ type: 'purchase', at: now - 1000 },
					{ type: 'click', at: now - 2000 },
					{ type: 'visit', at: now - 3000 },
				],
			},
			{
				id: 'v2',
				firstName: 'Ben',
				pushToken: 'tok-v2',
				email: 'v2@example.com',
				timeZone: night,
				events: [{ type: 'open', at: now - 1000 }],
			},
			{
				id: 'v3',
				firstName: 'Cai',
				pushToken: 'tok-v3',
				timeZone: day,
				events: [{ type: 'click', at: now - 1000 }],
			},
		];
		await grantConsent(store, viewers.slice(0, 2), ['push', 'email'], {
			evidence: { source: 'app' },
		});
		const items = viewers.map(({ events, ...contact }) => ({
			json: { body: { contact, events }, headers: {}, query: {} },
		}));
		const run = await runWorkflow(load('personalised-recommendations.json'), {
			startNode: 'Viewer Events',
			startItems: items,
			credentials: credentials as never,
		});
		expect(run.error).toBeUndefined();
		expect(run.json('Engagement', 0).map((j) => (j.engagement as IDataObject).tier)).toEqual([
			'hot',
			'cold',
			'cold',
		]);
		expect(ai.received).toBe(2);
		const sent = run
			.json('Push or Email', 0)
			.map((j) => [
				((j.body as IDataObject).contact as IDataObject).id,
				(j.touchpoint as IDataObject).channel,
			]);
		expect(sent).toEqual([
			['v1', 'push'],
			['v2', 'email'],
		]);
		expect(fcm.requests.find((r) => r.body?.message)?.body.message.notification.body).toBe(
			'Ana, for a hot viewer: Dark Waters S2',
		);
		const notSent = run.json('Push or Email', 1)[0].touchpoint as IDataObject;
		expect(notSent.reason).toBe('NO_CONSENT');
		const mail = (await smtp.waitFor(1))[0];
		expect(mail.to).toEqual(['v2@example.com']);

		// The email service reports the email opened and clicked: the send log says clicked, and the
		// viewer's kept score grows by open=1 + click=3; a delivered event after that changes neither.
		const emailTouch = run
			.json('Push or Email', 0)
			.find((j) => (j.touchpoint as IDataObject).channel === 'email')!.touchpoint as IDataObject;
		const scoreBefore = (await store.getEngagement(['v2'])).get('v2')!.score;
		const signingKey = 'key-recommendations-test';
		const server = await startWebhookServer(load('personalised-recommendations.json'), {
			trigger: 'Email Events',
			credentials: {
				...credentials,
				emailEventsWebhookApi: { service: 'mailgun', mailgunSigningKey: signingKey },
			} as never,
		});
		try {
			const messageId = String(emailTouch.providerMessageId).replace(/^<|>$/g, '');
			const post = async (event: string, id: string) => {
				const timestamp = String(Math.floor(Date.now() / 1000));
				const token = `tok-${id}`;
				const body = {
					signature: {
						timestamp,
						token,
						signature: createHmac('sha256', signingKey)
							.update(timestamp + token)
							.digest('hex'),
					},
					'event-data': {
						event,
						id,
						timestamp: Date.now() / 1000,
						recipient: 'v2@example.com',
						message: { headers: { 'message-id': messageId } },
					},
				};
				const res = await fetch(server.url, {
					method: 'POST',
					headers: { 'content-type': 'application/json' },
					body: JSON.stringify(body),
				});
				await server.settled();
				return res.status;
			};
			expect(await post('opened', 'ev-open')).toBe(200);
			expect(await post('clicked', 'ev-click')).toBe(200);
			const scored = server.runs.map((r) => r.json('Score Opens and Clicks')[0]);
			expect(scored.map((j) => [j.contactId, (j.engagement as IDataObject).events])).toEqual([
				['v2', 1],
				['v2', 1],
			]);
			const scoreAfter = (await store.getEngagement(['v2'])).get('v2')!.score;
			expect(scoreAfter - scoreBefore).toBeCloseTo(4, 2);
			expect(
				(await store.getTouches([String(emailTouch.idempotencyKey)])).get(
					String(emailTouch.idempotencyKey),
				)?.deliveryStatus,
			).toBe('clicked');
			expect(await post('delivered', 'ev-delivered')).toBe(200);
			expect(server.runs.at(-1)!.executionOrder).toEqual(['Email Events', 'Opens and Clicks Only']);
			expect((await store.getEngagement(['v2'])).get('v2')!.score).toBeCloseTo(scoreAfter, 2);
			expect(
				(await store.getTouches([String(emailTouch.idempotencyKey)])).get(
					String(emailTouch.idempotencyKey),
				)?.deliveryStatus,
			).toBe('clicked');
		} finally {
			await server.stop();
		}
	});
});
