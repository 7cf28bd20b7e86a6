/**
 * One person across channels, on SQLite and PostgreSQL: a CRM contact writes on Instagram,
 * then on WhatsApp, then gets an email campaign addressed by CRM id. One profile, one AI Reply
 * history, one cap, one journey; erase by any of their ids leaves no address, name or message
 * text in any table. And: a consented id with a stranger's address is Blocked and nothing leaves.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { IDataObject } from 'n8n-workflow';

import { metaSignature } from '../../nodes/shared/inbound/signatures';
import { openStore } from '../../nodes/shared/store';
import type { SqlStore } from '../../nodes/shared/store/sql-store';
import { makeNode, manualWorkflow, PROJECT_ROOT, runWorkflow, type WorkflowJson } from '../harness';
import { startWebhookServer, type WebhookServer } from '../harness/webhook';
import { MetaGraphMock, OpenAIMock, SmtpMock } from '../mocks';
import { dropSchema, PG_AVAILABLE, PG_BASE } from '../store/helpers';
import { zoneAt } from './template-helpers';

const APP_SECRET = 'abcdef0123456789abcdef0123456789';
const meta = new MetaGraphMock();
const smtp = new SmtpMock();
const ai = new OpenAIMock();

beforeAll(async () => Promise.all([meta.start(), smtp.start(), ai.start()]));
afterAll(async () => Promise.all([meta.stop(), smtp.stop(), ai.stop()]));

type StoreCredential = IDataObject;
const backends: Array<[string, () => StoreCredential]> = [
	[
		'sqlite',
		() => ({
			storageType: 'embedded',
			databasePath: path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cm-people-')), 'store.sqlite'),
		}),
	],
	...(PG_AVAILABLE
		? [
				[
					'postgres',
					() => ({
						storageType: 'postgres',
						host: PG_BASE.host,
						port: PG_BASE.port,
						database: PG_BASE.database,
						user: PG_BASE.user,
						password: PG_BASE.password ?? '',
						ssl: false,
						schema: `cm_people_${randomBytes(4).toString('hex')}`,
					}),
				] as [string, () => StoreCredential],
			]
		: []),
];

const allDay = { start: '00:00', end: '00:00' };

/** Every row of every table, as text: what a copy of the store would show. */
async function dumpTables(store: SqlStore): Promise<string> {
	const tables =
		store.dialect === 'sqlite'
			? (
					await store.db.query<{ name: string }>(
						"SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
					)
				).map((r) => r.name)
			: (
					await store.db.query<{ name: string }>(
						'SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema()',
					)
				).map((r) => r.name);
	expect(tables).toEqual(
		expect.arrayContaining([
			'contacts',
			'contact_addresses',
			'consent_events',
			'touches',
			'conversation_turns',
			'journey_state',
			'processed_ids',
			'inbound',
		]),
	);
	const parts: string[] = [];
	for (const t of tables)
		parts.push(`${t}: ${JSON.stringify(await store.db.query(`SELECT * FROM ${t}`))}`);
	return parts.join('\n');
}

jest.setTimeout(60_000);

