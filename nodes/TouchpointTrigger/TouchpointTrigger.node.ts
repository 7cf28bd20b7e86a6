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

import { contactIdOf, normalizeMeta, normalizeTwilio } from '../shared/inbound/normalize';
import { verifyMetaSignature, verifyTwilioSignature } from '../shared/inbound/signatures';
import { convergentStoreApiTest, getStore } from '../shared/n8n/store';
import type { ConsentEventInput } from '../shared/store/types';

const HEX32 = /^[0-9a-f]{32}$/i;

async function metaWebhookApiTest(this: ICredentialTestFunctions, c: ICredentialsDecrypted): Promise<INodeCredentialTestResult> {
	const secret = String(c.data?.appSecret ?? '');
	if (!HEX32.test(secret)) return { status: 'Error', message: 'App Secret should be the 32 hexadecimal characters from App settings > Basic' };
	if (!String(c.data?.verifyToken ?? '')) return { status: 'Error', message: 'Verify Token is empty: choose one and enter it in the webhook subscription too' };
	return { status: 'OK', message: 'App Secret and Verify Token are set' };
}

async function twilioWebhookApiTest(this: ICredentialTestFunctions, c: ICredentialsDecrypted): Promise<INodeCredentialTestResult> {
	return HEX32.test(String(c.data?.authToken ?? ''))
		? { status: 'OK', message: 'Auth Token is set' }
		: { status: 'Error', message: 'Auth Token should be the 32 hexadecimal characters from the Twilio Console' };
}

