/**
 * The package inside a real n8n 2.40.7 (npm run test:e2e): installed as the Community Nodes
 * installer would, templates and credentials imported with n8n's CLI, n8n started on free
 * loopback ports. Checks through n8n's REST API that every node and credential is registered,
 * sends a signed WhatsApp message to a published template's production webhook, runs a template
 * with `n8n execute`, and opens the editor in headless Chromium (screenshot in test-artifacts/).
 */
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { metaSignature } from '../../nodes/shared/inbound/signatures';
import { clickKey, shortClickCode, signClick } from '../../nodes/shared/insights/clicks';
import { inboxKey, signInboxToken } from '../../nodes/shared/insights/inapp';
import { closeAllStores, openStore } from '../../nodes/shared/store';
import { MetaGraphMock, OpenAIMock, SmtpMock } from '../mocks';
import { JsonApi, winBackCopy, winBackCustomers, zoneAt } from '../workflows/template-helpers';
import { grantConsent } from '../helpers/people';
import { waText, waWebhookBody } from '../helpers/whatsapp';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const rt = require('../../scripts/n8n-runtime.js');

const ROOT = path.resolve(__dirname, '../..');
const ARTIFACTS = path.join(ROOT, 'test-artifacts');
const SHOP_TOKEN = 'e2e-shop-token-5f1c';
const REPORT_PASSWORD = 'e2e-report-9b2d';
const APP_SECRET = 'e2e0e2e0e2e0e2e0e2e0e2e0e2e0e2e0';
const OWNER = {
	email: 'owner@example.com',
	firstName: 'Ada',
	lastName: 'Owner',
	password: 'E2e-Passw0rd-long',
};
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
/** The templates this suite publishes (their triggers switched on first); the rest stay as shipped. */
const LIVE = new Set([
	'whatsapp-lead-capture.json',
	'abandoned-cart.json',
	'one-click-unsubscribe.json',
	'whatsapp-ai-concierge.json',
	'click-tracking.json',
	'in-app-inbox.json',
	'campaign-report-page.json',
]);
const lowerFirst = (s: string) => s[0].toLowerCase() + s.slice(1);
const expectedNodes = (pkg.n8n.nodes as string[]).map(
	(f) => `${pkg.name}.${lowerFirst(path.basename(f, '.node.js'))}`,
);
const expectedCredentials = (pkg.n8n.credentials as string[]).map((f) =>
	lowerFirst(path.basename(f, '.credentials.js')),
);

