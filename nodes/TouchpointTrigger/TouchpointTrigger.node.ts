import { createPublicKey } from 'node:crypto';
import type {
	ICredentialsDecrypted,
	ICredentialTestFunctions,
	IDataObject,
	INodeCredentialTestResult,
	INodeType,
	INodeTypeDescription,
	IWebhookFunctions,
	IWebhookResponseData,
} from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';

import type { ConversationEvent } from '../shared/contact';
import type { TouchRecord } from '../shared/store/types';
import { keywordMatcher } from '../shared/inbound/keywords';
import {
	AWS_SNS_CERT_PATTERN,
	normalizeEmailEvents,
	trustedSnsUrl,
	verifyMailgun,
	verifyPostmark,
	verifySendGrid,
	verifySns,
	type EmailService,
} from '../shared/inbound/email-events';
import { recordEmailEvents, recordMessages } from '../shared/inbound/record';
import { recordProviderOptOuts } from '../shared/policy/opt-out';
import { normalizeMeta, normalizeTwilio, twilioFormProblem } from '../shared/inbound/normalize';
import { contactIdOf } from '../shared/inbound/sender';
import { INBOX_NODE, inboxIdOf } from '../shared/inbound/inbox';
import { MEDIA_HOSTS_DESCRIPTION } from '../shared/inbound/fetch-policy';
import { replayRefusal, signedAt, singleUseToken } from '../shared/inbound/replay';
import {
	safeEqual,
	verifyMetaSignature,
	verifyTwilioSignature,
} from '../shared/inbound/signatures';
import { twilioWebhookApiTest, webhookCredentials } from '../shared/n8n/credentials';
import { withDownloadedMedia } from '../shared/n8n/media-download';
import { convergentStoreApiTest, getStore } from '../shared/n8n/store';
import { credentialFor, optionSubtitle } from '../shared/n8n/display-options';
import { withDeadline } from '../shared/deadline';

const HEX32 = /^[0-9a-f]{32}$/i;

async function metaWebhookApiTest(
	this: ICredentialTestFunctions,
	c: ICredentialsDecrypted,
): Promise<INodeCredentialTestResult> {
	const secret = String(c.data?.appSecret ?? '');
	if (!HEX32.test(secret))
		return {
			status: 'Error',
			message: 'App Secret should be the 32 hexadecimal characters from App settings > Basic',
		};
	if (!String(c.data?.verifyToken ?? ''))
		return {
			status: 'Error',
			message: 'Verify Token is empty: choose one and enter it in the webhook subscription too',
		};
	return { status: 'OK', message: 'App Secret and Verify Token are set' };
}

async function emailEventsWebhookApiTest(
	this: ICredentialTestFunctions,
	c: ICredentialsDecrypted,
): Promise<INodeCredentialTestResult> {
	const d = c.data ?? {};
	if (d.service === 'ses')
		return /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[\w-]+$/.test(String(d.snsTopicArn ?? ''))
			? { status: 'OK', message: 'Topic ARN is set' }
			: {
					status: 'Error',
					message: 'SNS Topic ARN should look like arn:aws:sns:eu-west-1:123456789012:ses-events',
				};
	if (d.service === 'mailgun')
		return String(d.mailgunSigningKey ?? '')
			? { status: 'OK', message: 'Signing key is set' }
			: {
					status: 'Error',
					message: 'HTTP Webhook Signing Key is empty: copy it from Mailgun > Sending > Webhooks',
				};
	if (d.service === 'postmark')
		return String(d.postmarkUser ?? '') && String(d.postmarkPassword ?? '').length >= 12
			? { status: 'OK', message: 'Basic Auth user and password are set' }
			: {
					status: 'Error',
					message:
						'Set a Basic Auth user and a password of 12 characters or more, and put them in the webhook URL you give Postmark',
				};
	return (
		sendGridKeyProblem(String(d.sendgridVerificationKey ?? '')) ?? {
			status: 'OK',
			message: 'Verification key is a valid public key',
		}
	);
}