describe.each(backends)('One person across channels (%s)', (_name, makeStore) => {
	const storeCredential = makeStore();
	const credentials = () => ({
		convergentStoreApi: storeCredential,
		whatsAppCloudApi: {
			accessToken: meta.accessToken,
			phoneNumberId: meta.phoneNumberId,
			apiVersion: 'v21.0',
			baseUrl: meta.baseUrl,
		},
		metaPageApi: { pageAccessToken: meta.accessToken, apiVersion: 'v21.0', baseUrl: meta.baseUrl },
		metaWebhookApi: { appSecret: APP_SECRET, verifyToken: 'verify' },
		openAiCompatibleApi: { apiKey: ai.apiKey, baseUrl: `${ai.baseUrl}/v1` },
		convergentSmtpApi: {
			host: '127.0.0.1',
			port: smtp.port,
			secure: false,
			user: smtp.user,
			password: smtp.pass,
			fromEmail: 'Glow <news@glow.example>',
		},
	});
	const store = () => openStore(storeConfig()) as Promise<SqlStore>;
	const storeConfig = () =>
		storeCredential.storageType === 'embedded'
			? { type: 'embedded' as const, path: String(storeCredential.databasePath) }
			: { type: 'postgres' as const, ...PG_BASE, schema: String(storeCredential.schema) };
	const node = (type: string, name: string, parameters: IDataObject, extra: IDataObject = {}) => ({
		type,
		name,
		parameters,
		credentials: {
			convergentStoreApi: 'Store',
			whatsAppCloudApi: 'WA',
			metaPageApi: 'Page',
			openAiCompatibleApi: 'OpenAI',
			convergentSmtpApi: 'SMTP',
		},
		...extra,
	});
	const run = async (items: IDataObject[], n: ReturnType<typeof node>) => {
		const r = await runWorkflow(manualWorkflow({ items, node: n as never }), {
			credentials: credentials() as never,
		});
		if (r.error) throw r.error;
		return r;
	};
	let server: WebhookServer;

	beforeAll(async () => {
		const trigger = makeNode(
			{
				type: 'touchpointTrigger',
				name: 'Inbound',
				parameters: { provider: 'meta' },
				credentials: { metaWebhookApi: 'Meta', convergentStoreApi: 'Store' },
			},
			[0, 0],
		);
		trigger.webhookId = `people-${_name}`;
		const wf: WorkflowJson = {
			name: 'inbound',
			nodes: [trigger],
			connections: {},
			settings: { executionOrder: 'v1' },
		};
		server = await startWebhookServer(wf, {
			trigger: 'Inbound',
			credentials: credentials() as never,
		});
	});
	afterAll(async () => {
		await server.stop();
		if (storeCredential.storageType === 'postgres')
			await dropSchema(String(storeCredential.schema));
	});

	const post = async (body: object) => {
		const raw = JSON.stringify(body);
		const res = await fetch(server.url, {
			method: 'POST',
			headers: {
				'content-type': 'application/json',
				'x-hub-signature-256': metaSignature(APP_SECRET, raw),
			},
			body: raw,
		});
		expect(res.status).toBe(200);
		await server.settled();
		return server.runs.at(-1)!.json('Inbound');
	};

	const IG = `178414${randomBytes(4).toString('hex')}`;
	const PHONE = '+34600777001';
	const EMAIL = 'maria.lopez@example.com';
	const NAME = 'María López';
	const IG_TEXT = '¿Hacéis envíos a Madrid? Soy María';
	const WA_TEXT = 'Y cuánto cuesta el envío a Calle Mayor 5?';

	it('Instagram, then WhatsApp, then an email campaign by CRM id: one profile, one history, one cap, one journey; erase by the Instagram id leaves nothing', async () => {
		meta.reset();
		const crm = {
			contact: {
				id: 'crm-77',
				email: EMAIL,
				phone: PHONE,
				instagramId: IG,
				timeZone: 'UTC',
				name: NAME,
			},
		};
		await run(
			[crm],
			node('consentGuard', 'Save', { resource: 'contact', operation: 'upsertContact' }),
		);
		for (const [channel, purpose] of [
			['email', 'marketing'],
			['instagram', 'service'],
			['whatsapp', 'service'],
		]) {
			await run(
				[crm],
				node('consentGuard', 'Consent', {
					operation: 'recordConsent',
					channel,
					purpose,
					consentAction: 'grant',
					source: 'https://glow.example/preferences',
					evidence: { wording: `Yes to ${purpose} on ${channel}` },
				}),
			);
		}

		// 1. Instagram DM from the IGSID the CRM holds: the event is crm-77's.
		const igEvents = await post({
			object: 'instagram',
			entry: [
				{
					id: 'IGBIZ',
					time: Date.now(),
					messaging: [
						{
							sender: { id: IG },
							recipient: { id: 'IGBIZ' },
							timestamp: Date.now(),
							message: { mid: `m_ig_${IG}`, text: IG_TEXT },
						},
					],
				},
			],
		});
		expect(igEvents.map((e) => [e.channel, e.contactId])).toEqual([['instagram', 'crm-77']]);
		meta.setLastInbound(IG, Date.now()); // Meta's side of the same fact: the person wrote

		ai.responder = (req) => ({
			reply: `Respuesta ${req.messages.length}`,
			intent: 'other',
			sentiment: 'neutral',
			handoff: false,
			handoffReason: '',
		});
		const igReply = await run(
			igEvents,
			node('aiContent', 'AI', { operation: 'reply', systemBrief: "You are Glow's assistant." }),
		);
		const igAnswer = String((igReply.json('AI', 0)[0].ai as IDataObject).reply);
		const caps = {
			caps: [{ maxMessages: 3, per: 1, unit: 'days', channel: 'all', purpose: 'all' }],
		};
		const igSend = await run(
			[{ contact: { id: igEvents[0].contactId as string, instagramId: IG }, reply: igAnswer }],
			node('touchpoint', 'Send', {
				channel: 'instagram',
				purpose: 'service',
				text: '={{ $json.reply }}',
				quietHours: allDay,
				frequencyCaps: caps,
			}),
		);
		expect(igSend.json('Send', 0).map((j) => (j.touchpoint as IDataObject).status)).toEqual([
			'sent',
		]);

		// 2. WhatsApp from the CRM's phone: the same person, the same conversation.
		const requestsBefore = ai.requests.length;
		const waEvents = await post({
			object: 'whatsapp_business_account',
			entry: [
				{
					id: 'WABA',
					changes: [
						{
							field: 'messages',
							value: {
								messaging_product: 'whatsapp',
								metadata: {
									display_phone_number: '15550100000',
									phone_number_id: meta.phoneNumberId,
								},
								contacts: [{ profile: { name: 'Mari' }, wa_id: '34600777001' }],
								messages: [
									{
										from: '34600777001',
										id: `wamid.${IG}`,
										timestamp: String(Math.floor(Date.now() / 1000)),
										type: 'text',
										text: { body: WA_TEXT },
									},
								],
							},
						},
					],
				},
			],
		});
		expect(waEvents.map((e) => [e.channel, e.contactId])).toEqual([['whatsapp', 'crm-77']]);
		// A stranger writes: a new contact under the id rule, with the channel's profile name.
		const newcomer = await post({
			object: 'whatsapp_business_account',
			entry: [
				{
					id: 'WABA',
					changes: [
						{
							field: 'messages',
							value: {
								messaging_product: 'whatsapp',
								metadata: { phone_number_id: meta.phoneNumberId },
								contacts: [{ profile: { name: 'Nuevo Cliente' }, wa_id: '34600777099' }],
								messages: [
									{
										from: '34600777099',
										id: `wamid.newcomer.${Date.now()}`,
										timestamp: String(Math.floor(Date.now() / 1000)),
										type: 'text',
										text: { body: 'hola' },
									},
								],
							},
						},
					],
				},
			],
		});
		expect(newcomer.map((e) => e.contactId)).toEqual(['+34600777099']);
		const found = await run(
			[{ contact: { phone: '+34600777099' } }],
			node('consentGuard', 'Find', { resource: 'contact', operation: 'findContact' }),
		);
		expect(found.json('Find', 0)[0].contactBook).toMatchObject({
			found: true,
			id: '+34600777099',
			name: 'Nuevo Cliente',
		});
		meta.setLastInbound(PHONE, Date.now());
		const waReply = await run(
			waEvents,
			node('aiContent', 'AI', { operation: 'reply', systemBrief: "You are Glow's assistant." }),
		);
		const seen = JSON.stringify(ai.requests.slice(requestsBefore).map((r) => r.body.messages));
		expect(seen).toContain(IG_TEXT);
		expect(seen).toContain(igAnswer);
		const waAnswer = String((waReply.json('AI', 0)[0].ai as IDataObject).reply);
		const waSend = await run(
			[{ contact: { id: waEvents[0].contactId as string, phone: PHONE }, reply: waAnswer }],
			node('touchpoint', 'Send', {
				channel: 'whatsapp',
				purpose: 'service',
				text: '={{ $json.reply }}',
				quietHours: allDay,
				frequencyCaps: caps,
			}),
		);
		expect(waSend.json('Send', 0).map((j) => (j.touchpoint as IDataObject).status)).toEqual([
			'sent',
		]);

		// One journey: events from both channels move one person.
		const journey = {
			journeyName: 'Support',
			stages: 'Asked, Engaged',
			goalStage: 'Engaged',
			moves: {
				move: [
					{ event: 'asked', stage: 'Asked' },
					{ event: 'asked-again', stage: 'Engaged' },
				],
			},
			contactIdField: 'contactId',
		};
		await run(
			[
				{
					contactId: igEvents[0].contactId,
					event: { type: 'asked', id: igEvents[0].providerMessageId },
				},
			],
			node('journey', 'Journey', { operation: 'trackEvent', ...journey }),
		);
		await run(
			[
				{
					contactId: `instagram:${IG}`,
					event: { type: 'asked-again', id: waEvents[0].providerMessageId },
				},
			],
			node('journey', 'Journey', { operation: 'trackEvent', ...journey }),
		);
		const s = await store();
		expect((await s.getAllJourneyStates('Support')).map((j) => [j.contactId, j.stage])).toEqual([
			['crm-77', 'Engaged'],
		]);

		// 3. Email campaign by CRM id: the cap of 3 a day counts the Instagram and WhatsApp sends.
		const campaign = (c: string) =>
			run(
				[{ contact: { id: 'crm-77', email: EMAIL }, campaign: c }],
				node('consentGuard', 'Guard', {
					operation: 'check',
					channel: 'email',
					purpose: 'marketing',
					campaign: '={{ $json.campaign }}',
					quietHours: allDay,
					frequencyCaps: caps,
				}),
			);
		const first = await campaign('winter');
		expect(first.json('Guard', 0)).toHaveLength(1);
		const mail = await run(
			first.json('Guard', 0),
			node('touchpoint', 'Send', {
				channel: 'email',
				purpose: 'marketing',
				campaign: 'winter',
				subject: 'Winter',
				text: 'Hola',
				unsubscribeUrl: 'https://glow.example/u',
				postalAddress: 'Glow, Calle 1, Madrid',
				quietHours: allDay,
				frequencyCaps: caps,
			}),
		);
		expect(mail.json('Send', 0).map((j) => (j.touchpoint as IDataObject).status)).toEqual(['sent']);
		const second = await campaign('spring');
		expect(second.json('Guard', 1).map((j) => (j.blocked as IDataObject).reason)).toEqual([
			'FREQUENCY_CAP',
		]);

		// One profile, found by any address.
		const got = await run(
			[{ contact: { instagramId: IG } }],
			node('consentGuard', 'Get', { resource: 'contact', operation: 'getContact' }),
		);
		const profile = got.json('Get', 0)[0].contactBook as IDataObject;
		expect(profile).toMatchObject({ found: true, id: 'crm-77', name: NAME });
		expect((profile.addresses as IDataObject[]).map((a) => a.kind).sort()).toEqual([
			'email',
			'instagram',
			'phone',
		]);
		expect(
			(profile.consent as IDataObject[]).map((c) => `${c.channel}:${c.purpose}:${c.status}`).sort(),
		).toEqual(['email:marketing:granted', 'instagram:service:granted', 'whatsapp:service:granted']);
		expect((profile.recentTouches as IDataObject[]).map((t) => t.channel).sort()).toEqual([
			'email',
			'instagram',
			'whatsapp',
		]);
		expect(profile.journeys).toEqual([
			expect.objectContaining({ journey: 'Support', stage: 'Engaged' }),
		]);
		expect(String(await dumpTables(s))).toContain(EMAIL);

		// 4. Erase by the Instagram id alone: nothing of the person is left in any table.
		const erased = await run(
			[{ contact: { instagramId: IG } }],
			node('consentGuard', 'Erase', { resource: 'contact', operation: 'eraseContact' }),
		);
		expect(erased.json('Erase', 0)[0]).toMatchObject({ erased: true });
		expect(JSON.stringify(erased.json('Erase', 0))).not.toContain(IG);
		const dump = await dumpTables(s);
		for (const secret of [
			EMAIL,
			PHONE,
			'34600777001',
			IG,
			NAME,
			'Mari"',
			'crm-77',
			IG_TEXT,
			WA_TEXT,
			igAnswer,
			waAnswer,
			'Calle Mayor',
		]) {
			expect({ secret, found: dump.includes(secret) }).toEqual({ secret, found: false });
		}
		// The addresses are still recognised (an old import cannot re-consent them) from keyed hashes only.
		expect(await s.findErasedAddresses([EMAIL, PHONE, IG, 'other@example.com'])).toEqual(
			new Set([EMAIL, PHONE, IG]),
		);
		const reimport = await run(
			[{ contact: { id: 'crm-77', email: EMAIL } }],
			node('consentGuard', 'Guard', {
				operation: 'check',
				channel: 'email',
				purpose: 'marketing',
				quietHours: allDay,
			}),
		);
		expect(reimport.json('Guard', 1).map((j) => (j.blocked as IDataObject).reason)).toEqual([
			'SUPPRESSED',
		]);
	});

	it("quiet hours use the person's profile zone when the item has none (consented and looked-up paths alike)", async () => {
		const night = zoneAt((h) => h >= 1 && h < 6);
		const owl = { contact: { id: 'crm-owl', phone: '+34600777055', timeZone: night } };
		await run(
			[owl],
			node('consentGuard', 'Save', { resource: 'contact', operation: 'upsertContact' }),
		);
		await run(
			[owl],
			node('consentGuard', 'Consent', {
				operation: 'recordConsent',
				channel: 'sms',
				purpose: 'marketing',
				consentAction: 'grant',
				source: 'web',
				evidence: { wording: 'Yes' },
			}),
		);
		for (const item of [
			{ contact: { id: 'crm-owl', phone: '+34600777055' } },
			{ contact: { phone: '+34600777055' } },
		]) {
			const r = await run(
				[item],
				node('consentGuard', 'Guard', {
					operation: 'check',
					channel: 'sms',
					purpose: 'marketing',
					frequencyCaps: { caps: [] },
				}),
			);
			expect(
				r
					.json('Guard', 1)
					.map((j) => [
						(j.blocked as IDataObject).reason,
						String((j.blocked as IDataObject).message).includes(night),
					]),
			).toEqual([['QUIET_HOURS', true]]);
		}
	});

	it('a CRM import meets a contact the chat created: an error naming both, or Merge joins them with their history', async () => {
		const s = await store();
		// Someone wrote on WhatsApp before the CRM knew their number: a contact under the id rule.
		const [chat] = await s.resolveContacts(
			[{ addresses: [{ kind: 'phone', value: '+34600777066' }], fallbackId: '+34600777066' }],
			{ create: true, link: true, source: 'inbound' },
		);
		await s.addTurns([
			{ contactId: chat.contactId, role: 'user', text: 'quiero una cita', at: Date.now() },
		]);
		const row = { contact: { id: 'crm-lia', phone: '+34600777066', email: 'lia@example.com' } };
		const refused = await runWorkflow(
			manualWorkflow({
				items: [row],
				node: node('consentGuard', 'Save', {
					resource: 'contact',
					operation: 'upsertContact',
				}) as never,
			}),
			{ credentials: credentials() as never },
		);
		expect(String(refused.error?.message)).toContain('the phone belongs to contact "+34600777066"');
		const merged = await run(
			[row],
			node('consentGuard', 'Save', {
				resource: 'contact',
				operation: 'upsertContact',
				onAddressConflict: 'merge',
			}),
		);
		expect(merged.json('Save', 0)[0].contactBook).toMatchObject({
			id: 'crm-lia',
			mergedFrom: '+34600777066',
		});
		expect((await s.getTurns(['crm-lia'], 5)).get('crm-lia')?.map((t) => t.text)).toEqual([
			'quiero una cita',
		]);
		const [byPhone] = await s.resolveContacts([
			{ addresses: [{ kind: 'phone', value: '+34600777066' }] },
		]);
		expect(byPhone.contactId).toBe('crm-lia');
	});

	it('a CRM import of 600 rows is batched: a handful of store statements, not one per row; one bad row fails alone', async () => {
		// The store instance the nodes use (the built package's module, the credential's config).
		// eslint-disable-next-line @typescript-eslint/no-require-imports
		const dist = require(
			path.join(PROJECT_ROOT, 'dist/nodes/shared/store'),
		) as typeof import('../../nodes/shared/store');
		const s = (await dist.openStore(
			dist.storeConfigFromCredential(storeCredential as never),
		)) as SqlStore;
		const rows = Array.from({ length: 600 }, (_, k) => ({
			contact: {
				id: `bulk-${k}`,
				email: `bulk-${k}@example.com`,
				phone: `+3460088${String(1000 + k)}`,
				name: `Bulk ${k}`,
				timeZone: 'Europe/Madrid',
			},
		}));
		rows[7] = { contact: { ...rows[7].contact, timeZone: 'Mars/Olympus' } };
		const before = s.db.queryCount;
		const r = await runWorkflow(
			manualWorkflow({
				items: rows,
				node: {
					...node('consentGuard', 'Save', {
						resource: 'contact',
						operation: 'upsertContact',
						profileFields: { nameField: 'contact.name' },
					}),
					continueOnFail: true,
				} as never,
			}),
			{ credentials: credentials() as never },
		);
		const statements = s.db.queryCount - before;
		const out = r.json('Save', 0);
		expect(out).toHaveLength(600);
		expect(
			out.map((j, k) => (k === 7 ? String(j.error) : (j.contactBook as IDataObject).id))[7],
		).toMatch(/Unknown time zone "Mars\/Olympus"/);
		expect(out.filter((j) => j.contactBook).length).toBe(599);
		expect(statements).toBeLessThan(40);
		const [p] = await s.resolveContacts([
			{ addresses: [{ kind: 'email', value: 'bulk-599@example.com' }] },
		]);
		expect(p).toMatchObject({
			contactId: 'bulk-599',
			profile: { name: 'Bulk 599', timeZone: 'Europe/Madrid' },
		});
	});

	it("copy generated for one person's values is cached as theirs and erased with them", async () => {
		ai.responder = () => ({ variants: [{ text: 'Hola Zoe, tu crema te espera' }] });
		const item = { contact: { id: 'crm-zoe', firstName: 'Zoe Quintana' } };
		await run(
			[item],
			node('aiContent', 'AI', {
				operation: 'generateCopy',
				channel: 'sms',
				brief: 'Remind about the cart',
				groupBy: 'contact.firstName',
				variants: 1,
			}),
		);
		const s = await store();
		expect(
			(
				await s.db.query<{ contact_id: string }>(
					'SELECT contact_id FROM ai_cache WHERE response LIKE $1',
					['%Zoe%'],
				)
			).map((r) => r.contact_id),
		).toEqual(['crm-zoe']);
		await run(
			[item],
			node('consentGuard', 'Erase', { resource: 'contact', operation: 'eraseContact' }),
		);
		expect(await dumpTables(s)).not.toContain('Zoe');
	});

	it("a consented contact id with a stranger's address is Blocked, and Touchpoint sends nothing to it", async () => {
		meta.reset();
		const ana = {
			contact: { id: 'crm-ana', email: 'ana@example.com', phone: '+34600777002', timeZone: 'UTC' },
		};
		await run(
			[ana],
			node('consentGuard', 'Save', { resource: 'contact', operation: 'upsertContact' }),
		);
		await run(
			[ana],
			node('consentGuard', 'Consent', {
				operation: 'recordConsent',
				channel: 'email',
				purpose: 'marketing',
				consentAction: 'grant',
				source: 'web',
				evidence: { wording: 'Yes' },
			}),
		);
		await run(
			[ana],
			node('consentGuard', 'Consent', {
				operation: 'recordConsent',
				channel: 'sms',
				purpose: 'marketing',
				consentAction: 'grant',
				source: 'web',
				evidence: { wording: 'Yes' },
			}),
		);
		const stranger = {
			contact: {
				id: 'crm-ana',
				email: 'victim@example.org',
				phone: '+34600999000',
				timeZone: 'UTC',
			},
		};
		const check = await run(
			[ana, stranger],
			node('consentGuard', 'Guard', {
				operation: 'check',
				channel: 'email',
				purpose: 'marketing',
				quietHours: allDay,
				frequencyCaps: { caps: [] },
			}),
		);
		expect(check.json('Guard', 0).map((j) => (j.contact as IDataObject).email)).toEqual([
			'ana@example.com',
		]);
		const blocked = check.json('Guard', 1);
		expect(blocked.map((j) => (j.blocked as IDataObject).reason)).toEqual([
			'ADDRESS_NOT_CONSENTED',
		]);
		expect(String((blocked[0].blocked as IDataObject).message)).toContain('victim@example.org');

		// Without a contact ID the person is whoever holds the address.
		const byAddress = await run(
			[{ contact: { email: 'ANA@example.com', timeZone: 'UTC' } }],
			node('consentGuard', 'Guard', {
				operation: 'check',
				channel: 'email',
				purpose: 'marketing',
				quietHours: allDay,
				frequencyCaps: { caps: [] },
			}),
		);
		expect(byAddress.json('Guard', 0).map((j) => (j.consent as IDataObject).contactId)).toEqual([
			'crm-ana',
		]);
		// An opt-in from a new address with no ID: a new contact, the address linked and covered.
		const walkIn = await run(
			[{ contact: { email: 'walk.in@example.com' } }],
			node('consentGuard', 'Consent', {
				operation: 'recordConsent',
				channel: 'email',
				purpose: 'marketing',
				consentAction: 'grant',
				source: 'store-tablet',
				evidence: { wording: 'Yes' },
			}),
		);
		expect(walkIn.json('Consent', 0)[0].consentRecord).toMatchObject({
			contactId: 'walk.in@example.com',
			status: 'granted',
		});
		const nobody = await runWorkflow(
			manualWorkflow({
				items: [{ contact: { email: 'nobody@example.com' } }],
				node: node('consentGuard', 'Guard', {
					operation: 'check',
					channel: 'email',
					purpose: 'marketing',
					quietHours: allDay,
				}) as never,
			}),
			{ credentials: credentials() as never },
		);
		// A person nobody holds has no consent: Blocked (NO_CONSENT) with what to do, and the run goes on.
		expect(nobody.error).toBeUndefined();
		expect(nobody.json('Guard', 1).map((j) => j.blocked)).toEqual([
			{
				reason: 'NO_CONSENT',
				message:
					'No contact ID at "contact.id", and no contact holds email nobody@example.com: no marketing consent on email is recorded for them. Record their consent first (Consent Guard > Record Consent), or give the contact ID your store knows them by.',
				retryAt: null,
				channel: 'email',
				purpose: 'marketing',
			},
		]);

		const mailsBefore = smtp.messages.length;
		const sent = await run(
			[stranger],
			node('touchpoint', 'Send', {
				channel: 'email',
				purpose: 'marketing',
				campaign: 'x',
				subject: 'Offer',
				text: 'Click',
				unsubscribeUrl: 'https://glow.example/u',
				postalAddress: 'Glow, Madrid',
				quietHours: allDay,
			}),
		);
		expect(sent.json('Send', 1).map((j) => (j.touchpoint as IDataObject).reason)).toEqual([
			'ADDRESS_NOT_CONSENTED',
		]);
		const sms = await run(
			[stranger],
			node('touchpoint', 'Send', {
				channel: 'whatsapp',
				purpose: 'transactional',
				whatsappType: 'template',
				templateName: 'order',
				templateLanguage: 'en',
				quietHours: allDay,
			}),
		);
		expect(sms.json('Send', 1).map((j) => (j.touchpoint as IDataObject).reason)).toEqual([
			'ADDRESS_NOT_LINKED',
		]);
		await new Promise((r) => setTimeout(r, 200));
		expect(smtp.messages.length).toBe(mailsBefore);
		expect(meta.requests).toHaveLength(0);

		// After a merge the old id is the survivor: its consent, its caps (Check by the merged id passes).
		const dup = { contact: { id: 'crm-ana-dup', email: 'ana.work@example.com', timeZone: 'UTC' } };
		await run(
			[dup],
			node('consentGuard', 'Save', { resource: 'contact', operation: 'upsertContact' }),
		);
		await run(
			[dup],
			node('consentGuard', 'Consent', {
				operation: 'recordConsent',
				channel: 'email',
				purpose: 'marketing',
				consentAction: 'grant',
				source: 'web',
				evidence: { wording: 'Yes' },
			}),
		);
		const merged = await run(
			[{ contact: { id: 'crm-ana' }, merge: { contactId: 'crm-ana-dup' } }],
			node('consentGuard', 'Merge', { resource: 'contact', operation: 'mergeContacts' }),
		);
		expect(merged.json('Merge', 0)[0].merge).toMatchObject({
			from: 'crm-ana-dup',
			into: 'crm-ana',
		});
		const viaOld = await run(
			[{ contact: { id: 'crm-ana-dup', email: 'ana.work@example.com' } }],
			node('consentGuard', 'Guard', {
				operation: 'check',
				channel: 'email',
				purpose: 'marketing',
				quietHours: allDay,
				frequencyCaps: { caps: [] },
			}),
		);
		expect(viaOld.json('Guard', 0).map((j) => (j.consent as IDataObject).contactId)).toEqual([
			'crm-ana',
		]);

		// An address of another person with this id is an error naming both, never a guess.
		const ben = { contact: { id: 'crm-ben', email: 'ben@example.com', timeZone: 'UTC' } };
		await run(
			[ben],
			node('consentGuard', 'Save', { resource: 'contact', operation: 'upsertContact' }),
		);
		const mixed = await runWorkflow(
			manualWorkflow({
				items: [{ contact: { id: 'crm-ana', email: 'ben@example.com' } }],
				node: node('consentGuard', 'Guard', {
					operation: 'check',
					channel: 'email',
					purpose: 'marketing',
					quietHours: allDay,
				}) as never,
			}),
			{ credentials: credentials() as never },
		);
		expect(String(mixed.error?.message)).toMatch(
			/Contact ID "crm-ana" and email ben@example\.com belong to different people: the email belongs to contact "crm-ben"/,
		);

		// A grant for someone else's address is refused; a withdrawal never is: it stops both.
		const grab = await runWorkflow(
			manualWorkflow({
				items: [{ contact: { id: 'crm-ana', email: 'ben@example.com' } }],
				node: node('consentGuard', 'Consent', {
					operation: 'recordConsent',
					channel: 'email',
					purpose: 'marketing',
					consentAction: 'grant',
					source: 'web',
				}) as never,
			}),
			{ credentials: credentials() as never },
		);
		expect(String(grab.error?.message)).toMatch(/belong to different people/);
		await run(
			[{ contact: ben.contact }],
			node('consentGuard', 'Consent', {
				operation: 'recordConsent',
				channel: 'email',
				purpose: 'marketing',
				consentAction: 'grant',
				source: 'web',
			}),
		);
		const optOut = await run(
			[{ contact: { id: 'crm-ana', email: 'ben@example.com' } }],
			node('consentGuard', 'Consent', {
				operation: 'recordConsent',
				channel: 'email',
				purpose: 'marketing',
				consentAction: 'withdraw',
				source: 'unsubscribe-link',
			}),
		);
		expect(optOut.json('Consent', 0)[0].consentRecord).toMatchObject({
			contactId: 'crm-ana',
			status: 'withdrawn',
			alsoRecordedFor: 'crm-ben',
		});
		const s = await store();
		expect(
			(
				await s.getConsentStates([{ contactId: 'crm-ben', channel: 'email', purpose: 'marketing' }])
			).get('crm-ben\u0000email\u0000marketing')?.status,
		).toBe('withdrawn');
	});
});