describe('in a real n8n', () => {
	const meta = new MetaGraphMock();
	const ai = new OpenAIMock();
	const smtp = new SmtpMock();
	const timeZone = zoneAt((h) => h >= 10 && h < 19);
	const customers = winBackCustomers(timeZone);
	const shop = new JsonApi((p) => (p === '/api/customers' ? customers : undefined));
	const userFolder = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-e2e-'));
	const databasePath = path.join(userFolder, 'convergent-store.sqlite');
	let n8n: ChildProcess;
	let output = '';
	let baseUrl = '';
	let env: NodeJS.ProcessEnv;
	let ids: Record<string, string>;
	let cookie = '';

	const rest = async (p: string, init: RequestInit = {}) => {
		const res = await fetch(`${baseUrl}${p}`, {
			...init,
			headers: { 'content-type': 'application/json', cookie, ...(init.headers ?? {}) },
		});
		const text = await res.text();
		return { status: res.status, headers: res.headers, text, json: () => JSON.parse(text) };
	};

	beforeAll(async () => {
		await rt.ensureRuntime();
		rt.installPackage(userFolder);
		await Promise.all([meta.start(), ai.start(), smtp.start(), shop.start()]);
		ai.responder = winBackCopy;
		const port = await rt.freePort();
		baseUrl = `http://127.0.0.1:${port}`;
		env = rt.n8nEnv({
			userFolder,
			port,
			brokerPort: await rt.freePort(),
			extra: { N8N_ENCRYPTION_KEY: 'e2e-encryption-key-0123456789', WEBHOOK_URL: `${baseUrl}/` },
		});

		// Credentials with the ids the templates reference, pointing at the loopback mocks.
		const credentials = [
			{
				id: 'meta',
				name: 'Meta Webhook',
				type: 'metaWebhookApi',
				data: { appSecret: APP_SECRET, verifyToken: 'e2e-verify' },
			},
			{
				id: 'wa',
				name: 'WhatsApp Cloud',
				type: 'whatsAppCloudApi',
				data: {
					accessToken: meta.accessToken,
					phoneNumberId: meta.phoneNumberId,
					apiVersion: 'v21.0',
					baseUrl: meta.baseUrl,
				},
			},
			{
				id: 'openai',
				name: 'OpenAI',
				type: 'openAiCompatibleApi',
				data: { apiKey: ai.apiKey, baseUrl: `${ai.baseUrl}/v1` },
			},
			// n8n's own OpenAI credential, for its OpenAI Chat Model node (the concierge's model).
			{
				id: 'openai-chat',
				name: 'OpenAI account',
				type: 'openAiApi',
				data: { apiKey: ai.apiKey, url: `${ai.baseUrl}/v1` },
			},
			{
				id: 'smtp',
				name: 'SMTP',
				type: 'convergentSmtpApi',
				data: {
					host: '127.0.0.1',
					port: smtp.port,
					user: smtp.user,
					password: smtp.pass,
					fromEmail: 'Glow <hello@glow.example>',
				},
			},
			{
				id: 'store',
				name: 'Convergent Store',
				type: 'convergentStoreApi',
				data: { storageType: 'embedded', databasePath },
			},
			{
				id: 'shop-webhook',
				name: 'Shop Webhook Header',
				type: 'httpHeaderAuth',
				data: { name: 'X-Shop-Token', value: SHOP_TOKEN },
			},
			{
				id: 'report-page-login',
				name: 'Report Page Login',
				type: 'httpBasicAuth',
				data: { user: 'marketing', password: REPORT_PASSWORD },
			},
		];
		const credFile = path.join(userFolder, 'credentials.json');
		fs.writeFileSync(credFile, JSON.stringify(credentials));
		rt.n8nCli(['import:credentials', `--input=${credFile}`], env);
		fs.rmSync(credFile);

		const templatesDir = path.join(userFolder, 'templates');
		ids = rt.templatesWithIds(
			templatesDir,
			(
				wf: { nodes: Array<{ name: string; parameters: Record<string, unknown> }> },
				file: string,
			) => {
				// Published below: their real triggers go on, the step a user takes to go live.
				if (LIVE.has(file))
					for (const n of wf.nodes as Array<{ disabled?: boolean }>) delete n.disabled;
				if (file === 'win-back.json') {
					const get = wf.nodes.find((n) => n.name === 'Get Customers')!;
					get.parameters.url = String(get.parameters.url).replace(
						'https://shop.example.com',
						shop.baseUrl,
					);
				}
				return wf;
			},
		);
		// Two small workflows of our own for the unsubscribe round trip: a marketing email with a
		// signed link to the published template's webhook, and a Check of the same person.
		// The public https URL (RFC 8058 wants https); the test reaches it as a TLS proxy would, on loopback.
		unsubscribeWorkflows(PUBLIC_UNSUBSCRIBE_URL).forEach((wf, k) =>
			fs.writeFileSync(path.join(templatesDir, `e2e-unsubscribe-${k}.json`), JSON.stringify(wf)),
		);
		fs.writeFileSync(
			path.join(templatesDir, 'e2e-chat-model.json'),
			JSON.stringify(chatModelWorkflow()),
		);
		rt.n8nCli(['import:workflow', '--separate', `--input=${templatesDir}`], env);
		for (const file of LIVE) rt.n8nCli(['publish:workflow', `--id=${ids[file]}`], env);

		n8n = rt.spawnN8n(['start'], env);
		n8n.stdout!.on('data', (d) => (output += d));
		n8n.stderr!.on('data', (d) => (output += d));
		try {
			await rt.waitForHttp(`${baseUrl}/healthz/readiness`, { child: n8n, timeoutMs: 240_000 });
		} catch (e) {
			throw new Error(`${(e as Error).message}\n--- n8n output ---\n${output.slice(-4000)}`);
		}
		const setup = await rest('/rest/owner/setup', { method: 'POST', body: JSON.stringify(OWNER) });
		expect(setup.status).toBe(200);
		cookie = setup.headers
			.getSetCookie()
			.map((c) => c.split(';')[0])
			.join('; ');
	}, 1_500_000);

	afterAll(async () => {
		if (n8n && n8n.exitCode === null) {
			const exited = new Promise((r) => n8n.once('exit', r));
			n8n.kill('SIGTERM');
			await Promise.race([exited, new Promise((r) => setTimeout(r, 20_000))]);
			if (n8n.exitCode === null) n8n.kill('SIGKILL');
		}
		await closeAllStores();
		await Promise.all([meta.stop(), ai.stop(), smtp.stop(), shop.stop()]);
	}, 60_000);

	it('registers every node and credential of the package (REST), and the imported templates', async () => {
		const nodes = await rest('/types/nodes.json');
		expect(nodes.status).toBe(200);
		const names = new Set((nodes.json() as Array<{ name: string }>).map((n) => n.name));
		for (const n of expectedNodes) expect(names).toContain(n);
		const creds = await rest('/types/credentials.json');
		const credNames = new Set((creds.json() as Array<{ name: string }>).map((c) => c.name));
		for (const c of expectedCredentials) expect(credNames).toContain(c);
		const workflows = await rest('/rest/workflows');
		const listed = (workflows.json().data as Array<{ id: string }>).map((w) => w.id).sort();
		expect(listed).toEqual(
			[...Object.values(ids), UNSUB_SEND_ID, UNSUB_CHECK_ID, CHAT_MODEL_ID].sort(),
		);
	});

	it('a signed WhatsApp message to the production webhook runs the lead-capture template; a forged one is refused', async () => {
		const trigger = JSON.parse(
			fs.readFileSync(path.join(ROOT, 'workflows', 'whatsapp-lead-capture.json'), 'utf8'),
		).nodes.find((n: { type: string }) => n.type.endsWith('.touchpointTrigger'));
		const url = `${baseUrl}/webhook/${trigger.webhookId}/webhook`;
		// Meta's subscription handshake.
		const verify = await fetch(
			`${url}?hub.mode=subscribe&hub.verify_token=e2e-verify&hub.challenge=4711`,
		);
		expect(await verify.text()).toBe('4711');

		const body = waWebhookBody({
			phoneNumberId: meta.phoneNumberId,
			name: 'Lia',
			waId: '34611777000',
			messages: [waText('34611777000', 'wamid.e2e.1', 'Hola')],
		});
		meta.setLastInbound('34611777000', Date.now());
		const forged = await fetch(url, {
			method: 'POST',
			headers: {
				'content-type': 'application/json',
				'x-hub-signature-256': metaSignature('not-the-app-secret', body),
			},
			body,
		});
		expect(forged.status).toBeGreaterThanOrEqual(400);
		const res = await fetch(url, {
			method: 'POST',
			headers: {
				'content-type': 'application/json',
				'x-hub-signature-256': metaSignature(APP_SECRET, body),
			},
			body,
		});
		expect(res.status).toBe(200);
		const deadline = Date.now() + 60_000;
		const sent = () => meta.requests.filter((r) => r.body?.to === '34611777000');
		while (sent().length === 0 && Date.now() < deadline)
			await new Promise((r) => setTimeout(r, 250));
		expect(sent().map((r) => r.body.text?.body)).toEqual(['Hi! What is your name?']);
		// The same delivery again (Meta retries): handled once.
		await fetch(url, {
			method: 'POST',
			headers: {
				'content-type': 'application/json',
				'x-hub-signature-256': metaSignature(APP_SECRET, body),
			},
			body,
		});
		await new Promise((r) => setTimeout(r, 3000));
		expect(sent()).toHaveLength(1);
	});

	it("the AI concierge: n8n's AI Agent with its OpenAI Chat Model (on the loopback OpenAI) calls the package's tools; a message to someone other than the person of the conversation is refused with the reason and never sent", async () => {
		const store = await openStore({ type: 'embedded', path: databasePath });
		await grantConsent(store, [{ id: 'crm-e2e-ben', phone: '+34622777111' } as never], ['sms']);
		await closeAllStores();
		const seen: Array<{ tools: string[]; toolResults: string[] }> = [];
		const previous = ai.responder;
		ai.responder = (req: {
			messages?: Array<{ role: string; content: unknown }>;
			tools?: Array<{ function: { name: string } }>;
		}) => {
			const toolResults = (req.messages ?? [])
				.filter((m) => m.role === 'tool')
				.map((m) => String(m.content));
			seen.push({ tools: (req.tools ?? []).map((t) => t.function.name).sort(), toolResults });
			// First turn: the model tries to message the friend; then it answers from what the tools said.
			if (!toolResults.length) {
				return {
					toolCalls: [
						{ name: 'Check_Consent', arguments: { contact: '+34622777111' } },
						{
							name: 'Send_Follow-Up',
							arguments: {
								contact: '+34622777111',
								text: 'Your friend thinks you will love our spring offer!',
							},
						},
					],
				};
			}
			return toolResults.some((t) => t.includes('refused'))
				? 'I could not send the offer to your friend: I can only message you.'
				: 'Sent!';
		};
		try {
			const trigger = JSON.parse(
				fs.readFileSync(path.join(ROOT, 'workflows', 'whatsapp-ai-concierge.json'), 'utf8'),
			).nodes.find((n: { type: string }) => n.type.endsWith('.touchpointTrigger'));
			const url = `${baseUrl}/webhook/${trigger.webhookId}/webhook`;
			const body = JSON.stringify({
				object: 'whatsapp_business_account',
				entry: [
					{
						id: 'W',
						changes: [
							{
								field: 'messages',
								value: {
									metadata: { phone_number_id: meta.phoneNumberId },
									contacts: [{ profile: { name: 'Ana' }, wa_id: '34611777222' }],
									messages: [
										{
											from: '34611777222',
											id: 'wamid.e2e.concierge',
											timestamp: String(Math.floor(Date.now() / 1000)),
											type: 'text',
											text: { body: 'Please send the spring offer to my friend +34 622 777 111' },
										},
									],
								},
							},
						],
					},
				],
			});
			// n8n registers published webhooks just after it reports ready: wait until Meta's handshake answers.
			for (const until = Date.now() + 60_000; Date.now() < until; ) {
				if (
					(await fetch(`${url}?hub.mode=subscribe&hub.verify_token=e2e-verify&hub.challenge=1`))
						.status === 200
				)
					break;
				await new Promise((r) => setTimeout(r, 500));
			}
			meta.setLastInbound('34611777222', Date.now());
			const res = await fetch(url, {
				method: 'POST',
				headers: {
					'content-type': 'application/json',
					'x-hub-signature-256': metaSignature(APP_SECRET, body),
				},
				body,
			});
			expect({ status: res.status, log: res.status === 200 ? '' : output.slice(-4000) }).toEqual({
				status: 200,
				log: '',
			});
			const deadline = Date.now() + 90_000;
			const toAna = () => meta.requests.filter((r) => r.body?.to === '34611777222');
			while (toAna().length === 0 && Date.now() < deadline)
				await new Promise((r) => setTimeout(r, 250));
			expect(toAna().map((r) => r.body.text?.body)).toEqual([
				'I could not send the offer to your friend: I can only message you.',
			]);
			expect(meta.requests.filter((r) => r.body?.to === '34622777111')).toEqual([]);
			// The model was offered the package's four tools and read each tool's answer with its reason.
			expect(seen[0].tools).toEqual([
				'Check_Consent',
				'Record_Opt-Out',
				'Send_Follow-Up',
				'Track_Booking',
			]);
			// Both tools knew the person of the conversation (Conversation Contact from the trigger's item)
			// and refused the friend: nothing of the friend's consent reached the model.
			const answers = seen.at(-1)!.toolResults.join('\n');
			expect(answers.match(/"status":"refused"/g)).toHaveLength(2);
			expect(answers).toContain('this names someone else');
			expect(answers).not.toContain('NO_CONSENT');
		} finally {
			ai.responder = previous;
		}
	});

	it("AI Content with n8n's OpenAI Chat Model node connected (on the loopback OpenAI): one call per segment, copy personalised, `n8n execute`", async () => {
		const previous = ai.responder;
		const before = ai.received;
		const prompts: string[] = [];
		ai.responder = (req: { messages?: Array<{ role: string; content: unknown }> }) => {
			prompts.push(String(req.messages?.[0]?.content ?? ''));
			const segment = String(req.messages?.at(-1)?.content).includes('vip') ? 'VIP' : 'new friend';
			return {
				variants: [{ text: `Hi {{contact.firstName}}, as a ${segment}: 20% off until Sunday.` }],
			};
		};
		try {
			const cliEnv = {
				...env,
				N8N_RUNNERS_BROKER_PORT: String(await rt.freePort()),
				N8N_PORT: String(await rt.freePort()),
			};
			const r = await rt.n8nCliAsync(['execute', `--id=${CHAT_MODEL_ID}`], cliEnv, {
				timeout: 240_000,
			});
			expect({
				status: r.status,
				output: r.status === 0 ? '' : `${r.stdout}${r.stderr}`.slice(-3000),
			}).toEqual({ status: 0, output: '' });
			expect(ai.received - before).toBe(2);
			expect(prompts.every((p) => p.includes('Answer with one JSON object and nothing else'))).toBe(
				true,
			);
			const list = await rest(
				`/rest/executions?filter=${encodeURIComponent(JSON.stringify({ workflowId: CHAT_MODEL_ID }))}`,
			);
			const results = (list.json().data.results ?? list.json().data) as Array<{
				id: string;
				status: string;
			}>;
			expect(results.map((e) => e.status)).toEqual(['success']);
			const run = await rest(`/rest/executions/${results[0].id}`);
			for (const text of [
				'Hi Ana, as a new friend: 20% off until Sunday.',
				'Hi Ben, as a VIP: 20% off until Sunday.',
				'Hi Cai, as a new friend: 20% off until Sunday.',
			])
				expect(run.text).toContain(text);
		} finally {
			ai.responder = previous;
		}
	});

	it('click tracking: a tracked link (short code, or a long signed one from before) to the published template redirects (307) to the original URL; an unknown or forged one answers 400 without a Location', async () => {
		const store = await openStore({ type: 'embedded', path: databasePath });
		const key = clickKey(await store.linkKey());
		// The short code Touchpoint writes, kept in the store as Touchpoint keeps it.
		const target = {
			contactId: 'crm-e2e-click',
			channel: 'email' as const,
			campaign: 'spring',
			url: 'https://glow.example/spring?utm=short',
		};
		const short = shortClickCode(key, target);
		await store.saveTrackedLinks([{ code: short, ...target }]);
		await closeAllStores();
		const code = signClick(key, {
			contactId: 'crm-e2e-click',
			channel: 'email',
			campaign: 'spring',
			url: 'https://glow.example/spring?utm=mail',
		});
		const url = `${baseUrl}/webhook/r?c=${encodeURIComponent(code)}`;
		for (const until = Date.now() + 60_000; Date.now() < until; ) {
			if ((await fetch(`${baseUrl}/webhook/r`, { redirect: 'manual' })).status !== 404) break;
			await new Promise((r) => setTimeout(r, 500));
		}
		const viaShort = await fetch(`${baseUrl}/webhook/r?c=${short}`, { redirect: 'manual' });
		expect([viaShort.status, viaShort.headers.get('location')]).toEqual([
			307,
			'https://glow.example/spring?utm=short',
		]);
		// A long signed link from before short links still redirects.
		const res = await fetch(url, { redirect: 'manual' });
		expect([res.status, res.headers.get('location')]).toEqual([
			307,
			'https://glow.example/spring?utm=mail',
		]);
		const unknown = await fetch(`${baseUrl}/webhook/r?c=k2.AAAAAAAAAAAAAAAA`, {
			redirect: 'manual',
		});
		expect([unknown.status, unknown.headers.get('location')]).toEqual([400, null]);
		const forged = `${baseUrl}/webhook/r?c=${encodeURIComponent(code.replace(/\.[^.]+\./, `.${Buffer.from(JSON.stringify(['crm-e2e-click', 'email', 'spring', 'https://evil.example/'])).toString('base64url')}.`))}`;
		const bad = await fetch(forged, { redirect: 'manual' });
		expect([bad.status, bad.headers.get('location')]).toEqual([400, null]);
	});

	it("in-app inbox: the app lists a person's messages and marks one read with the code the message carried; a forged code answers 401", async () => {
		const store = await openStore({ type: 'embedded', path: databasePath });
		const key = inboxKey(await store.linkKey());
		const now = Date.now();
		await store.addInAppMessages([
			{
				id: 'iam_e2e_1',
				contactId: 'crm-e2e-app',
				campaign: 'spring',
				title: 'Spring is here',
				body: '20% off',
				ctaUrl: 'https://glow.example/spring',
				createdAt: now - 1000,
				expiresAt: now + 3_600_000,
			},
			{
				id: 'iam_e2e_old',
				contactId: 'crm-e2e-app',
				title: 'Gone',
				body: 'expired',
				createdAt: now - 7_200_000,
				expiresAt: now - 1000,
			},
		]);
		await closeAllStores();
		const code = signInboxToken(key, 'crm-e2e-app');
		for (const until = Date.now() + 60_000; Date.now() < until; ) {
			if ((await fetch(`${baseUrl}/webhook/in-app`)).status !== 404) break;
			await new Promise((r) => setTimeout(r, 500));
		}
		const list = await fetch(`${baseUrl}/webhook/in-app`, { headers: { 'x-inbox-code': code } });
		expect(list.status).toBe(200);
		expect(await list.json()).toMatchObject({
			valid: true,
			unread: 1,
			messages: [{ id: 'iam_e2e_1', title: 'Spring is here', read: false }],
		});
		const read = await fetch(`${baseUrl}/webhook/in-app/read`, {
			method: 'POST',
			headers: { 'x-inbox-code': code, 'content-type': 'application/json' },
			body: JSON.stringify({ ids: ['iam_e2e_1'] }),
		});
		expect(await read.json()).toEqual({ valid: true, marked: 1 });
		expect(
			(
				(await (
					await fetch(`${baseUrl}/webhook/in-app`, { headers: { 'x-inbox-code': code } })
				).json()) as { unread: number }
			).unread,
		).toBe(0);
		const forged = await fetch(`${baseUrl}/webhook/in-app`, {
			headers: { 'x-inbox-code': code.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')) },
		});
		expect(forged.status).toBe(401);
	});

	it('the campaign report page: the published page answers only with the login, as HTML, for the campaign its query names', async () => {
		const url = `${baseUrl}/webhook/campaign-report?campaign=spring-sale&days=30`;
		const anonymous = await fetch(url);
		expect([401, 403]).toContain(anonymous.status);
		const wrong = await fetch(url, {
			headers: { authorization: `Basic ${Buffer.from('marketing:guess').toString('base64')}` },
		});
		expect([401, 403]).toContain(wrong.status);
		const page = await fetch(url, {
			headers: {
				authorization: `Basic ${Buffer.from(`marketing:${REPORT_PASSWORD}`).toString('base64')}`,
			},
		});
		expect(page.status).toBe(200);
		expect(page.headers.get('content-type')).toContain('text/html');
		const html = await page.text();
		expect(html).toContain('<html');
		expect(html).toContain('Campaign spring-sale');
	});

	it("the abandoned-cart webhook refuses a call without the shop's header secret", async () => {
		const url = `${baseUrl}/webhook/cart-abandoned`;
		const body = JSON.stringify({
			contact: { id: 'e2e-u1', email: 'x@example.com' },
			preferredChannel: 'email',
			cart: { value: 10, url: 'https://shop.example/c' },
		});
		const anonymous = await fetch(url, {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body,
		});
		expect([401, 403]).toContain(anonymous.status);
		const wrong = await fetch(url, {
			method: 'POST',
			headers: { 'content-type': 'application/json', 'x-shop-token': 'guess' },
			body,
		});
		expect([401, 403]).toContain(wrong.status);
		const shop = await fetch(url, {
			method: 'POST',
			headers: { 'content-type': 'application/json', 'x-shop-token': SHOP_TOKEN },
			body,
		});
		expect(shop.status).toBe(200);
	});

	it('`n8n execute` runs the win-back template against the mocks', async () => {
		const store = await openStore({ type: 'embedded', path: databasePath });
		await grantConsent(store, customers, ['email'], { evidence: { source: 'checkout' } });
		await closeAllStores();
		const cliEnv = {
			...env,
			N8N_RUNNERS_BROKER_PORT: String(await rt.freePort()),
			N8N_PORT: String(await rt.freePort()),
		};
		const modelCallsBefore = ai.received;
		const r = await rt.n8nCliAsync(
			['execute', `--id=${ids['win-back.json']}`, '--rawOutput'],
			cliEnv,
			{ timeout: 240_000 },
		);
		expect({
			status: r.status,
			output: r.status === 0 ? '' : `${r.stdout}${r.stderr}`.slice(-3000),
		}).toEqual({ status: 0, output: '' });
		const mails = await smtp.waitFor(3);
		expect(mails.map((m) => m.to[0]).sort()).toEqual([
			'c2@example.com',
			'c3@example.com',
			'c4@example.com',
		]);
		expect(mails.map((m) => m.subject).sort()).toEqual(['At risk A', 'At risk B', 'Hibernating A']);
		expect(ai.received - modelCallsBefore).toBe(2);
	});

	it("one-click unsubscribe round trip: a marketing email's signed link, POSTed as RFC 8058 says to the published template, makes the next Check Blocked WITHDRAWN", async () => {
		const store = await openStore({ type: 'embedded', path: databasePath });
		await grantConsent(store, [UNSUB_CONTACT as never], ['email'], {
			evidence: { source: 'checkout' },
		});
		await closeAllStores();
		const cliEnv = async () => ({
			...env,
			N8N_RUNNERS_BROKER_PORT: String(await rt.freePort()),
			N8N_PORT: String(await rt.freePort()),
		});
		const before = smtp.messages.length;
		const sent = await rt.n8nCliAsync(
			['execute', `--id=${UNSUB_SEND_ID}`, '--rawOutput'],
			await cliEnv(),
			{ timeout: 240_000 },
		);
		expect({
			status: sent.status,
			output: sent.status === 0 ? '' : `${sent.stdout}${sent.stderr}`.slice(-3000),
		}).toEqual({ status: 0, output: '' });
		const [mail] = (await smtp.waitFor(before + 1)).slice(before);
		expect(mail.to).toEqual([UNSUB_CONTACT.email]);
		expect(mail.headers.get('list-unsubscribe-post')).toEqual(['List-Unsubscribe=One-Click']);
		const header = String(mail.headers.get('list-unsubscribe')?.[0]).replace(/^<|>$/g, '');
		expect(header.startsWith(`${PUBLIC_UNSUBSCRIBE_URL}?token=u1.`)).toBe(true);
		const link = header.replace(PUBLIC_UNSUBSCRIBE_URL, `${baseUrl}/webhook/unsubscribe`);
		// A link scanner's GET unsubscribes nobody: it gets the page with the button.
		const page = await fetch(link);
		expect(page.status).toBe(200);
		expect(await page.text()).toContain('<form method="post"');
		// The mail client's one-click POST (RFC 8058).
		const post = await fetch(link, {
			method: 'POST',
			headers: { 'content-type': 'application/x-www-form-urlencoded' },
			body: 'List-Unsubscribe=One-Click',
		});
		expect(post.status).toBe(200);
		expect(await post.text()).toContain('You are unsubscribed');
		const forged = await fetch(
			link.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')),
			{
				method: 'POST',
				headers: { 'content-type': 'application/x-www-form-urlencoded' },
				body: 'List-Unsubscribe=One-Click',
			},
		);
		expect(forged.status).toBe(400);
		const checked = await rt.n8nCliAsync(['execute', `--id=${UNSUB_CHECK_ID}`], await cliEnv(), {
			timeout: 240_000,
		});
		expect(checked.status).toBe(0);
		// The Check's run as n8n saved it (n8n execute prints no run data in 2.x): Blocked, WITHDRAWN.
		const list = await rest(
			`/rest/executions?filter=${encodeURIComponent(JSON.stringify({ workflowId: UNSUB_CHECK_ID }))}`,
		);
		const results = (list.json().data.results ?? list.json().data) as Array<{
			id: string;
			status: string;
		}>;
		expect(results.map((e) => e.status)).toEqual(['success']);
		const run = await rest(`/rest/executions/${results[0].id}`);
		expect(run.text).toContain('WITHDRAWN');
	});

	it("the editor renders an imported template with the package's nodes and icons (headless Chromium)", async () => {
		// eslint-disable-next-line @typescript-eslint/no-require-imports
		const { chromium } = require('playwright-core');
		const browser = await chromium.launch({
			executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
			args: [
				'--headless',
				'--no-sandbox',
				'--disable-gpu',
				'--disable-quic',
				'--no-first-run',
				'--disable-background-networking',
				'--disable-component-update',
				'--disable-sync',
			],
		});
		try {
			const context = await browser.newContext({ viewport: { width: 1600, height: 900 } });
			await context.addCookies(
				cookie.split('; ').map((c) => {
					const [name, ...v] = c.split('=');
					return { name, value: v.join('='), url: baseUrl };
				}),
			);
			const page = await context.newPage();
			const id = ids['whatsapp-lead-capture.json'];
			await page.goto(`${baseUrl}/workflow/${id}`, { waitUntil: 'domcontentloaded' });
			await page.waitForSelector('[data-test-id="canvas-node"]', { timeout: 60_000 });
			await page.waitForTimeout(1500);
			const template = JSON.parse(
				fs.readFileSync(path.join(ROOT, 'workflows', 'whatsapp-lead-capture.json'), 'utf8'),
			);
			const ours = template.nodes.filter((n: { type: string }) =>
				n.type.startsWith(`${pkg.name}.`),
			).length;
			const icons: Array<{ src: string; loaded: boolean }> = await page.$$eval(
				`img[src*="${pkg.name}"]`,
				(imgs: Array<{ src: string; complete: boolean; naturalWidth: number }>) =>
					imgs.map((i) => ({ src: i.src, loaded: i.complete && i.naturalWidth > 0 })),
			);
			expect(icons.length).toBeGreaterThanOrEqual(ours);
			expect(icons.filter((i) => !i.loaded)).toEqual([]);
			const text = await page.textContent('body');
			expect(text).not.toMatch(/not currently installed|Install this node/i);
			fs.mkdirSync(ARTIFACTS, { recursive: true });
			await page.screenshot({ path: path.join(ARTIFACTS, 'editor-whatsapp-lead-capture.png') });
			expect(
				fs.statSync(path.join(ARTIFACTS, 'editor-whatsapp-lead-capture.png')).size,
			).toBeGreaterThan(10_000);
		} finally {
			await browser.close();
		}
	});
});

const PUBLIC_UNSUBSCRIBE_URL = 'https://n8n.example.com/webhook/unsubscribe';
const UNSUB_CONTACT = { id: 'e2e-unsub-1', email: 'noa@example.com', timeZone: 'UTC' };
const UNSUB_SEND_ID = 'cmE2eUnsubSend01';
const UNSUB_CHECK_ID = 'cmE2eUnsubCheck1';
const CHAT_MODEL_ID = 'cmE2eChatModel01';

/** AI Content writing per-segment copy through n8n's own OpenAI Chat Model node (no OpenAI-compatible credential). */
function chatModelWorkflow() {
	const people = Array.from({ length: 6 }, (_, i) => ({
		contact: { id: `cm-${i}`, firstName: ['Ana', 'Ben', 'Cai'][i % 3] },
		segment: i % 2 ? 'vip' : 'new',
	}));
	return {
		id: CHAT_MODEL_ID,
		name: 'e2e: AI Content with a Chat Model sub-node',
		active: false,
		settings: { executionOrder: 'v1' },
		nodes: [
			{
				id: 'cm-start',
				name: 'Start',
				type: 'n8n-nodes-base.manualTrigger',
				typeVersion: 1,
				position: [0, 0],
				parameters: {},
			},
			{
				id: 'cm-people',
				name: 'People',
				type: 'n8n-nodes-base.set',
				typeVersion: 3.4,
				position: [220, 0],
				parameters: { mode: 'raw', jsonOutput: JSON.stringify({ people }), options: {} },
			},
			{
				id: 'cm-split',
				name: 'One Item per Person',
				type: 'n8n-nodes-base.splitOut',
				typeVersion: 1,
				position: [440, 0],
				parameters: { fieldToSplitOut: 'people', options: {} },
			},
			{
				id: 'cm-ai',
				name: 'Copy',
				type: `${pkg.name}.aiContent`,
				typeVersion: 1,
				position: [660, 0],
				credentials: { convergentStoreApi: { id: 'store', name: 'Convergent Store' } },
				parameters: {
					operation: 'generateCopy',
					channel: 'sms',
					brief: 'Spring sale: 20% off until Sunday',
					groupBy: 'segment',
					placeholders: 'contact.firstName',
					options: {},
				},
			},
			{
				id: 'cm-model',
				name: 'OpenAI Chat Model',
				type: '@n8n/n8n-nodes-langchain.lmChatOpenAi',
				typeVersion: 1.3,
				position: [660, 220],
				credentials: { openAiApi: { id: 'openai-chat', name: 'OpenAI account' } },
				parameters: {
					model: { __rl: true, mode: 'list', value: 'gpt-4o-mini' },
					responsesApiEnabled: false,
					options: {},
				},
			},
		],
		connections: {
			Start: { main: [[{ node: 'People', type: 'main', index: 0 }]] },
			People: { main: [[{ node: 'One Item per Person', type: 'main', index: 0 }]] },
			'One Item per Person': { main: [[{ node: 'Copy', type: 'main', index: 0 }]] },
			'OpenAI Chat Model': {
				ai_languageModel: [[{ node: 'Copy', type: 'ai_languageModel', index: 0 }]],
			},
		},
	};
}

/** A marketing email with a signed link to `webhookUrl`, and a Check of the same person, as two workflows. */
function unsubscribeWorkflows(webhookUrl: string) {
	const store = { convergentStoreApi: { id: 'store', name: 'Convergent Store' } };
	const person = (name: string) => ({
		id: `${name}-set`,
		name: 'Person',
		type: 'n8n-nodes-base.set',
		typeVersion: 3.4,
		position: [220, 0],
		parameters: {
			mode: 'raw',
			jsonOutput: JSON.stringify({ contact: UNSUB_CONTACT }),
			options: {},
		},
	});
	const trigger = (name: string) => ({
		id: `${name}-start`,
		name: 'Start',
		type: 'n8n-nodes-base.manualTrigger',
		typeVersion: 1,
		position: [0, 0],
		parameters: {},
	});
	const chain = (last: string) => ({
		Start: { main: [[{ node: 'Person', type: 'main', index: 0 }]] },
		Person: { main: [[{ node: last, type: 'main', index: 0 }]] },
	});
	const mapping = {
		idField: 'contact.id',
		emailField: 'contact.email',
		timeZoneField: 'contact.timeZone',
	};
	return [
		{
			id: UNSUB_SEND_ID,
			name: 'e2e: newsletter with a signed unsubscribe link',
			active: false,
			settings: { executionOrder: 'v1' },
			connections: chain('Newsletter'),
			nodes: [
				trigger('send'),
				person('send'),
				{
					id: 'send-tp',
					name: 'Newsletter',
					type: `${pkg.name}.touchpoint`,
					typeVersion: 1,
					position: [440, 0],
					credentials: { ...store, convergentSmtpApi: { id: 'smtp', name: 'SMTP' } },
					parameters: {
						channel: 'email',
						purpose: 'marketing',
						campaign: 'e2e-newsletter',
						subject: 'News',
						html: '<p>News</p>',
						unsubscribeLink: 'signed',
						unsubscribeWebhookUrl: webhookUrl,
						postalAddress: 'Glow SL, Madrid',
						contactFields: mapping,
						options: {},
					},
				},
			],
		},
		{
			id: UNSUB_CHECK_ID,
			name: 'e2e: check after unsubscribe',
			active: false,
			settings: { executionOrder: 'v1' },
			connections: chain('Check'),
			nodes: [
				trigger('check'),
				person('check'),
				{
					id: 'check-cg',
					name: 'Check',
					type: `${pkg.name}.consentGuard`,
					typeVersion: 1,
					position: [440, 0],
					credentials: store,
					parameters: {
						operation: 'check',
						channel: 'email',
						purpose: 'marketing',
						campaign: 'e2e-after',
						contactFields: mapping,
					},
				},
			],
		},
	];
}

/** What the page functions read of a DOM element (the tests compile without the DOM library). */
type DomElement = {
	getAttribute(name: string): string | null;
	querySelector(selector: string): unknown;
	textContent: string | null;
};

/** Headless Debian Chromium through playwright-core, signed in with the owner's session cookie. */
async function openBrowser(baseUrl: string, cookie: string) {
	// eslint-disable-next-line @typescript-eslint/no-require-imports
	const { chromium } = require('playwright-core');
	const browser = await chromium.launch({
		executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
		args: [
			'--headless',
			'--no-sandbox',
			'--disable-gpu',
			'--disable-quic',
			'--no-first-run',
			'--disable-background-networking',
			'--disable-component-update',
			'--disable-sync',
		],
	});
	const context = await browser.newContext({ viewport: { width: 1600, height: 900 } });
	await context.addCookies(
		cookie.split('; ').map((c) => {
			const [name, ...v] = c.split('=');
			return { name, value: v.join('='), url: baseUrl };
		}),
	);
	return { browser, context };
}

describe("npm start (the README's run command), then the editor as a marketer uses it", () => {
	const userFolder = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-start-'));
	let child: ChildProcess;
	let output = '';
	let base = '';
	let cookie = '';
	// eslint-disable-next-line @typescript-eslint/no-explicit-any
	let browser: any;
	// eslint-disable-next-line @typescript-eslint/no-explicit-any
	let context: any;
	const get = async (p: string) =>
		(await (await fetch(`${base}${p}`, { headers: { cookie } })).json()) as { data: never };

	beforeAll(async () => {
		const port = await rt.freePort();
		const { spawn } = await import('node:child_process');
		// scripts/start.js is what `npm start` runs after `npm run build` (done by test:e2e).
		// Its own process group: stopping it stops the n8n it started too (which shares its output pipe).
		child = spawn(process.execPath, [path.join(ROOT, 'scripts', 'start.js')], {
			cwd: ROOT,
			env: { ...rt.runtimeEnv(), N8N_PORT: String(port), N8N_USER_FOLDER: userFolder },
			stdio: ['ignore', 'pipe', 'pipe'],
			detached: true,
		});
		child.stdout!.on('data', (d) => (output += d));
		child.stderr!.on('data', (d) => (output += d));
		base = `http://127.0.0.1:${port}`;
		try {
			await rt.waitForHttp(`${base}/healthz/readiness`, { child, timeoutMs: 240_000 });
		} catch (e) {
			throw new Error(`${(e as Error).message}\n--- npm start output ---\n${output.slice(-4000)}`);
		}
		const setup = await fetch(`${base}/rest/owner/setup`, {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body: JSON.stringify(OWNER),
		});
		expect(setup.status).toBe(200);
		cookie = setup.headers
			.getSetCookie()
			.map((c) => c.split(';')[0])
			.join('; ');
		({ browser, context } = await openBrowser(base, cookie));
		fs.mkdirSync(ARTIFACTS, { recursive: true });
	}, 600_000);

	afterAll(async () => {
		await browser?.close();
		if (child && child.exitCode === null) {
			const exited = new Promise((r) => child.once('exit', r));
			process.kill(-child.pid!, 'SIGTERM');
			await Promise.race([exited, new Promise((r) => setTimeout(r, 30_000))]);
			if (child.exitCode === null) process.kill(-child.pid!, 'SIGKILL');
		}
		child?.stdout?.destroy();
		child?.stderr?.destroy();
		fs.rmSync(userFolder, { recursive: true, force: true });
	}, 60_000);

	it('brings up n8n with every node of the package registered and every template imported', async () => {
		const nodes = (await get('/types/nodes.json')) as unknown as Array<{ name: string }>;
		const names = new Set(nodes.map((n) => n.name));
		for (const n of expectedNodes) expect(names).toContain(n);
		const workflows = (await get('/rest/workflows')).data as Array<{ id: string; name: string }>;
		expect(workflows).toHaveLength(
			fs.readdirSync(path.join(ROOT, 'workflows')).filter((f) => f.endsWith('.json')).length,
		);
		// The store credential exists, and no template points at a credential that does not.
		const credentials = (await get('/rest/credentials')).data as Array<{
			id: string;
			name: string;
			type: string;
		}>;
		expect(credentials.map((c) => [c.id, c.type])).toEqual([['store', 'convergentStoreApi']]);
		for (const wf of workflows) {
			const full = (await get(`/rest/workflows/${wf.id}`)).data as {
				nodes: Array<{ name: string; credentials?: Record<string, { id: string }> }>;
			};
			const refs = full.nodes.flatMap((n) =>
				Object.entries(n.credentials ?? {}).map(
					([type, c]) => `${wf.name} / ${n.name}: ${type} ${c.id}`,
				),
			);
			expect(refs.filter((r) => !r.endsWith('convergentStoreApi store'))).toEqual([]);
			expect(refs.length).toBeGreaterThan(0);
		}
		expect(output).toContain('Ready: open http://localhost:');
	});

	/** Opens a template in the editor and runs its Try It trigger by clicking, as its sticky note says. */
	async function runTryIt(file: string, lastNode: string) {
		const page = await context.newPage();
		await page.goto(`${base}/workflow/${rt.templateId(file)}`, { waitUntil: 'domcontentloaded' });
		await page.waitForSelector('[data-test-id="canvas-node"]', { timeout: 60_000 });
		await page.waitForTimeout(1000);
		if (LIVE.has(file)) {
			// Published with its real trigger on: Try It's own button, as a user who went live would.
			await page.locator('[data-test-id="execute-workflow-button-Try It"]').click({ force: true });
		} else {
			// As shipped: the big button is the one a marketer presses first, and it runs Try It.
			const button = page.locator('[data-test-id="execute-workflow-button"]').first();
			expect(String(await button.textContent())).not.toMatch(/from (?!Try It)/);
			await button.click();
		}
		await page.getByText('Workflow executed successfully').first().waitFor({ timeout: 60_000 });
		await page
			.locator(
				`[data-test-id="canvas-node"][data-node-name="${lastNode}"] [data-test-id="canvas-node-status-success"]`,
			)
			.waitFor({ timeout: 30_000 });
		return page;
	}

	// Per template: the node whose Blocked / Not Sent output explains who got nothing and why.
	const tryIts: Array<[string, string, string, string[]]> = [
		[
			'abandoned-cart.json',
			'Consent Guard',
			'Blocked',
			['WITHDRAWN', 'QUIET_HOURS', 'FREQUENCY_CAP', 'NO_CONSENT'],
		],
		[
			'personalised-recommendations.json',
			'Push or Email',
			'Not Sent',
			['WITHDRAWN', 'QUIET_HOURS', 'FREQUENCY_CAP', 'NO_CONSENT'],
		],
		[
			'win-back.json',
			'Consent Guard',
			'Blocked',
			['WITHDRAWN', 'QUIET_HOURS', 'FREQUENCY_CAP', 'NO_CONSENT'],
		],
		[
			'welcome-double-opt-in.json',
			'Check Welcome',
			'Blocked',
			['WITHDRAWN', 'QUIET_HOURS', 'FREQUENCY_CAP', 'NO_CONSENT'],
		],
		['whatsapp-lead-capture.json', 'Ask', 'Not Sent', ['WINDOW_CLOSED']],
		['consultation-booking.json', 'Ask', 'Not Sent', ['WINDOW_CLOSED']],
		['one-click-unsubscribe.json', 'Valid Link?', 'No Segment', ['not a valid unsubscribe link']],
		['whatsapp-ai-concierge.json', "Check Consent (Agent's Tool)", 'Blocked', ['NO_CONSENT']],
		['ab-test-then-winner.json', 'Send A', 'Not Sent', ['FREQUENCY_CAP']],
		['nearby-store.json', 'Send Offer', 'Not Sent', ['QUIET_HOURS', 'FREQUENCY_CAP', 'WITHDRAWN']],
		['click-tracking.json', 'Valid Link?', 'No Segment', ['Not a valid tracked link']],
		['in-app-inbox.json', 'Valid Code?', 'No Segment', ['Not a valid inbox code']],
		['campaign-report-page.json', 'Check Spring Sale', 'Blocked', ['WITHDRAWN', 'NO_CONSENT']],
	];
	it.each(tryIts)(
		'%s: Try It runs green from the editor, and %s shows each %s reason in its output panel',
		async (file, node, branch, reasons) => {
			const page = await runTryIt(file, node);
			try {
				const state: Array<[string, string]> = await page.$$eval(
					'[data-test-id="canvas-node"]',
					(els: DomElement[]) =>
						els.map((e) => [
							String(e.getAttribute('data-node-name')),
							e.querySelector('[data-test-id="canvas-node-status-error"]')
								? 'error'
								: e.querySelector('[data-test-id="canvas-node-status-success"]')
									? 'success'
									: 'not run',
						]),
				);
				expect(state.filter(([, s]) => s === 'error')).toEqual([]);
				// Every node of the Try It path ran and succeeded, the previewing Touchpoints included.
				const template = JSON.parse(fs.readFileSync(path.join(ROOT, 'workflows', file), 'utf8'));
				// A sub-node (the Sample Chat Model) answers its agent, which has its own test below.
				const subNode = (name: string) =>
					Object.keys(template.connections[name] ?? {}).some((t) => t !== 'main');
				const onPath = template.nodes
					.filter(
						(n: { name: string }) =>
							['Try It', node].includes(n.name) ||
							(/^(Sample|One Item per|Record Sample)/.test(n.name) && !subNode(n.name)),
					)
					.map((n: { name: string }) => n.name);
				expect(
					onPath.filter((n: string) => !state.some(([name, s]) => name === n && s === 'success')),
				).toEqual([]);
				await page.screenshot({
					path: path.join(ARTIFACTS, `try-it-${file.replace('.json', '')}.png`),
				});
				await page.locator(`[data-test-id="canvas-node"][data-node-name="${node}"]`).dblclick();
				const out = page.locator('[data-test-id="output-panel"]');
				await out.waitFor();
				await out
					.getByText(new RegExp(`^${branch} Branch`))
					.first()
					.click();
				await page.waitForTimeout(800);
				const text = String(await out.textContent());
				expect(reasons.filter((r) => !text.includes(r))).toEqual([]);
				await page.screenshot({
					path: path.join(
						ARTIFACTS,
						`try-it-${file.replace('.json', '')}-${branch.toLowerCase().replace(' ', '-')}.png`,
					),
				});
			} finally {
				await page.close();
			}
		},
	);

	it('the nodes panel finds every node by its name, all of them by "marketing", and the right one by the words a marketer types', async () => {
		const page = await context.newPage();
		try {
			await page.goto(`${base}/workflow/${rt.templateId('win-back.json')}`, {
				waitUntil: 'domcontentloaded',
			});
			await page.waitForSelector('[data-test-id="canvas-node"]', { timeout: 60_000 });
			await page.locator('[data-test-id="node-creator-plus-button"]').click();
			const search = async (q: string): Promise<string[]> => {
				await page
					.locator(
						'[data-test-id="node-creator-search-bar"] input, input[data-test-id="node-creator-search-bar"]',
					)
					.first()
					.fill(q);
				await page.waitForTimeout(600);
				return page.$$eval('[data-test-id="item-iterator-item"]', (els: DomElement[]) =>
					els.map((e) => String(e.textContent)),
				);
			};
			const displayNames = [
				'Consent Guard',
				'Touchpoint',
				'Touchpoint Trigger',
				'Touchpoint Inbox',
				'Audience Segment',
				'AI Content',
				'Journey',
				'Conversational Form',
			];
			for (const name of displayNames)
				expect({ name, found: (await search(name)).some((t) => t.startsWith(name)) }).toEqual({
					name,
					found: true,
				});
			const marketing = await search('marketing');
			expect(displayNames.filter((name) => !marketing.some((t) => t.startsWith(name)))).toEqual([]);
			expect((await search('copywriting')).some((t) => t.startsWith('AI Content'))).toBe(true);
			// The words a marketer types. n8n ranks a node whose own name holds the word (its Send
			// Email, ActiveCampaign, WhatsApp Business Cloud) above any alias, so for those words the
			// right node is the first of this package's.
			const nameOf = (t: string) =>
				displayNames.filter((n) => t.startsWith(n)).sort((a, b) => b.length - a.length)[0];
			const words: Array<[string, string, 'first' | 'first of ours']> = [
				['send message', 'Touchpoint', 'first'],
				['unsubscribe', 'Consent Guard', 'first'],
				['AI copy', 'AI Content', 'first'],
				['send', 'Touchpoint', 'first of ours'],
				['campaign', 'Journey', 'first of ours'],
				['whatsapp', 'Touchpoint', 'first of ours'],
			];
			for (const [q, node, rank] of words) {
				const found = await search(q);
				const first = rank === 'first' ? nameOf(found[0] ?? '') : found.map(nameOf).find(Boolean);
				expect({ q, first }).toEqual({ q, first: node });
			}
		} finally {
			await page.close();
		}
	});

	it("the concierge's Try It runs n8n's real AI Agent with the Sample Chat Model and the package's tools: Ana books, Ben's friend is refused", async () => {
		const page = await runTryIt('whatsapp-ai-concierge.json', 'Concierge (Sample Model)');
		try {
			await page
				.locator('[data-test-id="canvas-node"][data-node-name="Concierge (Sample Model)"]')
				.dblclick();
			const out = page.locator('[data-test-id="output-panel"]');
			await out.waitFor();
			await page.waitForTimeout(800);
			const text = String(await out.textContent());
			expect(text).toContain('[Sample] Booked: Saturday at 11:00 for a facial. See you at Glow!');
			expect(text).toContain("[Sample] I can't send the offer to your friend");
			await page.screenshot({ path: path.join(ARTIFACTS, 'try-it-concierge-agent.png') });
		} finally {
			await page.close();
		}
	});

	it("Touchpoint's Channel is an ordinary field of its panel, not a dropdown in the credential dialog", async () => {
		const page = await runTryIt('abandoned-cart.json', 'Send Best Channel');
		try {
			await page
				.locator('[data-test-id="canvas-node"][data-node-name="Send Best Channel"]')
				.dblclick();
			// Before, the editor took Channel for the node's authentication and showed it only in the credential dialog.
			// The node's Channel is the panel's first field of that name (a frequency cap row has one too).
			const channel = page.locator('[data-test-id="parameter-input-channel"]').first();
			await channel.waitFor({ timeout: 20_000 });
			expect(await channel.isVisible()).toBe(true);
			await page.screenshot({ path: path.join(ARTIFACTS, 'touchpoint-channel-field.png') });
			await page.keyboard.press('Escape');
		} finally {
			await page.close();
		}
	});

	it("dragging an input field onto a Contact Fields parameter saves the field's path", async () => {
		const page = await runTryIt('abandoned-cart.json', 'Send Best Channel');
		try {
			await page.locator('[data-test-id="canvas-node"][data-node-name="Consent Guard"]').dblclick();
			await page
				.locator('[data-test-id="run-data-schema-header"]', { hasText: 'Sample History' })
				.click();
			// Another field than the template maps here, so the saved value can only come from the drop.
			const source = page
				.locator('[data-test-id="run-data-schema-item"]', { hasText: /^firstName/ })
				.first();
			await source.waitFor();
			await page.waitForTimeout(800);
			const target = page.locator('[data-test-id="parameter-input-timeZoneField"] input');
			await target.fill('');
			await page.waitForTimeout(300);
			expect(await target.inputValue()).toBe('');
			// The draggable part of the row is its field pill.
			const from = await source.locator('[data-target="mappable"]').first().boundingBox();
			const to = await target.boundingBox();
			// n8n's mapping is a mouse drag: press on the field, move in steps, release on the input.
			await page.mouse.move(from.x + 10, from.y + from.height / 2);
			await page.mouse.down();
			for (let k = 1; k <= 20; k++) {
				await page.mouse.move(
					from.x + 10 + ((to.x + 30 - from.x - 10) * k) / 20,
					from.y + from.height / 2 + ((to.y + to.height / 2 - from.y - from.height / 2) * k) / 20,
				);
				await page.waitForTimeout(30);
			}
			await page.mouse.up();
			await page.waitForTimeout(500);
			expect(await target.inputValue()).toBe('body.contact.firstName');
			await page.screenshot({ path: path.join(ARTIFACTS, 'drag-field-path.png') });
			await page.keyboard.press('Escape');
			await page.keyboard.press('Control+s');
			const saved = async () => {
				const wf = (await get(`/rest/workflows/${rt.templateId('abandoned-cart.json')}`)).data as {
					nodes: Array<{
						name: string;
						parameters: { contactFields?: { timeZoneField?: string } };
					}>;
				};
				return wf.nodes.find((n) => n.name === 'Consent Guard')!.parameters.contactFields
					?.timeZoneField;
			};
			for (let t = 0; t < 40 && (await saved()) !== 'body.contact.firstName'; t++)
				await page.waitForTimeout(250);
			// The path, as typed by hand: not an expression reading the value ({{ $json.body.contact.firstName }}).
			expect(await saved()).toBe('body.contact.firstName');
		} finally {
			await page.close();
		}
	});

	it("a marketer's first flow from an empty canvas, with only the fields a marketer fills: three previews; without Record Consent the three are Blocked NO_CONSENT saying what to do", async () => {
		// Three people as a marketer types them into the trigger's mock data (name, email, phone: no
		// contact object, no ID of ours), then only this package's nodes the flow needs. Every
		// parameter below is one the marketer set in a panel; everything else is at its default.
		const people = [
			{ name: 'Ana', email: 'ana.walk@example.com', phone: '+34600777001' },
			{ name: 'Ben', email: 'ben.walk@example.com', phone: '+34600777002' },
			{ name: 'Cai', email: 'cai.walk@example.com', phone: '+34600777003' },
		];
		const store = { convergentStoreApi: { ...rt.STORE_CREDENTIAL } };
		let k = 0;
		const node = (name: string, type: string, typeVersion: number, parameters: object) => ({
			id: `walk-${name.toLowerCase().replace(/\W+/g, '-')}`,
			name,
			type,
			typeVersion,
			parameters,
			position: [240 * k++, 0],
			...(type.startsWith(pkg.name) ? { credentials: store } : {}),
		});
		const filled = {
			'Record Consent': { operation: 'recordConsent', channel: 'email', source: 'signup form' },
			Check: { operation: 'check', channel: 'email' },
			'Send Email': {
				channel: 'email',
				// Typing {{ }} in a field makes it an expression in the editor.
				subject: '=Hello {{ $json.name }}',
				text: 'Our spring offers are here.',
				unsubscribeUrl: 'https://shop.example/unsubscribe',
				postalAddress: 'Shop SL, Calle Mayor 1, Madrid',
				options: { dryRun: true },
			},
		};
		const flow = (name: string, steps: Array<keyof typeof filled>, who = people) => {
			k = 0;
			const nodes = [
				node('When clicking Execute workflow', 'n8n-nodes-base.manualTrigger', 1, {}),
				...steps.map((step) =>
					node(
						step,
						`${pkg.name}.${step === 'Send Email' ? 'touchpoint' : 'consentGuard'}`,
						step === 'Send Email' ? 1 : 2,
						filled[step],
					),
				),
			];
			const connections = Object.fromEntries(
				nodes
					.slice(0, -1)
					.map((n, i) => [
						n.name,
						{ main: [[{ node: nodes[i + 1].name, type: 'main', index: 0 }]] },
					]),
			);
			return {
				name,
				nodes,
				connections,
				settings: { executionOrder: 'v1' },
				pinData: { 'When clicking Execute workflow': who.map((json) => ({ json })) },
			};
		};
		const create = async (wf: object) => {
			const res = await fetch(`${base}/rest/workflows`, {
				method: 'POST',
				headers: { 'content-type': 'application/json', cookie },
				body: JSON.stringify(wf),
			});
			expect(res.status).toBe(200);
			return ((await res.json()) as { data: { id: string } }).data.id;
		};
		// Three of this package's nodes and the 11 fields above (Dry Run counted); no mapping, no node
		// nobody planned. What the test checks is that this is enough: the runs below.
		const run = async (id: string, node: string, branch: string, shot: string) => {
			const page = await context.newPage();
			await page.goto(`${base}/workflow/${id}`, { waitUntil: 'domcontentloaded' });
			await page.waitForSelector('[data-test-id="canvas-node"]', { timeout: 60_000 });
			await page.waitForTimeout(1000);
			await page.locator('[data-test-id="execute-workflow-button"]').first().click();
			await page.getByText('Workflow executed successfully').first().waitFor({ timeout: 60_000 });
			await page.locator(`[data-test-id="canvas-node"][data-node-name="${node}"]`).dblclick();
			const out = page.locator('[data-test-id="output-panel"]');
			await out.waitFor();
			await out
				.getByText(new RegExp(`^${branch}`))
				.first()
				.click();
			await page.waitForTimeout(800);
			const text = String(await out.textContent());
			await page.screenshot({ path: path.join(ARTIFACTS, shot) });
			await page.close();
			return text;
		};
		const sent = await run(
			await create(flow("Marketer's first flow", ['Record Consent', 'Check', 'Send Email'])),
			'Send Email',
			'Dry Run',
			'first-flow-previews.png',
		);
		for (const p of people) expect(sent).toContain(`To ${p.email}`);
		expect(sent).toContain(`Subject: Hello Ana`);
		const blocked = await run(
			// Three other people: the first flow recorded consent for its three.
			await create(
				flow(
					"Marketer's first flow, no consent",
					['Check', 'Send Email'],
					people.map((p) => ({
						...p,
						email: p.email.replace('.walk', '.new'),
						phone: p.phone.replace('+34600777', '+34600888'),
					})),
				),
			),
			'Check',
			'Blocked',
			'first-flow-no-consent.png',
		);
		expect(blocked.match(/NO_CONSENT/g)?.length).toBeGreaterThanOrEqual(3);
		expect(blocked).toContain('Record their consent first');
	});
});