function sendGridKeyProblem(key: string): INodeCredentialTestResult | undefined {
	try {
		createPublicKey(
			key.includes('BEGIN')
				? key
				: `-----BEGIN PUBLIC KEY-----\n${key.trim()}\n-----END PUBLIC KEY-----`,
		);
		return undefined;
	} catch {
		return {
			status: 'Error',
			message:
				'Verification Key is not the public key SendGrid shows under Event Webhook > Signature Verification',
		};
	}
}

/**
 * Whether the run marks this trigger's events done: a Touchpoint Inbox node (Mark Done, the
 * default operation, whose value a saved workflow may leave out) downstream and not disabled.
 */
function marksDone(ctx: IWebhookFunctions): boolean {
	return ctx
		.getChildNodes(ctx.getNode().name, { includeNodeParameters: true })
		.some(
			(n) =>
				n.type.endsWith(`.${INBOX_NODE}`) &&
				!n.disabled &&
				(n.parameters?.operation ?? 'markDone') === 'markDone',
		);
}

const PROVIDERS = [
	{ name: 'Email Service Events (Bounces, Complaints, Unsubscribes)', value: 'email' },
	{ name: 'Meta (WhatsApp, Messenger, Instagram)', value: 'meta' },
	{ name: 'Twilio SMS', value: 'twilio' },
];

const certCache = new Map<string, { at: number; pem: Promise<string> }>();
/** An SNS signing certificate, fetched once per hour per URL (SNS rotates them rarely). */
function snsCertificate(ctx: IWebhookFunctions, url: string): Promise<string> {
	const hit = certCache.get(url);
	if (hit && Date.now() - hit.at < 3600_000) return hit.pem;
	const pem = withDeadline('The SNS signing certificate', 10_000, (abortSignal) =>
		ctx.helpers.httpRequest({ method: 'GET', url, json: false, timeout: 10_000, abortSignal }),
	).then((b) => String(b));
	if (certCache.size >= 64) certCache.delete(certCache.keys().next().value as string);
	certCache.set(url, { at: Date.now(), pem });
	pem.catch(() => certCache.delete(url));
	return pem;
}

/**
 * An email service's events (Amazon SES via SNS, SendGrid, Mailgun, Postmark): verified, de-duplicated, and recorded in
 * one transaction before the 200 (hard bounces and complaints suppress the address, unsubscribes
 * withdraw marketing email consent), then one item per event.
 */
