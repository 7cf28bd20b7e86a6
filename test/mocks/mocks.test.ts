/**
 * The loopback mocks speak the providers' wire formats: success and error bodies, auth,
 * rate limits with Retry-After, latency, and a real SMTP receiver.
 */
import { createSign } from 'node:crypto';
import nodemailer from 'nodemailer';

import { FcmMock, MetaGraphMock, OpenAIMock, SmtpMock, TwilioMock } from './index';

async function post(url: string, body: unknown, headers: Record<string, string> = {}) {
	const res = await fetch(url, {
		method: 'POST',
		headers: { 'content-type': 'application/json', ...headers },
		body: JSON.stringify(body),
	});
	return { status: res.status, headers: res.headers, body: (await res.json()) as any };
}

describe('Meta Graph mock (WhatsApp Cloud, Messenger, Instagram)', () => {
	const meta = new MetaGraphMock();
	let url: string;
	beforeAll(async () => {
		url = `${await meta.start()}/v21.0/${meta.phoneNumberId}/messages`;
	});
	afterAll(() => meta.stop());
	beforeEach(() => meta.reset());
	const auth = () => ({ authorization: `Bearer ${meta.accessToken}` });

	it('refuses free-form text outside the 24 h window with 131047 but lets a template through', async () => {
		const text = await post(
			url,
			{ messaging_product: 'whatsapp', to: '34600111222', type: 'text', text: { body: 'Hi' } },
			auth(),
		);
		expect(text.status).toBe(400);
		expect(text.body.error.code).toBe(131047);
		const template = await post(
			url,
			{
				messaging_product: 'whatsapp',
				to: '34600111222',
				type: 'template',
				template: { name: 'welcome', language: { code: 'es' } },
			},
			auth(),
		);
		expect(template.status).toBe(200);
		expect(template.body.messages[0].id).toMatch(/^wamid\./);
		expect(template.body.contacts[0]).toEqual({ input: '34600111222', wa_id: '34600111222' });
	});

	it('sends free-form text inside the window; a wrong token gets code 190', async () => {
		meta.setLastInbound('34600111222', Date.now() - 3600_000);
		const ok = await post(
			url,
			{ messaging_product: 'whatsapp', to: '34600111222', type: 'text', text: { body: 'Hi' } },
			auth(),
		);
		expect(ok.status).toBe(200);
		const bad = await post(
			url,
			{ messaging_product: 'whatsapp', to: '1', type: 'text', text: { body: 'x' } },
			{ authorization: 'Bearer nope' },
		);
		expect(bad.status).toBe(401);
		expect(bad.body.error.code).toBe(190);
		expect(meta.requests[0].body.text.body).toBe('Hi');
	});

	it('enforces a rate limit with 130429 and Retry-After, then accepts again', async () => {
		meta.setRateLimit(10);
		const body = {
			messaging_product: 'whatsapp',
			to: '34600111222',
			type: 'template',
			template: { name: 't', language: { code: 'en' } },
		};
		const results = await Promise.all(Array.from({ length: 30 }, () => post(url, body, auth())));
		const limited = results.filter((r) => r.status === 429);
		expect(results.filter((r) => r.status === 200)).toHaveLength(10);
		expect(limited).toHaveLength(20);
		expect(limited[0].body.error.code).toBe(130429);
		expect(Number(limited[0].headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
		expect(meta.rateLimited).toBe(20);
		await new Promise((r) => setTimeout(r, 1050));
		expect((await post(url, body, auth())).status).toBe(200);
	});

	it('adds latency and injects failures', async () => {
		meta.setLatency(120);
		meta.failNext(1, { status: 503, body: { error: { message: 'down', code: 2 } } });
		const started = Date.now();
		const first = await post(url, {}, auth());
		expect(first.status).toBe(503);
		expect(Date.now() - started).toBeGreaterThanOrEqual(100);
	});

	it('Messenger send returns recipient_id and message_id inside the window', async () => {
		meta.setLastInbound('2411', Date.now() - 1000);
		const res = await post(
			`${meta.baseUrl}/v21.0/me/messages`,
			{ recipient: { id: '2411' }, messaging_type: 'RESPONSE', message: { text: 'Hola' } },
			auth(),
		);
		expect(res.status).toBe(200);
		expect(res.body.recipient_id).toBe('2411');
		const outside = await post(
			`${meta.baseUrl}/v21.0/me/messages`,
			{ recipient: { id: '999' }, messaging_type: 'RESPONSE', message: { text: 'x' } },
			auth(),
		);
		expect(outside.body.error.error_subcode).toBe(2018278);
	});
});

describe('Twilio mock', () => {
	const twilio = new TwilioMock();
	beforeAll(() => twilio.start());
	afterAll(() => twilio.stop());

	const send = (form: Record<string, string>, token = twilio.authToken) =>
		fetch(`${twilio.baseUrl}/2010-04-01/Accounts/${twilio.accountSid}/Messages.json`, {
			method: 'POST',
			headers: {
				'content-type': 'application/x-www-form-urlencoded',
				authorization: 'Basic ' + Buffer.from(`${twilio.accountSid}:${token}`).toString('base64'),
			},
			body: new URLSearchParams(form).toString(),
		}).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));

	it('creates a message with honest segment counts', async () => {
		const gsm = await send({ To: '+34600111222', From: '+15550100000', Body: 'a'.repeat(161) });
		expect(gsm.status).toBe(201);
		expect(gsm.body.sid).toMatch(/^SM[0-9a-f]{32}$/);
		expect(gsm.body.num_segments).toBe('2');
		const ucs = await send({
			To: '+34600111222',
			From: '+15550100000',
			Body: 'Hola 👋' + 'a'.repeat(70),
		});
		expect(ucs.body.num_segments).toBe('2');
		expect(twilio.requests[0].body.Body).toHaveLength(161);
	});

	it('answers 21211 for a non-E.164 number, 20003 for a wrong token, 21610 for an unsubscribed one', async () => {
		expect((await send({ To: '600111222', From: '+15550100000', Body: 'x' })).body.code).toBe(
			21211,
		);
		expect((await send({ To: '+34600111222', From: '+1555', Body: 'x' }, 'wrong')).body.code).toBe(
			20003,
		);
		twilio.unsubscribed.add('+34600999888');
		expect((await send({ To: '+34600999888', From: '+15550100000', Body: 'x' })).body.code).toBe(
			21610,
		);
	});
});