export class TouchpointTrigger implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Touchpoint Trigger',
		name: 'touchpointTrigger',
		icon: { light: 'file:touchpointTrigger.svg', dark: 'file:touchpointTrigger.dark.svg' },
		group: ['trigger'],
		version: 1,
		subtitle: '={{$parameter["provider"]}}',
		description: 'Starts the workflow when a person writes on WhatsApp, Messenger, Instagram Direct or SMS',
		defaults: { name: 'Touchpoint Trigger' },
		inputs: [],
		outputs: [NodeConnectionTypes.Main],
		credentials: [
			{ name: 'metaWebhookApi', required: true, testedBy: 'metaWebhookApiTest', displayOptions: { show: { provider: ['meta'] } } },
			{ name: 'twilioWebhookApi', required: true, testedBy: 'twilioWebhookApiTest', displayOptions: { show: { provider: ['twilio'] } } },
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
				options: [
					{ name: 'Meta (WhatsApp, Messenger, Instagram)', value: 'meta' },
					{ name: 'Twilio SMS', value: 'twilio' },
				],
				default: 'meta',
			},
			{
				displayName: 'Options',
				name: 'options',
				type: 'collection',
				placeholder: 'Add option',
				default: {},
				options: [
					{ displayName: 'Consent Purposes for Keywords', name: 'keywordPurposes', type: 'string', default: 'marketing, service', description: 'Purposes that STOP withdraws and START grants again on the channel, comma-separated' },
					{ displayName: 'Extra Stop Words', name: 'extraStopWords', type: 'string', default: '', placeholder: 'BAJA, ARRET', description: 'More opt-out words (other languages), comma-separated' },
					{ displayName: 'Include Status Updates', name: 'includeStatuses', type: 'boolean', default: false, description: 'Whether sent / delivered / read / failed updates start the workflow too (they always update the send log)' },
					{ displayName: 'Public URL', name: 'publicUrl', type: 'string', default: '', placeholder: 'https://n8n.example.com/webhook/…/webhook', description: 'The URL Twilio calls, when n8n runs behind a proxy that changes it (Twilio signs the URL)' },
				],
			},
		],
	};

	methods = { credentialTest: { convergentStoreApiTest, metaWebhookApiTest, twilioWebhookApiTest } };

	async webhook(this: IWebhookFunctions): Promise<IWebhookResponseData> {
		const provider = this.getNodeParameter('provider', 'meta') as string;
		const options = this.getNodeParameter('options', {}) as IDataObject;
		const req = this.getRequestObject();
		const res = this.getResponseObject();
		const extraStop = String(options.extraStopWords ?? '').split(',').map((w) => w.trim()).filter(Boolean);

		if (provider === 'meta' && this.getWebhookName() === 'setup') {
			const query = this.getQueryData() as IDataObject;
			const credentials = await this.getCredentials('metaWebhookApi');
			if (query['hub.mode'] === 'subscribe' && query['hub.verify_token'] && query['hub.verify_token'] === credentials.verifyToken) {
				res.status(200).type('text/plain').send(String(query['hub.challenge'] ?? ''));
			} else {
				res.status(403).type('text/plain').send('Verify token does not match');
			}
			return { noWebhookResponse: true };
		}

		const rawBody: Buffer | string = (req as unknown as { rawBody?: Buffer }).rawBody ?? JSON.stringify(req.body ?? {});
		let events;
		if (provider === 'meta') {
			const credentials = await this.getCredentials('metaWebhookApi');
			if (!verifyMetaSignature(String(credentials.appSecret), rawBody, this.getHeaderData()['x-hub-signature-256'])) {
				res.status(401).type('text/plain').send('Invalid signature');
				return { noWebhookResponse: true };
			}
			events = normalizeMeta(this.getBodyData() as IDataObject, extraStop);
		} else {
			const credentials = await this.getCredentials('twilioWebhookApi');
			const form = Object.fromEntries(Object.entries(this.getBodyData() as IDataObject).map(([k, v]) => [k, String(v)]));
			const query = req.url?.includes('?') ? req.url.slice(req.url.indexOf('?')) : '';
			const url = String(options.publicUrl || '') || `${this.getNodeWebhookUrl('default')}${query}`;
			if (!verifyTwilioSignature(String(credentials.authToken), url, form, this.getHeaderData()['x-twilio-signature'])) {
				res.status(401).type('text/plain').send('Invalid signature');
				return { noWebhookResponse: true };
			}
			events = normalizeTwilio(form, extraStop);
		}

		const store = await getStore(this);
		const scope = `${provider}:${this.getWorkflow().id ?? ''}:${this.getNode().id}`;
		const fresh = await store.markProcessed(scope, events.map((e) => `${e.kind === 'status' ? `status:${e.status}:` : ''}${e.providerMessageId}`));
		const newEvents = events.filter((e) => fresh.has(`${e.kind === 'status' ? `status:${e.status}:` : ''}${e.providerMessageId}`));

		const messages = newEvents.filter((e) => e.kind !== 'status');
		await store.recordInbound(messages.map((e) => ({ contactId: contactIdOf(e), channel: e.channel, at: Date.parse(e.timestamp) })));
		for (const s of newEvents.filter((e) => e.kind === 'status')) await store.updateDeliveryStatus(s.providerMessageId, String(s.status));
		const purposes = String(options.keywordPurposes ?? 'marketing, service').split(',').map((p) => p.trim()).filter(Boolean);
		const consent: ConsentEventInput[] = [];
		for (const e of messages) {
			if (e.keyword !== 'stop' && e.keyword !== 'start') continue;
			for (const purpose of purposes) {
				consent.push({
					contactId: contactIdOf(e),
					channel: e.channel,
					purpose,
					address: e.contact.phone ?? e.contact.psid ?? e.contact.instagramId ?? e.contact.whatsappId,
					action: e.keyword === 'stop' ? 'withdraw' : 'grant',
					evidence: { source: `${e.channel}-keyword`, wording: e.text, actor: 'contact', extra: { providerMessageId: e.providerMessageId } },
					occurredAt: Date.parse(e.timestamp),
				});
			}
		}
		if (consent.length) await store.recordConsent(consent);

		const emitted = options.includeStatuses ? newEvents : messages;
		if (provider === 'twilio') res.status(200).type('text/xml').send('<Response></Response>');
		if (emitted.length === 0) return provider === 'twilio' ? { noWebhookResponse: true } : {};
		return {
			...(provider === 'twilio' ? { noWebhookResponse: true } : {}),
			workflowData: [emitted.map((e) => ({ json: { ...e, contactId: contactIdOf(e) } as unknown as IDataObject }))],
		};
	}
}