async function emailEvents(
	ctx: IWebhookFunctions,
	credentialsOf: ReturnType<typeof webhookCredentials>,
): Promise<IWebhookResponseData> {
	const res = ctx.getResponseObject();
	const answer = (status: number, text: string): IWebhookResponseData => {
		res.status(status).type('text/plain').send(text);
		return { noWebhookResponse: true };
	};
	if (ctx.getWebhookName() === 'setup') return answer(405, 'Email service events arrive by POST');
	const credentials = await credentialsOf('emailEventsWebhookApi');
	const service = String(credentials.service ?? 'sendgrid') as EmailService;
	const req = ctx.getRequestObject();
	const headers = ctx.getHeaderData() as IDataObject;
	const rawBody: Buffer | string =
		(req as unknown as { rawBody?: Buffer }).rawBody ?? JSON.stringify(req.body ?? {});
	let body = ctx.getBodyData() as unknown;
	if (service === 'ses') {
		// SNS posts its JSON as text/plain: read from the bytes it signed.
		let message: IDataObject;
		try {
			message = JSON.parse(rawBody.toString()) as IDataObject;
		} catch {
			return answer(400, 'The body is not an SNS message');
		}
		const certPattern = String(credentials.snsTrustedUrlPattern || AWS_SNS_CERT_PATTERN);
		const ok = await verifySns(message, {
			topicArn: String(credentials.snsTopicArn ?? ''),
			certPattern,
			fetchCert: (url) => snsCertificate(ctx, url),
		});
		if (!ok) return answer(401, 'Invalid signature');
		body = message;
		const stale = replayRefusal(service, signedAt(service, headers, body));
		if (stale) return answer(401, stale);
		if (message.Type === 'SubscriptionConfirmation') {
			// Confirmed only on Amazon's own host (or the allowed pattern), after the signature held.
			if (!trustedSnsUrl(message.SubscribeURL, certPattern))
				return answer(400, 'SubscribeURL is not on an allowed SNS host: not confirmed');
			await withDeadline('The SNS subscription confirmation', 10_000, (abortSignal) =>
				ctx.helpers.httpRequest({
					method: 'GET',
					url: String(message.SubscribeURL),
					timeout: 10_000,
					abortSignal,
				}),
			);
			return answer(200, 'Subscription confirmed');
		}
		if (message.Type !== 'Notification') return answer(200, 'OK');
	}
	// SES was verified above (the SNS signature).
	const verified =
		service === 'ses' ||
		(service === 'sendgrid' &&
			verifySendGrid(
				String(credentials.sendgridVerificationKey ?? ''),
				headers['x-twilio-email-event-webhook-signature'],
				headers['x-twilio-email-event-webhook-timestamp'],
				rawBody,
			)) ||
		(service === 'mailgun' &&
			verifyMailgun(String(credentials.mailgunSigningKey ?? ''), body as IDataObject)) ||
		(service === 'postmark' &&
			verifyPostmark(
				String(credentials.postmarkUser ?? ''),
				String(credentials.postmarkPassword ?? ''),
				headers.authorization,
			));
	if (!verified) return answer(401, 'Invalid signature');
	// A signed request is taken only within its provider's window, and a one-time token once (inbound/replay.ts).
	const stale =
		service === 'ses' ? undefined : replayRefusal(service, signedAt(service, headers, body));
	if (stale) return answer(401, stale);
	const token = singleUseToken(service, body);
	// SendGrid's events are read from the bytes it signed.
	let events;
	try {
		events = normalizeEmailEvents(
			service,
			service === 'sendgrid' ? JSON.parse(rawBody.toString()) : body,
		);
	} catch {
		return answer(400, 'The body is not JSON');
	}
	const store = await getStore(ctx, credentialsOf);
	const scope = `email:${service}:${ctx.getWorkflow().id ?? ''}:${ctx.getNode().id}`;
	const emitted = await store.atomically(async (tx) => {
		// The token is kept with the events, in the same transaction: a delivery that fails is retried with it.
		if (token && !(await tx.markProcessed(scope, [token])).has(token)) return undefined;
		const seen = await tx.findProcessed(
			scope,
			events.map((e) => e.eventId),
		);
		const unseen = events.filter((e) => !seen.has(e.eventId));
		const personOf = await recordEmailEvents(tx, unseen);
		const fresh = await tx.markProcessed(
			scope,
			unseen.map((e) => e.eventId),
			new Map(unseen.map((e) => [e.eventId, personOf.get(e)!])),
		);
		return unseen
			.filter((e) => fresh.has(e.eventId))
			.map((e) => ({ ...(e as unknown as IDataObject), contactId: personOf.get(e)! }));
	});
	if (!emitted) return answer(401, 'This signature was already used: refused as a replay');
	return emitted.length ? { workflowData: [emitted.map((json) => ({ json }))] } : {};
}

const PROVIDER_VALUES = PROVIDERS.map((p) => p.value);

