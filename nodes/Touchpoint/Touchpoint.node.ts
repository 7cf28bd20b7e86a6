import {
	NodeApiError,
	NodeConnectionTypes,
	NodeOperationError,
	type ICredentialsDecrypted,
	type ICredentialTestFunctions,
	type IDataObject,
	type ILoadOptionsFunctions,
	type INodePropertyOptions,
	type IExecuteFunctions,
	type INodeCredentialTestResult,
	type INodeExecutionData,
	type INodeProperties,
	type INodeType,
	type INodeTypeDescription,
	type JsonObject,
} from 'n8n-workflow';

import {
	listTemplates,
	templateComponents,
	templateProblems,
	type TemplateDefinition,
} from '../shared/channels/whatsapp-templates';
import {
	buildRequest,
	builtFingerprint,
	builtPreview,
	emailPreviewHtml,
	parseChoices,
	type BuildContext,
	type BuiltRequest,
	type ContactCard,
	type MediaFile,
	type OutboundMessage,
} from '../shared/channels/requests';
import { inFlightFor, localLimiter, sharedLimiter } from '../shared/channels/limiter';
import { pool, turns } from '../shared/pool';
import { WHATSAPP_MEDIA } from '../shared/channels/limits';
import { REQUEST_DEADLINE_MS } from '../shared/deadline';
import { channelAddress, isChannel, type Channel, type Contact } from '../shared/contact';
import {
	compileContactReader,
	contactMappingProperty,
	resolveContactMapping,
} from '../shared/n8n/contact-mapping';
import { compileFieldPath } from '../shared/field-path';
import { isExpressionParameter, parameterReader } from '../shared/n8n/params';
import { recordProviderOptOuts } from '../shared/policy/opt-out';
import { signUnsubscribeToken, unsubscribeLink } from '../shared/policy/unsubscribe';
import {
	clickKey,
	clickLink,
	shortClickCode,
	wrapHtmlLinks,
	wrapTextLinks,
} from '../shared/insights/clicks';
import { EXPIRES_PLACEHOLDER, inAppId, inboxKey, signInboxToken } from '../shared/insights/inapp';
import { convergentStoreApiTest, getStore } from '../shared/n8n/store';
import type { ProviderError } from '../shared/channels/errors';
import type { ClaimResult, TrackedLink } from '../shared/store/types';
import { asNodeError, failClosed } from '../shared/n8n/fail-closed';
import { isToolCall, sendSummary, toolAware } from '../shared/n8n/tool-mode';
import { conversationRefusal } from '../shared/n8n/tool-scope';
import { policyProperties, readPolicySettings } from '../shared/n8n/policy-settings';
import {
	channelBookAddress,
	resolvePeople,
	withBookAddresses,
	type Person,
} from '../shared/people';
import {
	checkAddress,
	checkBatch,
	defaultIdempotencyKey,
	recheckStanding,
	type GateRequest,
} from '../shared/policy';
import { properties } from './description';
import { credentialFor, optionSubtitle } from '../shared/n8n/display-options';
import {
	send,
	verifySmtp,
	type ChannelCredentials,
	type MediaIds,
	type SendOutcome,
} from './transport';

/** Items prepared at a time while earlier ones are sending (see Waves in sendAll). */
const WAVE = 100;

/** Warned once per process: queue mode on the embedded store paces per worker. */
let warnedPerProcess = false;

/** What a preview without a provider credential shows as the sender. */
const DRY_RUN_SENDER: IDataObject = {
	apiVersion: 'v21.0',
	phoneNumberId: '<WhatsApp phone number ID>',
	accountSid: '<Twilio Account SID>',
	from: '<Twilio From number>',
	fromEmail: '<From email>',
};

const CREDENTIAL_OF: Record<Channel, string> = {
	whatsapp: 'whatsAppCloudApi',
	messenger: 'metaPageApi',
	instagram: 'metaPageApi',
	sms: 'twilioMessagingApi',
	push: 'fcmServiceAccountApi',
	email: 'convergentSmtpApi',
};
const CREDENTIAL_LABEL: Record<string, string> = {
	whatsAppCloudApi: 'WhatsApp Cloud API',
	metaPageApi: 'Meta Page (Messenger, Instagram) API',
	twilioMessagingApi: 'Twilio Messaging API',
	fcmServiceAccountApi: 'Firebase Cloud Messaging (Service Account) API',
	convergentSmtpApi: 'Convergent SMTP API',
};
const DEFAULT_RATE: Record<Channel, number> = {
	whatsapp: 80,
	messenger: 40,
	instagram: 40,
	sms: 1,
	push: 500,
	email: 20,
};
const FALL_THROUGH = new Set(['WINDOW_CLOSED', 'DEAD_TOKEN', 'INVALID_ADDRESS', 'UNSUBSCRIBED']);
/** Provider answers that will fail every item: a broken credential or sender. */
const FATAL = new Set(['AUTH', 'CONFIG']);

async function convergentSmtpApiTest(
	this: ICredentialTestFunctions,
	c: ICredentialsDecrypted,
): Promise<INodeCredentialTestResult> {
	try {
		await verifySmtp(c.data ?? {});
		return { status: 'OK', message: 'The SMTP server accepted the connection' };
	} catch (error) {
		return {
			status: 'Error',
			message: `SMTP: ${(error as Error).message}. Check Host, Port, SSL/TLS, User and Password.`,
		};
	}
}

async function fcmServiceAccountApiTest(
	this: ICredentialTestFunctions,
	c: ICredentialsDecrypted,
): Promise<INodeCredentialTestResult> {
	try {
		const sa = JSON.parse(String(c.data?.serviceAccountJson ?? ''));
		if (!sa.private_key || !sa.client_email || !sa.project_id) {
			return {
				status: 'Error',
				message: 'Service Account JSON lacks private_key, client_email or project_id',
			};
		}
		return {
			status: 'OK',
			message: `Service account ${sa.client_email} for project ${sa.project_id}`,
		};
	} catch (error) {
		return {
			status: 'Error',
			message: `Service Account JSON is not a Firebase service-account key file: ${(error as Error).message}`,
		};
	}
}

const policyNotice: INodeProperties = {
	displayName:
		'The policy below applies to items that did not pass a Consent Guard Check first; for those that did, Touchpoint re-checks consent, suppression and erasure at send time',
	name: 'policyNotice',
	type: 'notice',
	default: '',
};

interface Pending {
	i: number;
	contact: Contact;
	person: Person;
	candidates: Channel[];
	ci: number;
	reasons: IDataObject[];
}

/** Every value of Channel (credentials are shown per channel; see credentialFor). */
const CHANNEL_VALUES = [
	'bestAvailable',
	'email',
	'instagram',
	'messenger',
	'push',
	'sms',
	'whatsapp',
];