describe('FCM HTTP v1 mock with OAuth', () => {
	const fcm = new FcmMock();
	beforeAll(() => fcm.start());
	afterAll(() => fcm.stop());

	function jwt(sa: Record<string, string>, key = sa.private_key) {
		const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
		const now = Math.floor(Date.now() / 1000);
		const unsigned = `${enc({ alg: 'RS256', typ: 'JWT' })}.${enc({
			iss: sa.client_email,
			scope: 'https://www.googleapis.com/auth/firebase.messaging',
			aud: sa.token_uri,
			iat: now,
			exp: now + 3600,
		})}`;
		const signer = createSign('RSA-SHA256');
		signer.update(unsigned);
		return `${unsigned}.${signer.sign(key, 'base64url')}`;
	}

	async function token(assertion: string) {
		const res = await fetch(`${fcm.baseUrl}/token`, {
			method: 'POST',
			headers: { 'content-type': 'application/x-www-form-urlencoded' },
			body: new URLSearchParams({
				grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
				assertion,
			}).toString(),
		});
		return { status: res.status, body: (await res.json()) as any };
	}

	it('issues a token for a correctly signed JWT and sends; a dead token is UNREGISTERED', async () => {
		const sa = fcm.serviceAccount();
		const t = await token(jwt(sa));
		expect(t.status).toBe(200);
		const headers = { authorization: `Bearer ${t.body.access_token}` };
		const url = `${fcm.baseUrl}/v1/projects/${sa.project_id}/messages:send`;
		const ok = await post(
			url,
			{ message: { token: 'tok-1', notification: { title: 'Hi', body: 'There' } } },
			headers,
		);
		expect(ok.status).toBe(200);
		expect(ok.body.name).toMatch(/^projects\/convergent-test\/messages\//);
		fcm.addDeadToken('tok-dead');
		const dead = await post(
			url,
			{ message: { token: 'tok-dead', notification: { title: 'x' } } },
			headers,
		);
		expect(dead.status).toBe(404);
		expect(dead.body.error.details[0].errorCode).toBe('UNREGISTERED');
		const big = await post(
			url,
			{ message: { token: 'tok-1', data: { x: 'y'.repeat(4100) } } },
			headers,
		);
		expect(big.body.error.status).toBe('INVALID_ARGUMENT');
	});

	it('refuses a JWT signed with another key', async () => {
		const other = new FcmMock();
		const forged = jwt(fcm.serviceAccount(), other.serviceAccount().private_key);
		const t = await token(forged);
		expect(t.status).toBe(400);
		expect(t.body.error).toBe('invalid_grant');
	});
});

describe('OpenAI mock', () => {
	const ai = new OpenAIMock();
	beforeAll(() => ai.start());
	afterAll(() => ai.stop());

	it('answers chat completions with usage and serialises structured output; records the schema', async () => {
		ai.responder = () => ({ variants: ['Hola'] });
		const schema = {
			type: 'object',
			properties: { variants: { type: 'array', items: { type: 'string' } } },
		};
		const res = await post(
			`${ai.baseUrl}/v1/chat/completions`,
			{
				model: 'gpt-4o-mini',
				messages: [{ role: 'user', content: 'write' }],
				response_format: { type: 'json_schema', json_schema: { name: 'copy', schema } },
			},
			{ authorization: `Bearer ${ai.apiKey}` },
		);
		expect(res.status).toBe(200);
		expect(JSON.parse(res.body.choices[0].message.content)).toEqual({ variants: ['Hola'] });
		expect(res.body.usage.total_tokens).toBe(
			res.body.usage.prompt_tokens + res.body.usage.completion_tokens,
		);
		expect(ai.schemas).toEqual([schema]);
	});

	it("rate limits with retry-after and OpenAI's error body", async () => {
		ai.responder = (req) => `echo: ${req.input}`;
		ai.setRateLimit(1);
		const a = await post(
			`${ai.baseUrl}/v1/responses`,
			{ model: 'm', input: 'hi' },
			{ authorization: `Bearer ${ai.apiKey}` },
		);
		const b = await post(
			`${ai.baseUrl}/v1/responses`,
			{ model: 'm', input: 'hi' },
			{ authorization: `Bearer ${ai.apiKey}` },
		);
		expect(a.status).toBe(200);
		expect(a.body.output[0].content[0].text).toBe('echo: hi');
		expect(b.status).toBe(429);
		expect(b.headers.get('retry-after')).toBe('1');
		expect(b.body.error.code).toBe('rate_limit_exceeded');
	});
});

describe('SMTP receiver', () => {
	const smtp = new SmtpMock();
	beforeAll(() => smtp.start());
	afterAll(() => smtp.stop());

	it('captures a real message with its headers (RFC 8058 one-click unsubscribe)', async () => {
		const transport = nodemailer.createTransport({
			host: '127.0.0.1',
			port: smtp.port,
			secure: false,
			ignoreTLS: true,
			auth: { user: smtp.user, pass: smtp.pass },
		});
		await transport.sendMail({
			from: 'News <news@shop.example>',
			to: 'ana@example.com',
			subject: 'Spring offers',
			text: 'Hello Ana',
			headers: {
				'List-Unsubscribe':
					'<https://shop.example/u/abc>, <mailto:unsubscribe@shop.example?subject=abc>',
				'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
			},
		});
		const [mail] = await smtp.waitFor(1);
		expect(mail.to).toEqual(['ana@example.com']);
		expect(mail.subject).toBe('Spring offers');
		expect(mail.authUser).toBe('mailer');
		expect(mail.headers.get('list-unsubscribe-post')).toEqual(['List-Unsubscribe=One-Click']);
		expect(mail.headers.get('list-unsubscribe')?.[0]).toContain('<https://shop.example/u/abc>');
		expect(mail.body).toContain('Hello Ana');
	});
});
