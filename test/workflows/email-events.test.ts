/**
 * Touchpoint Trigger, provider Email Service Events, through n8n's webhook path in-process:
 * SendGrid's signed Event Webhook (ECDSA), Mailgun's signed webhooks (HMAC) and Postmark's
 * Basic Auth, each with a valid and a forged request. Hard bounces and complaints suppress the
 * address, an unsubscribe withdraws the person's marketing email consent, a re-delivery is handled once.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHmac, generateKeyPairSync, randomUUID, sign } from 'node:crypto';
import type { IDataObject } from 'n8n-workflow';

import { snsStringToSign } from '../../nodes/shared/inbound/email-events';
import { openStore } from '../../nodes/shared/store';
import type { Store } from '../../nodes/shared/store/types';
import { makeNode, manualWorkflow, runWorkflow, type WorkflowJson } from '../harness';
import { startWebhookServer, type WebhookServer } from '../harness/webhook';
import { grantConsent } from '../helpers/people';

const databasePath = path.join(
	fs.mkdtempSync(path.join(os.tmpdir(), 'cm-email-events-')),
	'store.sqlite',
);
const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const SENDGRID_KEY = publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
const MAILGUN_KEY = 'key-3ax6xnjp29jd6fds4gc373sgvjxteol0';
let store: Store;

const workflow = (): WorkflowJson => {
	const node = makeNode(
		{
			type: 'touchpointTrigger',
			typeVersion: 2,
			name: 'Email Events',
			parameters: { provider: 'email', options: {} },
			credentials: { emailEventsWebhookApi: 'ESP', convergentStoreApi: 'Store' },
		},
		[0, 0],
	);
	node.webhookId = randomUUID();
	return {
		name: 'email events',
		nodes: [node],
		connections: {},
		settings: { executionOrder: 'v1' },
	};
};
const serverFor = (esp: IDataObject) =>
	startWebhookServer(workflow(), {
		trigger: 'Email Events',
		credentials: {
			emailEventsWebhookApi: esp,
			convergentStoreApi: { storageType: 'embedded', databasePath },
		} as never,
	});
const post = async (server: WebhookServer, body: string, headers: Record<string, string> = {}) => {
	const res = await fetch(server.url, {
		method: 'POST',
		headers: { 'content-type': 'application/json', ...headers },
		body,
	});
	await server.settled();
	return res.status;
};
const suppressed = async (address: string) =>
	(await store.findSuppressions([address])).map((s) => `${s.channel}:${s.reason}`);
const check = async (contact: IDataObject) => {
	const run = await runWorkflow(
		manualWorkflow({
			items: [{ contact }],
			node: {
				type: 'consentGuard',
				name: 'Check',
				parameters: { operation: 'check', channel: 'email', campaign: `c-${randomUUID()}` },
				credentials: { convergentStoreApi: 'Store' },
			},
		}),
		{ credentials: { convergentStoreApi: { storageType: 'embedded', databasePath } } as never },
	);
	return run.json('Check', 1).map((j) => (j.blocked as IDataObject).reason);
};

beforeAll(async () => {
	store = await openStore({ type: 'embedded', path: databasePath });
});

describe('Touchpoint Trigger: email service events', () => {
	it('SendGrid (signed Event Webhook): a hard bounce and a spam report suppress, an unsubscribe withdraws marketing; a forged or replayed batch changes nothing more', async () => {
		const server = await serverFor({ service: 'sendgrid', sendgridVerificationKey: SENDGRID_KEY });
		try {
			await grantConsent(
				store,
				[{ id: 'crm-sg', email: 'sg-unsub@example.com' } as never],
				['email'],
			);
			const now = Math.floor(Date.now() / 1000);
			const body = JSON.stringify([
				{
					email: 'sg-bounce@example.com',
					event: 'bounce',
					type: 'bounce',
					reason: '550 5.1.1 unknown user',
					sg_event_id: 'ev1',
					sg_message_id: 'm1.filter',
					timestamp: now,
				},
				{
					email: 'sg-blocked@example.com',
					event: 'bounce',
					type: 'blocked',
					reason: '421 try later',
					sg_event_id: 'ev2',
					timestamp: now,
				},
				{ email: 'sg-spam@example.com', event: 'spamreport', sg_event_id: 'ev3', timestamp: now },
				{ email: 'sg-unsub@example.com', event: 'unsubscribe', sg_event_id: 'ev4', timestamp: now },
			]);
			const ts = String(now);
			const signature = sign('sha256', Buffer.from(ts + body), privateKey).toString('base64');
			const headers = {
				'x-twilio-email-event-webhook-signature': signature,
				'x-twilio-email-event-webhook-timestamp': ts,
			};
			// Forged: the same signature over other bytes, or no signature.
			expect(await post(server, body.replace('sg-spam', 'sg-victim'), headers)).toBe(401);
			expect(await post(server, body)).toBe(401);
			expect(await suppressed('sg-victim@example.com')).toEqual([]);
			expect(await post(server, body, headers)).toBe(200);
			expect(server.runs[0].json('Email Events').map((j) => [j.email, j.kind, j.hard])).toEqual([
				['sg-bounce@example.com', 'bounce', true],
				['sg-blocked@example.com', 'bounce', false],
				['sg-spam@example.com', 'complaint', false],
				['sg-unsub@example.com', 'unsubscribe', false],
			]);
			expect(await suppressed('sg-bounce@example.com')).toEqual(['email:bounced']);
			expect(await suppressed('sg-blocked@example.com')).toEqual([]);
			expect(await suppressed('sg-spam@example.com')).toEqual(['email:complained']);
			expect(await check({ id: 'crm-sg', email: 'sg-unsub@example.com' })).toEqual(['WITHDRAWN']);
			expect(server.runs[0].json('Email Events')[3].contactId).toBe('crm-sg');
			// SendGrid retries a batch it did not see answered: handled once.
			expect(await post(server, body, headers)).toBe(200);
			expect(server.runs).toHaveLength(1);
		} finally {
			await server.stop();
		}
	});

	it('an unsubscribe dated 2100 (signed by the service, its time from the payload) withdraws now, and a real re-grant after it stands', async () => {
		const server = await serverFor({ service: 'sendgrid', sendgridVerificationKey: SENDGRID_KEY });
		try {
			await grantConsent(
				store,
				[{ id: 'crm-sg-2100', email: 'sg-2100@example.com' } as never],
				['email'],
			);
			const now = Math.floor(Date.now() / 1000);
			const body = JSON.stringify([
				{
					email: 'sg-2100@example.com',
					event: 'unsubscribe',
					sg_event_id: `ev-2100-${randomUUID()}`,
					timestamp: Math.floor(Date.UTC(2100, 0, 1) / 1000),
				},
			]);
			const ts = String(now);
			const headers = {
				'x-twilio-email-event-webhook-signature': sign(
					'sha256',
					Buffer.from(ts + body),
					privateKey,
				).toString('base64'),
				'x-twilio-email-event-webhook-timestamp': ts,
			};
			expect(await post(server, body, headers)).toBe(200);
			expect(await check({ id: 'crm-sg-2100', email: 'sg-2100@example.com' })).toEqual([
				'WITHDRAWN',
			]);
			// The person opts in again a second later: before, the 2100 withdrawal outranked every grant for good.
			await new Promise((r) => setTimeout(r, 1100));
			await grantConsent(
				store,
				[{ id: 'crm-sg-2100', email: 'sg-2100@example.com' } as never],
				['email'],
				{ occurredAt: Date.now() },
			);
			expect(await check({ id: 'crm-sg-2100', email: 'sg-2100@example.com' })).toEqual([]);
		} finally {
			await server.stop();
		}
	});

	it('Mailgun (signed): a permanent failure suppresses, a temporary one does not, a complaint suppresses; a bad signature is refused', async () => {
		const server = await serverFor({ service: 'mailgun', mailgunSigningKey: MAILGUN_KEY });
		try {
			const event = (id: string, recipient: string, data: IDataObject) => {
				const timestamp = String(Math.floor(Date.now() / 1000));
				const token = randomUUID().replace(/-/g, '');
				return JSON.stringify({
					signature: {
						timestamp,
						token,
						signature: createHmac('sha256', MAILGUN_KEY)
							.update(timestamp + token)
							.digest('hex'),
					},
					'event-data': {
						id,
						recipient,
						timestamp: Number(timestamp),
						message: { headers: { 'message-id': `${id}@mg.example.com` } },
						...data,
					},
				});
			};
			const perm = event('mg1', 'mg-gone@example.com', {
				event: 'failed',
				severity: 'permanent',
				'delivery-status': { description: 'No such mailbox' },
			});
			expect(
				await post(
					server,
					perm.replace(/"signature":"[0-9a-f]+"/, `"signature":"${'0'.repeat(64)}"`),
				),
			).toBe(401);
			expect(await suppressed('mg-gone@example.com')).toEqual([]);
			expect(await post(server, perm)).toBe(200);
			expect(
				await post(
					server,
					event('mg2', 'mg-full@example.com', { event: 'failed', severity: 'temporary' }),
				),
			).toBe(200);
			expect(await post(server, event('mg3', 'mg-spam@example.com', { event: 'complained' }))).toBe(
				200,
			);
			expect(await suppressed('mg-gone@example.com')).toEqual(['email:bounced']);
			expect(await suppressed('mg-full@example.com')).toEqual([]);
			expect(await suppressed('mg-spam@example.com')).toEqual(['email:complained']);
			expect(server.runs[0].json('Email Events')[0]).toMatchObject({
				service: 'mailgun',
				kind: 'bounce',
				hard: true,
				reason: 'No such mailbox',
				providerMessageId: 'mg1@mg.example.com',
			});
		} finally {
			await server.stop();
		}
	});

	it('a captured signed request is taken once and only within its window: a Mailgun signature re-used with another body, or a year old, and a year-old SendGrid batch are refused and change nothing', async () => {
		const mailgun = await serverFor({ service: 'mailgun', mailgunSigningKey: MAILGUN_KEY });
		try {
			await grantConsent(
				store,
				[{ id: 'crm-mg-victim', email: 'mg-victim@example.com' } as never],
				['email'],
			);
			const signed = (seconds: number) => {
				const timestamp = String(seconds);
				const token = randomUUID().replace(/-/g, '');
				return {
					timestamp,
					token,
					signature: createHmac('sha256', MAILGUN_KEY)
						.update(timestamp + token)
						.digest('hex'),
				};
			};
			const now = Math.floor(Date.now() / 1000);
			const captured = signed(now);
			const delivered = (id: string) =>
				JSON.stringify({
					signature: captured,
					'event-data': {
						id,
						recipient: 'mg-someone@example.com',
						event: 'delivered',
						timestamp: now,
					},
				});
			expect(await post(mailgun, delivered(`mg-d-${randomUUID()}`))).toBe(200);
			// The same signature, another body, new event ids: before, it suppressed and unsubscribed anyone.
			const forged = (id: string, event: IDataObject) =>
				JSON.stringify({
					signature: captured,
					'event-data': { id, recipient: 'mg-victim@example.com', timestamp: now, ...event },
				});
			expect(
				await post(
					mailgun,
					forged(`mg-f1-${randomUUID()}`, { event: 'failed', severity: 'permanent' }),
				),
			).toBe(401);
			expect(await post(mailgun, forged(`mg-f2-${randomUUID()}`, { event: 'unsubscribed' }))).toBe(
				401,
			);
			// A signature captured a year ago, never used here: outside the 5-minute window.
			const old = signed(now - 365 * 86400);
			expect(
				await post(
					mailgun,
					JSON.stringify({
						signature: old,
						'event-data': {
							id: `mg-o-${randomUUID()}`,
							recipient: 'mg-victim@example.com',
							event: 'complained',
							timestamp: now,
						},
					}),
				),
			).toBe(401);
			expect(await suppressed('mg-victim@example.com')).toEqual([]);
			expect(await check({ id: 'crm-mg-victim', email: 'mg-victim@example.com' })).toEqual([]);
		} finally {
			await mailgun.stop();
		}
		const sendgrid = await serverFor({
			service: 'sendgrid',
			sendgridVerificationKey: SENDGRID_KEY,
		});
		try {
			const ts = String(Math.floor(Date.now() / 1000) - 365 * 86400);
			const body = JSON.stringify([
				{
					email: 'mg-victim@example.com',
					event: 'spamreport',
					sg_event_id: `old-${randomUUID()}`,
					timestamp: Number(ts),
				},
			]);
			const headers = {
				'x-twilio-email-event-webhook-signature': sign(
					'sha256',
					Buffer.from(ts + body),
					privateKey,
				).toString('base64'),
				'x-twilio-email-event-webhook-timestamp': ts,
			};
			expect(await post(sendgrid, body, headers)).toBe(401);
			expect(await suppressed('mg-victim@example.com')).toEqual([]);
		} finally {
			await sendgrid.stop();
		}
	});

	it("Amazon SES via SNS (RSA-signed): confirms its subscription, a permanent bounce and a complaint suppress; a forged, altered or other topic's message is refused", async () => {
		// A loopback SNS: serves its signing key at the certificate URL and records confirmations.
		const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
		const confirmed: string[] = [];
		const sns = http.createServer((req, res) => {
			if (req.url?.startsWith('/cert.pem'))
				res.end(rsa.publicKey.export({ type: 'spki', format: 'pem' }));
			else if (req.url?.startsWith('/confirm')) {
				confirmed.push(req.url);
				res.end('<ConfirmSubscriptionResponse/>');
			} else res.writeHead(404).end();
		});
		await new Promise<void>((r) => sns.listen(0, '127.0.0.1', r));
		const base = `http://127.0.0.1:${(sns.address() as AddressInfo).port}`;
		const TOPIC = 'arn:aws:sns:eu-west-1:123456789012:ses-events';
		const server = await serverFor({
			service: 'ses',
			snsTopicArn: TOPIC,
			snsTrustedUrlPattern: `^${base.replace(/\./g, '\\.')}/`,
		});
		const signed = (m: IDataObject, key = rsa.privateKey) =>
			JSON.stringify({
				...m,
				SignatureVersion: '2',
				SigningCertURL: `${base}/cert.pem`,
				Signature: sign('sha256', Buffer.from(snsStringToSign(m)), key).toString('base64'),
			});
		const notification = (id: string, ses: IDataObject, topic = TOPIC) => ({
			Type: 'Notification',
			MessageId: id,
			TopicArn: topic,
			Message: JSON.stringify(ses),
			Timestamp: new Date().toISOString(),
		});
		try {
			const sub = {
				Type: 'SubscriptionConfirmation',
				MessageId: 'sub-1',
				Token: 'tok',
				TopicArn: TOPIC,
				Message: 'You have chosen to subscribe',
				SubscribeURL: `${base}/confirm?Token=tok`,
				Timestamp: new Date().toISOString(),
			};
			expect(await post(server, signed(sub), { 'content-type': 'text/plain; charset=UTF-8' })).toBe(
				200,
			);
			expect(confirmed).toEqual(['/confirm?Token=tok']);
			// A signed confirmation pointing elsewhere is not followed.
			expect(
				await post(
					server,
					signed({ ...sub, MessageId: 'sub-2', SubscribeURL: 'http://attacker.example/confirm' }),
					{ 'content-type': 'text/plain' },
				),
			).toBe(400);
			expect(confirmed).toHaveLength(1);
			const bounce = notification('n-1', {
				notificationType: 'Bounce',
				bounce: {
					bounceType: 'Permanent',
					bouncedRecipients: [
						{
							emailAddress: 'ses-gone@example.com',
							diagnosticCode: 'smtp; 550 5.1.1 user unknown',
						},
					],
				},
				mail: { messageId: '0100018f-ses' },
			});
			const forgedKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
			expect(await post(server, signed(bounce, forgedKey), { 'content-type': 'text/plain' })).toBe(
				401,
			);
			expect(
				await post(server, signed(bounce).replace('ses-gone', 'ses-victim'), {
					'content-type': 'text/plain',
				}),
			).toBe(401);
			expect(
				await post(
					server,
					signed(
						notification(
							'n-9',
							{
								notificationType: 'Complaint',
								complaint: { complainedRecipients: [{ emailAddress: 'ses-x@example.com' }] },
							},
							'arn:aws:sns:eu-west-1:123456789012:other',
						),
					),
					{ 'content-type': 'text/plain' },
				),
			).toBe(401);
			expect(await suppressed('ses-gone@example.com')).toEqual([]);
			expect(await post(server, signed(bounce), { 'content-type': 'text/plain' })).toBe(200);
			expect(
				await post(
					server,
					signed(
						notification('n-2', {
							notificationType: 'Bounce',
							bounce: {
								bounceType: 'Transient',
								bouncedRecipients: [{ emailAddress: 'ses-full@example.com' }],
							},
						}),
					),
					{ 'content-type': 'text/plain' },
				),
			).toBe(200);
			expect(
				await post(
					server,
					signed(
						notification('n-3', {
							eventType: 'Complaint',
							complaint: {
								complainedRecipients: [{ emailAddress: 'ses-spam@example.com' }],
								complaintFeedbackType: 'abuse',
							},
						}),
					),
					{ 'content-type': 'text/plain' },
				),
			).toBe(200);
			expect(await suppressed('ses-gone@example.com')).toEqual(['email:bounced']);
			expect(await suppressed('ses-full@example.com')).toEqual([]);
			expect(await suppressed('ses-spam@example.com')).toEqual(['email:complained']);
			expect(server.runs[0].json('Email Events')[0]).toMatchObject({
				service: 'ses',
				kind: 'bounce',
				hard: true,
				email: 'ses-gone@example.com',
				providerMessageId: '0100018f-ses',
				reason: 'smtp; 550 5.1.1 user unknown',
			});
			// A certificate from anywhere but the allowed URLs is never fetched nor trusted.
			const elsewhere = JSON.parse(
				signed(
					notification('n-4', {
						notificationType: 'Complaint',
						complaint: { complainedRecipients: [{ emailAddress: 'ses-y@example.com' }] },
					}),
				),
			);
			elsewhere.SigningCertURL = 'http://attacker.example/cert.pem';
			expect(await post(server, JSON.stringify(elsewhere), { 'content-type': 'text/plain' })).toBe(
				401,
			);
			// A notification SNS signed two hours ago (captured, replayed with a new id): outside the hour SNS retries for.
			const stale = {
				...notification('n-5', {
					notificationType: 'Complaint',
					complaint: { complainedRecipients: [{ emailAddress: 'ses-stale@example.com' }] },
				}),
				Timestamp: new Date(Date.now() - 2 * 3600_000).toISOString(),
			};
			expect(await post(server, signed(stale), { 'content-type': 'text/plain' })).toBe(401);
			expect(await suppressed('ses-stale@example.com')).toEqual([]);
		} finally {
			await server.stop();
			await new Promise((r) => sns.close(r));
		}
	});

	it('Postmark (Basic Auth in the webhook URL): a hard bounce suppresses, a subscription change withdraws marketing; wrong credentials are refused', async () => {
		const server = await serverFor({
			service: 'postmark',
			postmarkUser: 'postmark',
			postmarkPassword: 'a-long-secret-password',
		});
		try {
			const auth = (user: string, pass: string) => ({
				authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`,
			});
			const bounce = JSON.stringify({
				RecordType: 'Bounce',
				ID: 4323372036854775807,
				Type: 'HardBounce',
				Email: 'pm-gone@example.com',
				MessageID: '883953f4-6105-42a2-a16a-77a8eac79483',
				Description: 'The server was unable to deliver your message',
				BouncedAt: new Date().toISOString(),
			});
			expect(await post(server, bounce, auth('postmark', 'guess'))).toBe(401);
			expect(await post(server, bounce)).toBe(401);
			expect(await post(server, bounce, auth('postmark', 'a-long-secret-password'))).toBe(200);
			expect(await suppressed('pm-gone@example.com')).toEqual(['email:bounced']);
			await grantConsent(
				store,
				[{ id: 'crm-pm', email: 'pm-unsub@example.com' } as never],
				['email'],
			);
			const change = JSON.stringify({
				RecordType: 'SubscriptionChange',
				MessageID: 'a4909a96-73d6-4c37-8c13-6f5b3c4e9a2b',
				Recipient: 'pm-unsub@example.com',
				SuppressSending: true,
				SuppressionReason: 'ManualSuppression',
				ChangedAt: new Date().toISOString(),
			});
			expect(await post(server, change, auth('postmark', 'a-long-secret-password'))).toBe(200);
			expect(await check({ id: 'crm-pm', email: 'pm-unsub@example.com' })).toEqual(['WITHDRAWN']);
		} finally {
			await server.stop();
		}
	});
});