export class Touchpoint implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Touchpoint',
		name: 'touchpoint',
		icon: { light: 'file:touchpoint.svg', dark: 'file:touchpoint.dark.svg' },
		group: ['output'],
		version: 1,
		subtitle: optionSubtitle(
			properties.find((p) => p.name === 'channel')!.options as Array<{
				name: string;
				value: string;
			}>,
			'channel',
		),
		description:
			"Send over WhatsApp, Messenger, Instagram, SMS, push or email with consent, caps, windows and each channel's rules enforced; idempotent",
		defaults: { name: 'Touchpoint' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		// Dry Run adds its own output, so a step after Sent never counts a preview as sent.
		outputs: `={{ $parameter.options?.dryRun ? [{ "type": "main", "displayName": "Sent" }, { "type": "main", "displayName": "Not Sent" }, { "type": "main", "displayName": "Dry Run" }] : [{ "type": "main", "displayName": "Sent" }, { "type": "main", "displayName": "Not Sent" }] }}`,
		// Only the credential the channel sends with (all of them for Best Available).
		credentials: [
			{
				name: 'whatsAppCloudApi',
				required: false,
				displayOptions: credentialFor('channel', ['whatsapp', 'bestAvailable'], CHANNEL_VALUES),
			},
			{
				name: 'metaPageApi',
				required: false,
				displayOptions: credentialFor(
					'channel',
					['messenger', 'instagram', 'bestAvailable'],
					CHANNEL_VALUES,
				),
			},
			{
				name: 'twilioMessagingApi',
				required: false,
				displayOptions: credentialFor('channel', ['sms', 'bestAvailable'], CHANNEL_VALUES),
			},
			{
				name: 'fcmServiceAccountApi',
				required: false,
				testedBy: 'fcmServiceAccountApiTest',
				displayOptions: credentialFor('channel', ['push', 'bestAvailable'], CHANNEL_VALUES),
			},
			{
				name: 'convergentSmtpApi',
				required: false,
				testedBy: 'convergentSmtpApiTest',
				displayOptions: credentialFor('channel', ['email', 'bestAvailable'], CHANNEL_VALUES),
			},
			{ name: 'convergentStoreApi', required: false, testedBy: 'convergentStoreApiTest' },
		],
		properties: [
			...properties.slice(0, 3),
			contactMappingProperty,
			...properties.slice(3, -1),
			policyNotice,
			...policyProperties,
			...properties.slice(-1),
		],
	};

	methods = {
		credentialTest: { convergentStoreApiTest, convergentSmtpApiTest, fcmServiceAccountApiTest },
		loadOptions: {
			/** The account's approved templates, every page of the Graph API's message_templates edge. */
			async getWhatsAppTemplates(this: ILoadOptionsFunctions): Promise<INodePropertyOptions[]> {
				const c = await this.getCredentials('whatsAppCloudApi');
				const waba = String(c.businessAccountId ?? '').trim();
				if (!waba)
					throw new NodeOperationError(
						this.getNode(),
						'No WhatsApp Business Account ID in the WhatsApp Cloud API credential',
						{
							description:
								'Add it (WhatsApp Manager > Account tools) to list your templates, or type the template name as an expression.',
						},
					);
				const first = `${String(c.baseUrl || 'https://graph.facebook.com').replace(/\/$/, '')}/${String(c.apiVersion || 'v21.0')}/${encodeURIComponent(waba)}/message_templates?fields=name,language,status,category&limit=100`;
				const templates = await listTemplates(
					(url) =>
						this.helpers.httpRequest({
							method: 'GET',
							url,
							headers: { Authorization: `Bearer ${String(c.accessToken)}` },
							json: true,
						}),
					first,
				);
				const byName = new Map<string, { languages: string[]; category: string }>();
				for (const t of templates.filter((x) => x.status === 'APPROVED')) {
					const e = byName.get(t.name) ?? { languages: [], category: t.category };
					e.languages.push(t.language);
					byName.set(t.name, e);
				}
				return [...byName]
					.sort(([a], [b]) => a.localeCompare(b))
					.map(([name, e]) => ({
						name,
						value: name,
						description: `${e.languages.join(', ')} · ${e.category}`,
					}));
			},
		},
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		// Output 0 is Sent: no error may reach n8n's "continue" path, which copies the input there.
		// The node has the Dry Run output when the option is on or is an expression (see outputs).
		const dryRunOutput =
			(this.getNodeParameter('options', 0, {}) as IDataObject).dryRun === true ||
			isExpressionParameter(this, 'options.dryRun');
		const outputs: INodeExecutionData[][] = dryRunOutput ? [[], [], []] : [[], []];
		// As a tool, it sends only to the person of the conversation (tool-scope.ts).
		const outside = await conversationRefusal(
			this,
			async () => await getStore(this),
			'toolContact',
		);
		if (outside) return outside;
		const result = await failClosed(
			this,
			outputs,
			1,
			async () => await sendAll.call(this, outputs[0], outputs[1], outputs[2] ?? []),
		);
		return toolAware(this, result, ['Sent', 'Not Sent', 'Dry Run'], sendSummary);
	}
}