export class TouchpointTrigger implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Touchpoint Trigger',
		name: 'touchpointTrigger',
		icon: { light: 'file:touchpointTrigger.svg', dark: 'file:touchpointTrigger.dark.svg' },
		group: ['trigger'],
		// Version 2 is the same node: n8n evaluates an expression (binaryData) on every request to a
		// version 1 webhook node, which costs an expression isolate per delivery.
		version: [1, 2],
		defaultVersion: 2,
		subtitle: optionSubtitle(PROVIDERS, 'provider'),
		description:
			'Starts the workflow when a person writes on WhatsApp, Messenger, Instagram Direct or SMS, or an email service reports a bounce, complaint or unsubscribe',
		defaults: { name: 'Touchpoint Trigger' },
		inputs: [],
		outputs: [NodeConnectionTypes.Main],
		credentials: [
			{
				name: 'metaWebhookApi',
				required: true,
				testedBy: 'metaWebhookApiTest',
				displayOptions: credentialFor('provider', ['meta'], PROVIDER_VALUES),
			},
			{
				name: 'twilioWebhookApi',
				required: true,
				testedBy: 'twilioWebhookApiTest',
				displayOptions: credentialFor('provider', ['twilio'], PROVIDER_VALUES),
			},
			{
				name: 'emailEventsWebhookApi',
				required: true,
				testedBy: 'emailEventsWebhookApiTest',
				displayOptions: credentialFor('provider', ['email'], PROVIDER_VALUES),
			},
			{
				name: 'whatsAppCloudApi',
				required: false,
				displayOptions: credentialFor('provider', ['meta'], PROVIDER_VALUES, {
					downloadMedia: [false],
				}),
			},
			{ name: 'convergentStoreApi', required: false, testedBy: 'convergentStoreApiTest' },
		],
		webhooks: [
			{ name: 'setup', httpMethod: 'GET', responseMode: 'onReceived', path: 'webhook' },
			{ name: 'default', httpMethod: 'POST', responseMode: 'onReceived', path: 'webhook' },
		],
		properties: [
			{
				displayName: 'Provider',
				name: 'provider',
				type: 'options',
				options: PROVIDERS,
				default: 'meta',
			},
			{
				displayName: 'Download Media',
				name: 'downloadMedia',
				type: 'boolean',
				default: false,
				description:
					'Whether files people send (WhatsApp media, Messenger and Instagram attachments, MMS) are fetched into the item as binary data: media_0, media_1, ... WhatsApp media needs a WhatsApp Cloud API credential. The provider gets its answer first; a file that cannot be fetched is named in media[].downloadError and the message still starts the workflow.',
				displayOptions: { show: { provider: ['meta', 'twilio'] } },
			},
			{
				displayName: 'Options',
				name: 'options',
				type: 'collection',
				placeholder: 'Add option',
				default: {},
				options: [
					{
						displayName: 'Consent Purposes for Keywords',
						name: 'keywordPurposes',
						type: 'string',
						default: 'marketing, service',
						description:
							'Purposes that STOP withdraws on the channel, comma-separated. START restores only what a STOP withdrew; no keyword ever grants consent.',
					},
					{
						displayName: 'Extra Help Words',
						name: 'extraHelpWords',
						type: 'string',
						default: '',
						placeholder: 'AIUTO',
						description: 'More words flagged as a help request, comma-separated',
					},
					{
						displayName: 'Extra Start Words',
						name: 'extraStartWords',
						type: 'string',
						default: '',
						placeholder: 'RIATTIVA',
						description:
							'More words that undo a STOP on the channel, comma-separated. They never grant consent that was not given.',
					},
					{
						displayName: 'Extra Stop Words',
						name: 'extraStopWords',
						type: 'string',
						default: '',
						placeholder: 'DESISCRIVERE, AFMELDEN',
						description:
							'More opt-out words, comma-separated (English, Spanish, Italian, French, German and Portuguese words are built in)',
					},
					{
						displayName: 'Include Status Updates',
						name: 'includeStatuses',
						type: 'boolean',
						default: false,
						description:
							'Whether sent / delivered / read / failed updates start the workflow too (they always update the send log)',
					},
					{
						displayName: 'Max Media Size (MB)',
						name: 'maxMediaSize',
						type: 'number',
						typeOptions: { minValue: 1 },
						default: 25,
						description: 'Files larger than this are not downloaded (their media entry says so)',
					},
					{
						displayName: 'Media Hosts',
						name: 'mediaHosts',
						type: 'string',
						default: '',
						placeholder: 'media-proxy.example.com',
						description: MEDIA_HOSTS_DESCRIPTION,
					},
					{
						displayName: 'Public URL',
						name: 'publicUrl',
						type: 'string',
						default: '',
						placeholder: 'https://n8n.example.com/webhook/…/webhook',
						description:
							'The URL Twilio calls, when n8n runs behind a proxy that changes it (Twilio signs the URL)',
					},
				],
			},
		],
	};

	methods = {
		credentialTest: {
			convergentStoreApiTest,
			emailEventsWebhookApiTest,
			metaWebhookApiTest,
			twilioWebhookApiTest,
		},
	};

	async webhook(this: IWebhookFunctions): Promise<IWebhookResponseData> {
		const provider = this.getNodeParameter('provider', 'meta') as string;
		const options = this.getNodeParameter('options', {}) as IDataObject;
		const req = this.getRequestObject();
		const credentialsOf = webhookCredentials(this);
		if (provider === 'email') return await emailEvents(this, credentialsOf);
		const res = this.getResponseObject();
		const words = (name: string) =>
			String(options[name] ?? '')
				.split(',')
				.map((w) => w.trim())
				.filter(Boolean);
		const match = keywordMatcher({
			extraStop: words('extraStopWords'),
			extraStart: words('extraStartWords'),
			extraHelp: words('extraHelpWords'),
		});

		if (provider === 'meta' && this.getWebhookName() === 'setup') {
			const query = this.getQueryData() as IDataObject;
			const credentials = await credentialsOf('metaWebhookApi');
			const token = query['hub.verify_token'];
			if (
				query['hub.mode'] === 'subscribe' &&
				typeof token === 'string' &&
				token !== '' &&
				safeEqual(token, String(credentials.verifyToken ?? ''))
			) {
				res
					.status(200)
					.type('text/plain')
					.send(String(query['hub.challenge'] ?? ''));
			} else {
				res.status(403).type('text/plain').send('Verify token does not match');
			}
			return { noWebhookResponse: true };
		}

		const rawBody: Buffer | string =
			(req as unknown as { rawBody?: Buffer }).rawBody ?? JSON.stringify(req.body ?? {});
		let events: ConversationEvent[];
		if (provider === 'meta') {
			const credentials = await credentialsOf('metaWebhookApi');
			if (
				!verifyMetaSignature(
					String(credentials.appSecret),
					rawBody,
					this.getHeaderData()['x-hub-signature-256'],
				)
			) {
				res.status(401).type('text/plain').send('Invalid signature');
				return { noWebhookResponse: true };
			}
			events = normalizeMeta(this.getBodyData() as IDataObject, match);
		} else {
			const credentials = await credentialsOf('twilioWebhookApi');
			// As posted (a repeated name keeps every value, for the signature), and one value a name after it.
			const posted = Object.fromEntries(
				Object.entries(this.getBodyData() as IDataObject).map(([k, v]) => [
					k,
					Array.isArray(v) ? v.map(String) : String(v),
				]),
			);
			const form = Object.fromEntries(
				Object.entries(posted).map(([k, v]) => [k, Array.isArray(v) ? String(v[0] ?? '') : v]),
			);
			const query = req.url?.includes('?') ? req.url.slice(req.url.indexOf('?')) : '';
			const publicUrl = String(options.publicUrl || '').trim();
			// Twilio signs the URL it called, query string included: keep the request's query when the
			// Public URL (the proxy's address) has none of its own.
			const url = publicUrl
				? publicUrl.includes('?')
					? publicUrl
					: `${publicUrl}${query}`
				: `${this.getNodeWebhookUrl('default')}${query}`;
			if (
				!verifyTwilioSignature(
					String(credentials.authToken),
					url,
					posted,
					this.getHeaderData()['x-twilio-signature'],
				)
			) {
				res.status(401).type('text/plain').send('Invalid signature');
				return { noWebhookResponse: true };
			}
			// The signature covers names and values run together: a request re-partitioned into other
			// names and values can carry the same signature, so only Twilio's own shapes are accepted.
			const problem = twilioFormProblem(form);
			if (problem) {
				res.status(400).type('text/plain').send(problem);
				return { noWebhookResponse: true };
			}
			events = normalizeTwilio(form, match);
		}

		const store = await getStore(this, credentialsOf);
		const workflow = this.getWorkflow();
		const scope = `${provider}:${workflow.id ?? ''}:${this.getNode().id}`;
		const idOf = (e: ConversationEvent) =>
			`${e.kind === 'status' ? `status:${e.status}:` : ''}${e.providerMessageId}`;
		// The durable inbox is kept when the run marks its events done (Touchpoint Inbox > Mark Done);
		// a test event from the editor is never kept for replay.
		const durable = this.getMode() !== 'manual' && marksDone(this);
		const purposes = String(options.keywordPurposes ?? 'marketing, service');
		// Everything the request means lands in one transaction before the provider gets its 200:
		// the de-duplication key, the sender's contact, the inbound log, delivery statuses, keyword
		// consent and (durable inbox) the event itself. A store error rolls all of it back and answers
		// 500, so the provider's re-delivery is handled in full: a STOP is never lost.
		const emitted = await store.atomically(async (tx) => {
			const seen = await tx.findProcessed(scope, events.map(idOf));
			const unseen = events.filter((e) => !seen.has(idOf(e)));
			const messages = unseen.filter((e) => e.kind !== 'status');
			const { personOf, personId } = await recordMessages(tx, messages, purposes);
			// A status is about a send: its person, campaign and key come from the send log, so a
			// journey or an engagement score downstream counts a "read" for the right person.
			const sendOf = new Map<ConversationEvent, TouchRecord>();
			const statuses = unseen.filter((e) => e.kind === 'status');
			for (const st of statuses) {
				const touch = await tx.updateDeliveryStatus(st.providerMessageId, String(st.status));
				if (touch) sendOf.set(st, touch);
			}
			// A failed status may report an opt-out (Twilio 21610, WhatsApp 131050): kept for the person.
			await recordProviderOptOuts(
				tx,
				statuses.flatMap((st) =>
					(st.errors ?? []).map((err) => ({
						contactId: sendOf.get(st)?.contactId ?? contactIdOf(st),
						channel: st.channel,
						address: st.contact.phone,
						code: err.code,
						at: Date.parse(st.timestamp),
					})),
				),
			);
			const toEmit = new Map(
				(options.includeStatuses ? unseen : messages).map((e) => {
					const rest: ConversationEvent = { ...e };
					delete rest.keywordConditional;
					const person = personOf.get(e);
					const send = sendOf.get(e);
					const json: IDataObject = {
						...(rest as unknown as IDataObject),
						contactId: e.kind === 'status' ? (send?.contactId ?? contactIdOf(e)) : personId(e),
						...(e.kind === 'status'
							? {
									eventId: idOf(e),
									touch: send
										? {
												idempotencyKey: send.idempotencyKey,
												campaign: send.campaign ?? null,
												channel: send.channel,
												purpose: send.purpose,
												sentAt: new Date(send.createdAt).toISOString(),
											}
										: null,
								}
							: {}),
						...(person?.error
							? {
									identityConflict: {
										message: person.error.message,
										description: person.error.hint,
									},
								}
							: {}),
						...(durable ? { inboxId: inboxIdOf({ scope, id: idOf(e) }) } : {}),
					};
					return [idOf(e), json] as const;
				}),
			);
			const inbox = durable
				? {
						workflowId: String(workflow.id ?? ''),
						events: new Map([...toEmit].map(([id, json]) => [id, JSON.stringify(json)])),
					}
				: undefined;
			// Every kept row is tied to its person (a status to its send's), so Erase and Export reach it.
			const personOfRow = new Map([
				...messages.map((e) => [idOf(e), personId(e)] as const),
				...statuses.map((st) => [idOf(st), sendOf.get(st)?.contactId ?? contactIdOf(st)] as const),
			]);
			const fresh = await tx.markProcessed(scope, unseen.map(idOf), personOfRow, inbox);
			return [...toEmit].filter(([id]) => fresh.has(id)).map(([, json]) => json);
		});

		if (provider === 'twilio') res.status(200).type('text/xml').send('<Response></Response>');
		if (emitted.length === 0) return provider === 'twilio' ? { noWebhookResponse: true } : {};
		if (
			this.getNodeParameter('downloadMedia', false) === true &&
			emitted.some((json) => Array.isArray(json.media) && json.media.length)
		) {
			// Everything is recorded: the provider has its answer before the files are fetched.
			if (provider === 'meta') res.status(200).type('text/plain').send('EVENT_RECEIVED');
			return {
				noWebhookResponse: true,
				workflowData: [
					await withDownloadedMedia(
						this.helpers,
						emitted,
						credentialsOf,
						Number(options.maxMediaSize || 25),
						String(options.mediaHosts ?? ''),
					),
				],
			};
		}
		return {
			...(provider === 'twilio' ? { noWebhookResponse: true } : {}),
			workflowData: [emitted.map((json) => ({ json }))],
		};
	}
}