async function sendAll(
	this: IExecuteFunctions,
	sent: INodeExecutionData[],
	notSent: INodeExecutionData[],
	previews: INodeExecutionData[],
): Promise<void> {
	const items = this.getInputData();
	const node = this.getNode();
	const channelParam = this.getNodeParameter('channel', 0) as string;
	const purpose = this.getNodeParameter('purpose', 0) as string;
	const options = this.getNodeParameter('options', 0, {}) as IDataObject;
	const dryRun = options.dryRun === true;
	const maxRetries = Number(options.maxRetries ?? 5);
	const timeout = Number(options.timeout ?? REQUEST_DEADLINE_MS);
	const deadlineMs = timeout > 0 ? timeout : REQUEST_DEADLINE_MS;
	const mapping = resolveContactMapping(
		this.getNodeParameter('contactFields', 0, {}) as IDataObject,
	);
	const readContact = compileContactReader(mapping, { idOptional: true });
	const keyField = String(options.idempotencyKeyField ?? '').trim();
	const keyOf = keyField ? compileFieldPath(keyField) : undefined;
	const read = <T>(name: string, fallback: T) => parameterReader<T>(this, name, fallback);
	// Channel Priority may be an expression (e.g. the contact's preferred channel first), so it is read per item.
	const priorityParam =
		channelParam === 'bestAvailable'
			? read('channelPriority', 'push, whatsapp, sms, email')
			: undefined;
	const priorityOf = (i: number): Channel[] => {
		if (!priorityParam) return [channelParam as Channel];
		const list = String(priorityParam(i) ?? '')
			.split(',')
			.map((c) => c.trim().toLowerCase())
			.filter(Boolean);
		const bad = list.find((c) => !isChannel(c));
		if (bad !== undefined || list.length === 0) {
			throw new NodeOperationError(node, `Unknown channel "${bad ?? ''}" in Channel Priority`, {
				itemIndex: i,
				description:
					'List channels in order, comma-separated: whatsapp, messenger, instagram, sms, push, email.',
			});
		}
		return [...new Set(list)] as Channel[];
	};
	const p = {
		campaign: read('campaign', ''),
		variant: read('variant', ''),
		text: read('text', ''),
		whatsappType: read('whatsappType', 'text'),
		templateName: read('templateName', ''),
		templateLanguage: read('templateLanguage', 'en'),
		templateParameters: read('templateParameters', ''),
		mediaUrl: read('mediaUrl', ''),
		messagingType: read('messagingType', 'RESPONSE'),
		quickReplies: read('quickReplies', ''),
		pushTitle: read('pushTitle', ''),
		pushImageUrl: read('pushImageUrl', ''),
		pushType: read('pushType', 'notification'),
		inAppCtaLabel: read('inAppCtaLabel', ''),
		inAppCtaUrl: read('inAppCtaUrl', ''),
		inAppExpiresHours: read<number>('inAppExpiresHours', 72),
		pushData: read<unknown>('pushData', '{}'),
		pushTopic: read('pushTopic', ''),
		subject: read('subject', ''),
		choices: read<unknown>('choices', ''),
		listButton: read('listButton', 'Choose'),
		templateComponents: read<IDataObject>('templateComponents', {}),
		caption: read('caption', ''),
		latitude: read<number>('latitude', 0),
		longitude: read<number>('longitude', 0),
		locationName: read('locationName', ''),
		locationAddress: read('locationAddress', ''),
		mediaSource: read('mediaSource', 'url'),
		mediaId: read('mediaId', ''),
		binaryPropertyName: read('binaryPropertyName', 'data'),
		contactCards: read<IDataObject>('contactCards', {}),
		smsMediaUrls: read('smsMediaUrls', ''),
		cc: read('cc', ''),
		bcc: read('bcc', ''),
		attachments: read('attachments', ''),
		html: read('html', ''),
		unsubscribeUrl: read('unsubscribeUrl', ''),
		unsubscribeMailto: read('unsubscribeMailto', ''),
		postalAddress: read('postalAddress', ''),
	};

	// Credentials, loaded once per channel that is used.
	const credCache = new Map<Channel, ChannelCredentials | null>();
	const credsFor = async (channel: Channel): Promise<ChannelCredentials | null> => {
		if (credCache.has(channel)) return credCache.get(channel)!;
		const type = CREDENTIAL_OF[channel];
		let result: ChannelCredentials | null = null;
		if (node.credentials?.[type]) {
			const data = (await this.getCredentials(type)) as IDataObject;
			// The provider's limit; the limiter keeps under it (channels/limiter.ts).
			const rate =
				Number(options.ratePerSecond) ||
				Number(data.ratePerSecond) ||
				(channel === 'sms' && data.messagingServiceSid ? 10 : DEFAULT_RATE[channel]);
			result = {
				type,
				data,
				key: `${type}:${node.credentials[type].id ?? node.credentials[type].name}:${data.phoneNumberId ?? data.from ?? data.messagingServiceSid ?? ''}`,
				ratePerSecond: rate,
			};
		} else if (dryRun) {
			// A preview needs no provider account: the sender fields show where the credential's values go.
			result = {
				type,
				data: { ...DRY_RUN_SENDER },
				key: `dry-run:${type}`,
				ratePerSecond: 0,
				placeholder: true,
			};
		}
		credCache.set(channel, result);
		return result;
	};

	const list = (v: string) =>
		String(v ?? '')
			.split(',')
			.map((x) => x.trim())
			.filter(Boolean);
	// Email attachments are read from the items' binary data once, before anything is built.
	const attachmentsOf = new Map<
		number,
		Array<{ filename: string; contentType: string; content: Buffer }>
	>();
	// So are WhatsApp media files sent from binary data (uploaded once per file when sent).
	const mediaFileOf = new Map<number, MediaFile>();
	const mediaIds: MediaIds = new Map();
	const isMediaType = (t: string) => Object.hasOwn(WHATSAPP_MEDIA, t);
	const binaryFile = async (
		i: number,
		name: string,
		field: string,
	): Promise<{ filename: string; contentType: string; content: Buffer }> => {
		const meta = items[i].binary?.[name];
		if (!meta)
			throw new NodeOperationError(node, `No binary property "${name}" on the item for ${field}`, {
				itemIndex: i,
				description: `The item's binary properties are: ${Object.keys(items[i].binary ?? {}).join(', ') || 'none'}.`,
			});
		return {
			filename: meta.fileName ?? name,
			contentType: meta.mimeType,
			content: await this.helpers.getBinaryDataBuffer(i, name),
		};
	};
	// A template message is checked against the template as Meta holds it (once per template and
	// language per run), when the credential names the WhatsApp Business Account.
	const definitions = new Map<string, Promise<TemplateDefinition | null | undefined>>();
	const checkTemplate = async (
		creds: ChannelCredentials,
		built: BuiltRequest,
	): Promise<string | undefined> => {
		const template =
			built.kind === 'http'
				? ((built.request.json as IDataObject | undefined)?.template as IDataObject | undefined)
				: undefined;
		const waba = String(creds.data.businessAccountId ?? '').trim();
		if (!template || !waba || creds.placeholder) return undefined;
		const name = String(template.name);
		const language = String((template.language as IDataObject)?.code ?? '');
		const key = `${waba}\u0000${name}\u0000${language}`;
		if (!definitions.has(key)) {
			const url = `${String(creds.data.baseUrl || 'https://graph.facebook.com').replace(/\/$/, '')}/${String(creds.data.apiVersion || 'v21.0')}/${encodeURIComponent(waba)}/message_templates?name=${encodeURIComponent(name)}&fields=name,language,status,components&limit=100`;
			definitions.set(
				key,
				this.helpers
					.httpRequest({
						method: 'GET',
						url,
						headers: { Authorization: `Bearer ${String(creds.data.accessToken)}` },
						json: true,
					})
					.then(
						(res: { data?: TemplateDefinition[] }) =>
							(res.data ?? []).find((t) => t.name === name && t.language === language) ?? null,
					)
					// Not reachable: the send itself will tell (Meta refuses a template that does not fit).
					.catch(() => undefined),
			);
		}
		const def = await definitions.get(key)!;
		if (def === undefined) return undefined;
		if (def === null)
			return `Template ${name} (${language}) is not in the WhatsApp Business Account ${waba}: check the name and language`;
		return (
			templateProblems(
				def,
				(template.components as Array<Record<string, unknown>> | undefined) ?? [],
			).join(' ') || undefined
		);
	};
	const componentsOf = (i: number) => {
		const c = (p.templateComponents(i) ?? {}) as IDataObject;
		const header = ((c.header as IDataObject[] | undefined) ?? [])[0];
		const components = templateComponents({
			header: header
				? { type: header.type as 'text', value: String(header.value ?? '') }
				: undefined,
			body: ((c.body as IDataObject[] | undefined) ?? []).map((b) => ({
				type: b.type as 'text',
				value: String(b.value ?? ''),
				name: String(b.name ?? '') || undefined,
				currencyCode: String(b.currencyCode ?? ''),
				amount1000: Number(b.amount1000 ?? 0),
			})),
			buttons: ((c.button as IDataObject[] | undefined) ?? []).map((b) => ({
				index: Number(b.index ?? 0),
				subType: b.subType as 'url',
				value: String(b.value ?? ''),
			})),
		});
		return components.length ? components : undefined;
	};
	const choicesOf = (i: number) => {
		try {
			return parseChoices(p.choices(i));
		} catch (error) {
			throw new NodeOperationError(node, `Choices: ${(error as Error).message}`, { itemIndex: i });
		}
	};
	const messageFor = (i: number, contact: Contact, channel: Channel): OutboundMessage => {
		const to =
			channel === 'whatsapp' || channel === 'sms' || channel === 'email'
				? (checkAddress(contact, channel).address ?? channelAddress(contact, channel) ?? '')
				: (channelAddress(contact, channel) ?? '');
		let data: Record<string, string> | undefined;
		const rawData = p.pushData(i);
		if (channel === 'push' && rawData) {
			let parsed: unknown;
			try {
				parsed = typeof rawData === 'string' ? JSON.parse(rawData || '{}') : rawData;
			} catch (error) {
				throw new NodeOperationError(
					node,
					`Push Data is not valid JSON: ${(error as Error).message}`,
					{ itemIndex: i },
				);
			}
			data = Object.keys(parsed as object).length ? (parsed as Record<string, string>) : undefined;
		}
		const templateParams = p.templateParameters(i);
		const links = tracked(i, contact, channel);
		const text = links && p.text(i) ? links.text(p.text(i)) : p.text(i);
		const html = links && p.html(i) ? links.html(p.html(i)) : p.html(i);
		// In-app: the id is set from the send's key once it is known (see below); the inbox token names the person.
		const ctaUrl = p.inAppCtaUrl(i);
		const inApp =
			channel === 'push' && p.pushType(i) === 'inApp'
				? {
						id: '',
						inboxToken: signInboxToken(inAppKey!, contact.id),
						expiresHours: Number(p.inAppExpiresHours(i) || 72),
						payload: {
							title: p.pushTitle(i),
							body: text ?? '',
							imageUrl: p.pushImageUrl(i) || undefined,
							ctaLabel: p.inAppCtaLabel(i) || undefined,
							ctaUrl: (ctaUrl && links ? links.text(ctaUrl) : ctaUrl) || undefined,
							expiresAt: EXPIRES_PLACEHOLDER,
						},
					}
				: undefined;
		return {
			channel,
			to,
			purpose,
			text,
			...(inApp ? { inApp } : {}),
			whatsappType: p.whatsappType(i) as OutboundMessage['whatsappType'],
			templateName: p.templateName(i),
			templateLanguage: p.templateLanguage(i),
			templateBodyParameters: templateParams ? templateParams.split('|').map((s) => s.trim()) : [],
			...(isMediaType(p.whatsappType(i))
				? p.mediaSource(i) === 'binary'
					? { mediaUpload: mediaFileOf.get(i) }
					: p.mediaSource(i) === 'id'
						? { mediaId: p.mediaId(i) }
						: { mediaUrl: p.mediaUrl(i) }
				: {}),
			...(p.whatsappType(i) === 'contacts'
				? {
						contacts:
							(((p.contactCards(i) ?? {}) as IDataObject).card as ContactCard[] | undefined) ?? [],
					}
				: {}),
			choices: choicesOf(i),
			listButton: p.listButton(i),
			templateComponents: componentsOf(i),
			caption: p.caption(i) || undefined,
			...(p.whatsappType(i) === 'location'
				? {
						location: {
							latitude: Number(p.latitude(i)),
							longitude: Number(p.longitude(i)),
							name: p.locationName(i) || undefined,
							address: p.locationAddress(i) || undefined,
						},
					}
				: {}),
			mediaUrls: list(p.smsMediaUrls(i)),
			statusCallback: String(options.statusCallbackUrl ?? '').trim() || undefined,
			cc: list(p.cc(i)),
			bcc: list(p.bcc(i)),
			attachments: channel === 'email' ? attachmentsOf.get(i) : undefined,
			messagingType: p.messagingType(i) as OutboundMessage['messagingType'],
			quickReplies: p.quickReplies(i)
				? p
						.quickReplies(i)
						.split(',')
						.map((s) => s.trim())
						.filter(Boolean)
				: [],
			maxSegments: Number(options.maxSegments ?? 3),
			title: p.pushTitle(i),
			imageUrl: p.pushImageUrl(i) || undefined,
			data,
			topic: p.pushTopic(i) || undefined,
			subject: p.subject(i),
			html: html || undefined,
			unsubscribeUrl: unsubscribeUrlFor(i, contact, channel),
			unsubscribeMailto: p.unsubscribeMailto(i) || undefined,
			postalAddress: p.postalAddress(i) || undefined,
		};
	};

	const policy = {
		...readPolicySettings(this),
		transactionalExempt: options.transactionalExempt !== false,
		allowUnlinkedAddress: options.allowUnlinkedAddress === true,
	};
	const store = await getStore(this);
	// Signed one-click links: one per person, under the store's link key (read once per run).
	const signedBase =
		this.getNodeParameter('unsubscribeLink', 0, 'url') === 'signed'
			? String(this.getNodeParameter('unsubscribeWebhookUrl', 0, '')).trim()
			: undefined;
	if (signedBase !== undefined && !/^https?:\/\/[^\s"'<>]+$/.test(signedBase)) {
		throw new NodeOperationError(
			node,
			`Unsubscribe Webhook URL "${signedBase.slice(0, 120)}" is not a URL`,
			{
				description:
					"Paste the production URL of the One-Click Unsubscribe template's webhook, e.g. https://n8n.example.com/webhook/unsubscribe.",
			},
		);
	}
	// Tracked links (opt-in): every http(s) link through the click webhook, signed per person and campaign.
	const clickBase =
		this.getNodeParameter('clickTracking', 0, 'off') === 'signed'
			? String(this.getNodeParameter('clickWebhookUrl', 0, '')).trim()
			: undefined;
	if (clickBase !== undefined && !/^https?:\/\/[^\s"'<>]+$/.test(clickBase)) {
		throw new NodeOperationError(
			node,
			`Click Webhook URL "${clickBase.slice(0, 120)}" is not a URL`,
			{
				description:
					"Paste the production URL of the Click Tracking template's webhook, e.g. https://n8n.example.com/webhook/r.",
			},
		);
	}
	const inAppUsed = channelParam === 'push' && items.some((_, i) => p.pushType(i) === 'inApp');
	const linkKey =
		signedBase !== undefined || clickBase !== undefined || inAppUsed
			? await store.linkKey()
			: undefined;
	const inAppKey = inAppUsed ? inboxKey(linkKey!) : undefined;
	const clicksKey = clickBase !== undefined ? clickKey(linkKey!) : undefined;
	// Codes of the tracked links built this round, per item and channel: kept in the store for the
	// messages about to go (or be previewed) before anything is sent; a blocked one keeps none.
	const newLinks = new Map<string, TrackedLink[]>();
	const linksOf = (i: number, channel: Channel) => `${i}\u0000${channel}`;
	const tracked = (i: number, contact: Contact, channel: Channel) => {
		if (clicksKey === undefined || clickBase === undefined) return undefined;
		const campaign = String(p.campaign(i) ?? '');
		const own = (url: string) =>
			url.startsWith(clickBase) || (signedBase !== undefined && url.startsWith(signedBase));
		const wrap = (url: string) => {
			const target = { contactId: contact.id, channel, campaign, url };
			const code = shortClickCode(clicksKey, target);
			const list = newLinks.get(linksOf(i, channel)) ?? [];
			list.push({ code, ...target });
			newLinks.set(linksOf(i, channel), list);
			return clickLink(clickBase, code);
		};
		return {
			text: (t: string) => wrapTextLinks(t, wrap, own),
			html: (h: string) => wrapHtmlLinks(h, wrap, own),
		};
	};
	function unsubscribeUrlFor(i: number, contact: Contact, channel: Channel): string | undefined {
		if (linkKey === undefined || signedBase === undefined) return p.unsubscribeUrl(i) || undefined;
		return channel === 'email'
			? unsubscribeLink(
					signedBase,
					signUnsubscribeToken(linkKey, { contactId: contact.id, channel, purpose }),
				)
			: undefined;
	}
	// One rate limit per credential and sender for all workers when the store is shared
	// (PostgreSQL); per process on the embedded store, which queue mode should not use.
	const limiter = store.dialect === 'postgres' ? sharedLimiter(store) : localLimiter;
	if (!limiter.shared && process.env.EXECUTIONS_MODE === 'queue' && !warnedPerProcess) {
		warnedPerProcess = true;
		this.logger.warn(
			"Touchpoint: n8n runs in queue mode but the Convergent Store is the embedded SQLite file, so each worker paces its sends on its own and several workers together can exceed a provider's rate limit. Point the Convergent Store credential at PostgreSQL to share one limit.",
		);
	}
	const read_: Array<Omit<Pending, 'person'>> = [];
	const itemError = (i: number, error: unknown) => {
		const e =
			error instanceof NodeOperationError
				? error
				: new NodeOperationError(node, (error as Error).message, {
						itemIndex: i,
						description: (error as { hint?: string }).hint,
					});
		if (!this.continueOnFail()) throw e;
		notSent.push({
			json: {
				...items[i].json,
				error: e.message,
				...(e.description ? { description: e.description } : {}),
			},
			pairedItem: { item: i },
		});
	};
	for (let i = 0; i < items.length; i++) {
		try {
			read_.push({
				i,
				contact: readContact(items[i].json),
				candidates: priorityOf(i),
				ci: 0,
				reasons: [],
			});
		} catch (error) {
			itemError(i, error);
		}
	}
	// An agent (Touchpoint as a tool) names the person by ID alone: the contact book gives their addresses.
	if (isToolCall(this)) {
		const filled = await withBookAddresses(
			store,
			read_.map((r) => r.contact),
		);
		read_.forEach((r, j) => {
			r.contact = filled[j];
		});
	}
	// The person behind each item: caps and windows count per person, and a message goes only to
	// an address that is theirs. An id and an address of two different people is an error.
	for (const r of [...read_]) {
		const names = list(p.attachments(r.i));
		const mediaFromBinary =
			r.candidates.includes('whatsapp') &&
			isMediaType(p.whatsappType(r.i)) &&
			p.mediaSource(r.i) === 'binary';
		if (!mediaFromBinary && (!names.length || !r.candidates.includes('email'))) continue;
		try {
			if (names.length && r.candidates.includes('email'))
				attachmentsOf.set(
					r.i,
					await Promise.all(names.map(async (name) => await binaryFile(r.i, name, 'Attachments'))),
				);
			if (mediaFromBinary) {
				const name = String(p.binaryPropertyName(r.i) || 'data').trim();
				const f = await binaryFile(r.i, name, 'Input Binary Field');
				mediaFileOf.set(r.i, { filename: f.filename, mimeType: f.contentType, content: f.content });
			}
		} catch (error) {
			read_.splice(read_.indexOf(r), 1);
			itemError(r.i, error);
		}
	}
	const people = await resolvePeople(
		store,
		read_.map((r) => r.contact),
		{
			idField: mapping.idField,
			// The addresses this node may use: the channel's, or each candidate's of Best Available.
			addresses: (c, j) =>
				read_[j].candidates
					.map((ch) => channelBookAddress(c, ch))
					.filter((a): a is NonNullable<typeof a> => !!a),
		},
	);
	const pending: Pending[] = [];
	read_.forEach((r, j) => {
		const person = people[j];
		if (person.error)
			itemError(
				r.i,
				new NodeOperationError(node, person.error.message, {
					itemIndex: r.i,
					description: person.error.hint,
				}),
			);
		else pending.push({ ...r, contact: person.contact, person });
	});

	// A channel an item can only go by, without its credential, fails the node before anything is
	// sent (not once the waves before that item have sent theirs).
	const noCredential = (channel: Channel) =>
		new NodeOperationError(
			node,
			`No ${CREDENTIAL_LABEL[CREDENTIAL_OF[channel]]} credential selected for ${channel}`,
			{
				description:
					'Choose or create the credential for this channel on the node, or turn on Dry Run (Options) to preview without it.',
			},
		);
	for (const channel of new Set(
		pending.filter((pd) => pd.candidates.length === 1).map((pd) => pd.candidates[0]),
	)) {
		if (!(await credsFor(channel))) throw noCredential(channel);
	}

	// Waves: the batch goes on in waves of WAVE items, each prepared (messages, the gate, claims)
	// while the waves before it are sending, so the first request leaves once the first wave is
	// ready instead of once every item is (190 ms for 2,000 items in a fresh n8n process). One
	// wave prepares at a time, in order, with a turn of the event loop between, so the pacer's
	// timers are never held up long; sends share one pool of requests in flight, and come out in
	// the order the items came in.
	const waves: Pending[][] = [];
	if (dryRun) waves.push(pending);
	else for (let k = 0; k < pending.length; k += WAVE) waves.push(pending.slice(k, k + WAVE));
	const waveOut = waves.map(() => ({
		sent: [] as INodeExecutionData[],
		notSent: [] as INodeExecutionData[],
		previews: [] as INodeExecutionData[],
	}));
	const concurrency =
		Number(options.concurrency) > 0
			? Number(options.concurrency)
			: inFlightFor(
					await Promise.all(
						[...new Set(pending.flatMap((pd) => pd.candidates))].map(
							async (c) => (await credsFor(c))?.ratePerSecond ?? 0,
						),
					),
				);
	const inFlight = pool(concurrency);
	const prepTurn = turns();
	// The first item of each message (by idempotency key) in the whole run: any other with its key
	// shares its outcome, in this wave or a later one.
	const firstOfKey = new Map<string, { i: number; sent: Promise<boolean> }>();
	let stopped = false;
	// The error that stopped the run first (the waves it stopped then fail with "Stopped").
	let firstError: unknown;

	const runWave = async (w: number) => {
		const { sent, notSent, previews } = waveOut[w];
		const notSentItem = (pd: Pending, info: IDataObject) =>
			notSent.push({
				json: { ...items[pd.i].json, touchpoint: { status: 'not_sent', ...info } },
				pairedItem: { item: pd.i },
			});
		let pending = waves[w];
		while (pending.length && !stopped) {
			const endTurn = await prepTurn();
			const settle: Array<(sent: boolean) => void> = [];
			try {
				if (stopped) return;
				const round: Array<{
					pd: Pending;
					channel: Channel;
					built: BuiltRequest;
					key: string;
					fromGuard: boolean;
					info?: IDataObject;
				}> = [];
				const next: Pending[] = [];
				const advance = (pd: Pending, reason: IDataObject) => {
					pd.reasons.push(reason);
					pd.ci++;
					if (pd.ci < pd.candidates.length) {
						next.push(pd);
						return;
					}
					// Report the most telling reason: a policy or provider answer beats "no address".
					const main = pd.reasons.find((r) => r.reason !== 'NO_ROUTE') ?? reason;
					notSentItem(pd, pd.reasons.length > 1 ? { ...main, tried: pd.reasons } : main);
				};
				for (const pd of pending) {
					const channel = pd.candidates[pd.ci];
					const multi = pd.candidates.length > 1;
					if (multi && (!channelAddress(pd.contact, channel) || !(await credsFor(channel)))) {
						advance(pd, {
							channel,
							reason: 'NO_ROUTE',
							message: `No ${channel} address or credential for this contact`,
						});
						continue;
					}
					const creds = await credsFor(channel);
					if (!creds) throw noCredential(channel);
					const ctx: BuildContext = {
						apiVersion: String(creds.data.apiVersion ?? 'v21.0'),
						phoneNumberId: String(creds.data.phoneNumberId ?? ''),
						accountSid: String(creds.data.accountSid ?? ''),
						smsFrom: String(creds.data.from ?? '') || undefined,
						messagingServiceSid: String(creds.data.messagingServiceSid ?? '') || undefined,
						emailFrom: String(creds.data.fromEmail ?? '') || undefined,
					};
					let message: OutboundMessage;
					try {
						message = messageFor(pd.i, pd.contact, channel);
					} catch (error) {
						advance(pd, { channel, reason: 'INVALID_MESSAGE', message: (error as Error).message });
						continue;
					}
					const result = buildRequest(message, ctx);
					if (!result.ok) {
						advance(pd, {
							channel,
							reason: 'INVALID_MESSAGE',
							message: result.violations.map((v) => v.message).join(' '),
							violations: result.violations as unknown as IDataObject[],
						});
						continue;
					}
					const templateIssue = await checkTemplate(creds, result.built);
					if (templateIssue) {
						advance(pd, { channel, reason: 'INVALID_MESSAGE', message: templateIssue });
						continue;
					}
					const consent = items[pd.i].json.consent as IDataObject | undefined;
					const fromGuard =
						!!consent?.idempotencyKey && consent.channel === channel && consent.reserved === true;
					const ownKey = keyOf?.(items[pd.i].json);
					const key = fromGuard
						? String(consent!.idempotencyKey)
						: ownKey !== undefined && ownKey !== null && ownKey !== ''
							? `${String(ownKey)}${multi ? `:${channel}` : ''}`
							: defaultIdempotencyKey({
									contactId: pd.contact.id,
									channel,
									purpose,
									campaign: p.campaign(pd.i) || undefined,
									content: builtFingerprint(result.built),
								});
					// An in-app message's id comes from its send's key: a replayed send is the same message.
					if (result.built.kind === 'fcm' && result.built.info.inAppId !== undefined) {
						const id = inAppId(key);
						const data = result.built.message.data as Record<string, string>;
						result.built.info.inAppId = id;
						data.id = id;
						data.expiresAt = new Date(
							Date.now() + Number(result.built.info.inAppExpiresHours ?? 72) * 3_600_000,
						).toISOString();
					}
					round.push({
						pd,
						channel,
						built: result.built,
						key,
						fromGuard,
						info: (result.built.kind === 'http'
							? result.built.info
							: result.built.kind === 'fcm'
								? result.built.info
								: undefined) as IDataObject | undefined,
					});
				}

				// The consent policy, applied to every touch that Consent Guard did not reserve.
				const now = Date.now();
				const guarded = round.filter((r) => r.fromGuard);
				const touches = await store.getTouches(guarded.map((r) => r.key));
				// A guard's touch that failed earlier is reserved again by the gate (under the caps).
				const toGate = round.filter(
					(r) => !r.fromGuard || !touches.has(r.key) || touches.get(r.key)!.status === 'failed',
				);
				const gateRequests: GateRequest[] = toGate.map((r) => ({
					contact: r.pd.contact,
					channel: r.channel,
					purpose,
					campaign: p.campaign(r.pd.i) || undefined,
					idempotencyKey: r.key,
					reserve: true,
					addressOwned: r.pd.person.owns(channelBookAddress(r.pd.contact, r.channel)),
					messageKind:
						r.channel === 'whatsapp' &&
						r.built.kind === 'http' &&
						(r.built.request.json as IDataObject).type === 'template'
							? 'template'
							: r.built.kind === 'http' &&
								  (r.built.request.json as IDataObject | undefined)?.messaging_type ===
										'MESSAGE_TAG'
								? 'tagged'
								: 'free-form',
				}));
				const decisions = gateRequests.length
					? await checkBatch(store, gateRequests, { ...policy, now })
					: [];
				// Campaign reports count who was blocked and why (not for a preview).
				const blockedCounts = dryRun
					? []
					: decisions.flatMap((d, j) =>
							d.allowed
								? []
								: [
										{
											campaign: gateRequests[j].campaign,
											channel: gateRequests[j].channel,
											reason: String(d.reason),
											at: now,
										},
									],
						);
				if (blockedCounts.length) await store.countBlocked(blockedCounts);
				const ready: Array<(typeof round)[number] & { newlyReserved: boolean }> = [];
				toGate.forEach((r, j) => {
					const d = decisions[j];
					if (!d.allowed) {
						advance(r.pd, {
							channel: r.channel,
							reason: d.reason,
							message: d.message,
							retryAt: d.retryAt ?? null,
						});
						return;
					}
					if (d.deduplicated && d.previousStatus === 'sent') {
						sent.push({
							json: {
								...items[r.pd.i].json,
								touchpoint: {
									status: 'sent',
									channel: r.channel,
									idempotencyKey: r.key,
									deduplicated: true,
								},
							},
							pairedItem: { item: r.pd.i },
						});
						return;
					}
					ready.push({ ...r, newlyReserved: !d.deduplicated });
				});
				// A reservation is trusted only for the touch it was made for, and only while the person
				// still stands where they stood: a STOP, suppression or erasure since then blocks the send.
				const reservedEarlier = guarded
					.filter((g) => touches.has(g.key) && touches.get(g.key)!.status !== 'failed')
					.filter((r) => {
						const t = touches.get(r.key)!;
						if (t.contactId === r.pd.contact.id && t.channel === r.channel && t.purpose === purpose)
							return true;
						notSentItem(r.pd, {
							channel: r.channel,
							reason: 'RESERVATION_MISMATCH',
							idempotencyKey: r.key,
							message: `The Consent Guard reservation ${r.key} was made for contact ${t.contactId} on ${t.channel} (${t.purpose}), not for contact ${r.pd.contact.id} on ${r.channel} (${purpose}): not sent. Check that the items reaching Touchpoint are the ones Consent Guard checked.`,
						});
						return false;
					});
				const standing = await recheckStanding(
					store,
					reservedEarlier.map((r) => ({
						contact: r.pd.contact,
						channel: r.channel,
						purpose,
						addressOwned: r.pd.person.owns(channelBookAddress(r.pd.contact, r.channel)),
					})),
					{ ...policy, now },
				);
				const stillAllowed: typeof reservedEarlier = [];
				for (const [j, r] of reservedEarlier.entries()) {
					const d = standing[j];
					if (d.allowed) {
						stillAllowed.push(r);
						continue;
					}
					// The reservation no longer stands: free its place under the caps.
					if (touches.get(r.key)!.status === 'reserved') await store.releaseTouches([r.key]);
					advance(r.pd, {
						channel: r.channel,
						reason: d.reason,
						message: d.message,
						retryAt: d.retryAt ?? null,
					});
				}
				for (const r of stillAllowed) {
					if (touches.get(r.key)!.status === 'sent') {
						sent.push({
							json: {
								...items[r.pd.i].json,
								touchpoint: {
									status: 'sent',
									channel: r.channel,
									idempotencyKey: r.key,
									deduplicated: true,
									providerMessageId: touches.get(r.key)!.providerMessageId ?? null,
								},
							},
							pairedItem: { item: r.pd.i },
						});
					} else ready.push({ ...r, newlyReserved: false });
				}

				// A tracked link works from the moment a message carries it (a preview's too).
				const links = ready.flatMap((r) => newLinks.get(linksOf(r.pd.i, r.channel)) ?? []);
				if (links.length) await store.saveTrackedLinks(links);
				newLinks.clear();
				if (dryRun) {
					// Nothing is sent, so nothing holds a place under the caps: neither this node's
					// reservation nor Consent Guard's (a preview run twice must not cap the person).
					await store.releaseTouches(
						ready
							.filter((r) => r.newlyReserved || touches.get(r.key)?.status === 'reserved')
							.map((r) => r.key),
					);
					for (const r of ready) {
						const preview = builtPreview(r.built);
						const placeholder = (await credsFor(r.channel))?.placeholder === true;
						// An email is also attached as a page, so n8n's binary view shows it rendered.
						const binary =
							r.built.kind === 'email'
								? {
										preview: await this.helpers.prepareBinaryData(
											Buffer.from(emailPreviewHtml(r.built.email), 'utf8'),
											'email-preview.html',
											'text/html',
										),
									}
								: undefined;
						previews.push({
							json: {
								...items[r.pd.i].json,
								touchpoint: {
									status: 'dry_run',
									channel: r.channel,
									idempotencyKey: r.key,
									...(placeholder
										? { credential: `not set: ${CREDENTIAL_LABEL[CREDENTIAL_OF[r.channel]]}` }
										: {}),
									...preview,
									...(r.info ?? {}),
								} as IDataObject,
							},
							...(binary ? { binary } : {}),
							pairedItem: { item: r.pd.i },
						});
					}
					pending = next;
					continue;
				}

				// Two items of this batch with one key are one message: the first is sent, the others
				// share its outcome (deduplicated), never a second request.
				const dupes: Array<(typeof ready)[number]> = [];
				const unique = ready.filter((r) => {
					if (firstOfKey.has(r.key)) {
						dupes.push(r);
						return false;
					}
					firstOfKey.set(r.key, {
						i: r.pd.i,
						sent: new Promise<boolean>((resolve) => settle.push(resolve)),
					});
					return true;
				});
				endTurn();
				// Each message is claimed just before it is sent: of several executions holding one key
				// (queue-mode workers, a retried execution) exactly one sends, and a claim left by one that
				// stopped mid-send is never sent again (the contact may have it). Its outcome is kept as soon
				// as the provider answers, so a run that stops midway leaves only the messages in flight
				// undecided: the ones sent are in the send log, the rest stay reserved for a re-run to send.
				// A store error stops the run (no message starts after it), but what the provider already
				// answered is reported as it went: a message it took is on Sent even if its outcome could
				// not be written (its claim keeps a re-run from sending it again).
				const attempts = await inFlight.map(
					unique,
					async (r): Promise<{ claim?: ClaimResult; outcome?: SendOutcome }> => {
						if (stopped) return {};
						let claim: ClaimResult | undefined;
						let outcome: SendOutcome | undefined;
						try {
							claim = (await store.claimTouches([r.key])).get(r.key);
							if (claim !== 'claimed' && claim !== 'missing') return { claim };
							outcome = await send(
								this,
								r.channel,
								r.built,
								(await credsFor(r.channel))!,
								maxRetries,
								limiter,
								mediaIds,
								deadlineMs,
							);
							if (outcome.ok)
								await store.completeTouch(r.key, {
									status: 'sent',
									providerMessageId: outcome.providerMessageId,
									variant: String(p.variant(r.pd.i) ?? '').trim() || undefined,
								});
							else
								await store.completeTouch(r.key, {
									status: outcome.error.reason === 'UNKNOWN_OUTCOME' ? 'unknown' : 'failed',
									errorCode: outcome.error.code,
									errorMessage: outcome.error.message,
									variant: String(p.variant(r.pd.i) ?? '').trim() || undefined,
								});
						} catch (error) {
							stopped = true;
							firstError ??= error;
						}
						return { claim, outcome };
					},
				);
				const sentKeys = new Set<string>();
				const claimed: typeof unique = [];
				const outcomes: SendOutcome[] = [];
				unique.forEach((r, k) => {
					const { claim: c, outcome } = attempts[k];
					// Not attempted, or stopped before the provider answered: left to the error (failClosed).
					if (!outcome && (c === undefined || c === 'claimed' || c === 'missing')) return;
					if (outcome) {
						claimed.push(r);
						outcomes.push(outcome);
					} else if (c === 'sent') {
						sentKeys.add(r.key);
						sent.push({
							json: {
								...items[r.pd.i].json,
								touchpoint: {
									status: 'sent',
									channel: r.channel,
									idempotencyKey: r.key,
									deduplicated: true,
								},
							},
							pairedItem: { item: r.pd.i },
						});
					} else if (c === 'unknown') {
						notSentItem(r.pd, {
							channel: r.channel,
							status: 'unknown',
							reason: 'UNKNOWN_OUTCOME',
							idempotencyKey: r.key,
							message: `An earlier attempt at this message (idempotency key ${r.key}) ended without a clear answer from the provider, so it may have arrived. It is not sent again; check the provider's message log.`,
						});
					} else {
						notSentItem(r.pd, {
							channel: r.channel,
							reason: 'SEND_IN_PROGRESS',
							idempotencyKey: r.key,
							message: `Another execution claimed this message (idempotency key ${r.key}) and is sending it, or stopped while sending it. It is not sent again, so the contact never gets it twice.`,
						});
					}
				});
				let fatal: { r: (typeof claimed)[number]; error: ProviderError } | undefined;
				for (let k = 0; k < claimed.length; k++) {
					const r = claimed[k];
					const o = outcomes[k];
					if (o.ok) {
						sentKeys.add(r.key);
						const variant = String(p.variant(r.pd.i) ?? '').trim() || undefined;
						sent.push({
							json: {
								...items[r.pd.i].json,
								touchpoint: {
									status: 'sent',
									channel: r.channel,
									providerMessageId: o.providerMessageId,
									idempotencyKey: r.key,
									deduplicated: false,
									attempts: o.attempts,
									...(variant ? { variant } : {}),
									addressLinked: r.pd.person.owns(channelBookAddress(r.pd.contact, r.channel)),
									...(r.info ?? {}),
								} as IDataObject,
							},
							pairedItem: { item: r.pd.i },
						});
					} else {
						const unknown = o.error.reason === 'UNKNOWN_OUTCOME';
						if (FATAL.has(String(o.error.reason))) fatal ??= { r, error: o.error };
						const info = {
							channel: r.channel,
							reason: o.error.reason ?? 'PROVIDER_ERROR',
							message: o.error.message,
							providerError: { code: o.error.code, httpStatus: o.error.httpStatus ?? null },
							attempts: o.attempts,
							idempotencyKey: r.key,
							...(unknown ? { status: 'unknown' } : {}),
						};
						// An unknown outcome never falls through to another channel: the person may have it.
						if (!unknown && r.pd.candidates.length > 1 && FALL_THROUGH.has(String(o.error.reason)))
							advance(r.pd, info);
						else
							notSentItem(
								r.pd,
								r.pd.reasons.length ? { ...info, tried: [...r.pd.reasons, info] } : info,
							);
					}
				}
				unique.forEach((r, k) => settle[k](sentKeys.has(r.key)));
				// The store is written once every answer is placed, so a store error here still reports
				// what went. An opt-out the provider reports in its answer (Twilio 21610, WhatsApp 131050)
				// is kept, so the next Check blocks it without asking the provider again.
				await recordProviderOptOuts(
					store,
					claimed.flatMap((r, k) => {
						const o = outcomes[k];
						return !o.ok && o.error.reason === 'UNSUBSCRIBED'
							? [
									{
										contactId: r.pd.contact.id,
										channel: r.channel,
										address: channelBookAddress(r.pd.contact, r.channel)?.value,
										code: o.error.code,
									},
								]
							: [];
					}),
				);
				// The in-app messages that went are kept in the person's in-app inbox, in one write.
				const sentAt = Date.now();
				await store.addInAppMessages(
					claimed.flatMap((r, k) => {
						if (!outcomes[k].ok || r.built.kind !== 'fcm' || !r.built.info.inAppId) return [];
						const data = r.built.message.data as Record<string, string>;
						return [
							{
								id: r.built.info.inAppId,
								contactId: r.pd.contact.id,
								campaign: p.campaign(r.pd.i) || undefined,
								title: data.title,
								body: data.body,
								imageUrl: data.imageUrl,
								ctaLabel: data.ctaLabel,
								ctaUrl: data.ctaUrl,
								createdAt: sentAt,
								expiresAt: Date.parse(data.expiresAt),
							},
						];
					}),
				);
				for (const r of dupes) {
					const first = firstOfKey.get(r.key)!;
					if (await first.sent) {
						sent.push({
							json: {
								...items[r.pd.i].json,
								touchpoint: {
									status: 'sent',
									channel: r.channel,
									idempotencyKey: r.key,
									deduplicated: true,
									duplicateOfItem: first.i,
								},
							},
							pairedItem: { item: r.pd.i },
						});
					} else {
						notSentItem(r.pd, {
							channel: r.channel,
							reason: 'DUPLICATE_IN_BATCH',
							idempotencyKey: r.key,
							duplicateOfItem: first.i,
							message: `Item ${first.i} of this batch carries the same message (idempotency key ${r.key}) and was not sent, so neither is this one.`,
						});
					}
				}
				// A broken credential or sender fails every item: the node fails (n8n's Error Workflow
				// runs) unless continue-on-fail is on, where each item is on Not Sent with the reason.
				if (fatal && !this.continueOnFail()) {
					const { r, error } = fatal;
					throw new NodeApiError(node, { code: error.code, message: error.message } as JsonObject, {
						itemIndex: r.pd.i,
						httpCode: error.httpStatus ? String(error.httpStatus) : undefined,
						message: `${r.channel} provider refused the credential or sender (${error.code}): ${error.message}`,
						description:
							'Nothing more is sent until the credential is fixed. Check the access token, account and sender (phone number ID, From, Messaging Service) in the credential.',
					});
				}
				pending = next;
			} finally {
				endTurn();
				// A message this wave never got to tells the items waiting on it that it was not sent.
				for (const done of settle) done(false);
			}
		}
	};

	await Promise.all(
		waves.map(async (_, w) => {
			try {
				await runWave(w);
			} catch (error) {
				// Nothing more starts: the items not placed yet are the error's (failClosed).
				stopped = true;
				firstError ??= error;
			}
		}),
	);
	for (const out of waveOut) {
		for (const item of out.sent) sent.push(item);
		for (const item of out.notSent) notSent.push(item);
		for (const item of out.previews) previews.push(item);
	}
	if (firstError !== undefined) throw asNodeError(node, firstError);
}
