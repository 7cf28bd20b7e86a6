/**
 * Provider requests, built exactly as each API documents them, from one channel-neutral message.
 * Pure: the transport sends what these return; Dry Run returns them.
 */
import { createHash } from 'node:crypto';

import { convert } from 'html-to-text';

import type { Channel } from '../contact';
import { checkSms, checkText, payloadBytes, TEXT_LIMITS, WHATSAPP_MEDIA } from './limits';
import { smsInfo } from './sms';
import type { Violation } from './violations';
import { inAppData, type InAppPayload } from './in-app';

export interface OutboundMessage {
	channel: Channel;
	/** Channel address: E.164 phone, PSID, IGSID, FCM token or topic, e-mail. */
	to: string;
	purpose: string;
	text?: string;
	/** WhatsApp */
	whatsappType?:
		| 'text'
		| 'template'
		| 'image'
		| 'document'
		| 'audio'
		| 'video'
		| 'location'
		| 'contacts';
	templateName?: string;
	templateLanguage?: string;
	templateBodyParameters?: string[];
	/** Every component of the template message (whatsapp-templates.ts); replaces the body parameters. */
	templateComponents?: Array<Record<string, unknown>>;
	mediaUrl?: string;
	/** WhatsApp media already uploaded to Meta (its media ID) */
	mediaId?: string;
	/** WhatsApp media from n8n binary data: uploaded to Meta when the message is sent */
	mediaUpload?: MediaFile;
	caption?: string;
	filename?: string;
	/** Messenger / Instagram */
	messagingType?: 'RESPONSE' | 'UPDATE' | 'MESSAGE_TAG';
	quickReplies?: string[];
	/**
	 * Answers the person can pick (e.g. a Conversational Form question's): WhatsApp reply buttons
	 * or a list, Messenger / Instagram quick replies (payload = id), numbered lines in an SMS.
	 */
	choices?: Choice[];
	/** WhatsApp list messages: the text of the button that opens the list. */
	listButton?: string;
	/** WhatsApp location */
	location?: { latitude: number; longitude: number; name?: string; address?: string };
	/** WhatsApp contacts (contact cards) */
	contacts?: ContactCard[];
	/** SMS: MMS media (up to 10 public URLs) */
	mediaUrls?: string[];
	maxSegments?: number;
	statusCallback?: string;
	/** Email: more recipients (transactional only) and files */
	cc?: string[];
	bcc?: string[];
	attachments?: Array<{ filename: string; contentType: string; content: Buffer }>;
	/** Push */
	/** An in-app message instead of a notification: FCM data only, the app shows it. */
	inApp?: { id: string; payload: InAppPayload; inboxToken: string; expiresHours: number };
	title?: string;
	imageUrl?: string;
	data?: Record<string, string>;
	topic?: string;
	/** Email */
	subject?: string;
	html?: string;
	from?: string;
	replyTo?: string;
	unsubscribeUrl?: string;
	unsubscribeMailto?: string;
	postalAddress?: string;
}

export interface MediaFile {
	filename: string;
	mimeType: string;
	content: Buffer;
}

/** A contact card as WhatsApp's contacts message carries it. */
export interface ContactCard {
	formattedName: string;
	firstName?: string;
	lastName?: string;
	phone?: string;
	email?: string;
	company?: string;
	url?: string;
}

/**
 * A file to upload to the WhatsApp Cloud API's media endpoint before the message that uses it;
 * the message's `<type>.id` is the id the upload returns.
 */
export interface MediaUploadSpec {
	path: string;
	/** The message's media object that takes the id (image, audio, video, document). */
	field: string;
	filename: string;
	mimeType: string;
	bytes: number;
	sha256: string;
	content: Buffer;
}

export interface HttpRequestSpec {
	method: 'POST';
	/** Relative to the credential's base URL. */
	path: string;
	json?: Record<string, unknown>;
	/** Form fields; a list is sent as the field repeated (Twilio's MediaUrl). */
	form?: Record<string, string | string[]>;
}

export interface EmailSpec {
	from: string;
	to: string;
	replyTo?: string;
	cc?: string[];
	bcc?: string[];
	attachments?: Array<{ filename: string; contentType: string; content: Buffer }>;
	subject: string;
	text: string;
	html?: string;
	headers: Record<string, string>;
}

/** One page showing an email as the person would see it: the envelope, then the HTML body (or the text part). */
export function emailPreviewHtml(email: EmailSpec): string {
	const row = (name: string, value: string) =>
		`<tr><th style="text-align:left;padding-right:12px">${name}</th><td>${escapeHtml(value)}</td></tr>`;
	const envelope = `<table style="font:13px sans-serif;color:#444;border-bottom:1px solid #ddd;margin-bottom:12px;padding-bottom:8px">${row('From', email.from)}${row('To', email.to)}${row('Subject', email.subject)}</table>`;
	const body =
		email.html ??
		`<pre style="white-space:pre-wrap;font:14px sans-serif">${escapeHtml(email.text)}</pre>`;
	return `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(email.subject)}</title></head><body>${envelope}${body}</body></html>`;
}

export type BuiltRequest =
	| {
			kind: 'http';
			request: HttpRequestSpec;
			info?: Record<string, unknown>;
			upload?: MediaUploadSpec;
	  }
	| {
			kind: 'fcm';
			message: Record<string, unknown>;
			info: { payloadBytes: number; inAppId?: string; inAppExpiresHours?: number };
	  }
	| { kind: 'email'; email: EmailSpec };

export interface BuildContext {
	apiVersion: string;
	phoneNumberId?: string;
	accountSid?: string;
	smsFrom?: string;
	messagingServiceSid?: string;
	emailFrom?: string;
}

export type BuildResult =
	| { ok: true; built: BuiltRequest }
	| { ok: false; violations: Violation[] };

/**
 * What a built message is, as text for its idempotency key: file contents (attachments, uploads)
 * stand as their SHA-256, so a 5 MB file is not turned into JSON for every recipient.
 */
export function builtFingerprint(built: BuiltRequest): string {
	return JSON.stringify(
		built,
		function (this: Record<string, unknown>, key: string, value: unknown) {
			const original = key === '' ? value : this[key];
			return Buffer.isBuffer(original)
				? `sha256:${createHash('sha256').update(original).digest('hex')}`
				: value;
		},
	);
}

/** What a Dry Run shows of a built message: the request, and a file to upload by name, type and size. */
export function builtPreview(built: BuiltRequest): Record<string, unknown> {
	if (built.kind === 'email')
		return {
			email: {
				...built.email,
				...(built.email.attachments
					? {
							attachments: built.email.attachments.map((a) => ({
								filename: a.filename,
								contentType: a.contentType,
								bytes: a.content.length,
							})),
						}
					: {}),
			},
		};
	if (built.kind === 'fcm') return { message: built.message };
	if (!built.upload) return { request: built.request };
	const { path, field, filename, mimeType, bytes, sha256 } = built.upload;
	return { request: built.request, upload: { path, field, filename, mimeType, bytes, sha256 } };
}

/** A WhatsApp contacts message's cards, in the shape Meta documents; violations name the card. */
function whatsappContacts(
	cards: ContactCard[],
): { contacts: Array<Record<string, unknown>> } | { violations: Violation[] } {
	if (!cards.length)
		return {
			violations: [
				{
					code: 'NO_CONTACTS',
					field: 'contacts',
					message: 'Contact Cards is empty: add at least one card with a Formatted Name',
				},
			],
		};
	const violations: Violation[] = [];
	const contacts = cards.map((c, k) => {
		if (!c.formattedName?.trim())
			violations.push({
				code: 'NO_CONTACT_NAME',
				field: 'contacts',
				message: `Contact card ${k + 1} has no Formatted Name (WhatsApp requires one)`,
			});
		if (!c.phone?.trim() && !c.email?.trim())
			violations.push({
				code: 'EMPTY_CONTACT',
				field: 'contacts',
				message: `Contact card ${k + 1} ("${(c.formattedName ?? '').slice(0, 40)}") has neither a phone nor an email`,
			});
		const phone = c.phone?.trim();
		const digits = phone ? phone.replace(/[^\d]/g, '') : '';
		return {
			name: {
				formatted_name: c.formattedName?.trim(),
				...(c.firstName ? { first_name: c.firstName } : {}),
				...(c.lastName ? { last_name: c.lastName } : {}),
			},
			...(phone
				? {
						phones: [
							{
								phone,
								type: 'WORK',
								...(phone.startsWith('+') && digits.length >= 7 ? { wa_id: digits } : {}),
							},
						],
					}
				: {}),
			...(c.email?.trim() ? { emails: [{ email: c.email.trim(), type: 'WORK' }] } : {}),
			...(c.company ? { org: { company: c.company } } : {}),
			...(c.url ? { urls: [{ url: c.url, type: 'WORK' }] } : {}),
		};
	});
	return violations.length ? { violations } : { contacts };
}

/** A file for a WhatsApp media message, checked against Meta's types and sizes for that kind. */
function mediaFileProblems(type: keyof typeof WHATSAPP_MEDIA, file: MediaFile): Violation[] {
	const rule = WHATSAPP_MEDIA[type];
	const mime = file.mimeType.split(';')[0].trim().toLowerCase();
	const out: Violation[] = [];
	if (!(rule.types as readonly string[]).includes(mime))
		out.push({
			code: 'MEDIA_TYPE_NOT_SUPPORTED',
			field: 'binaryPropertyName',
			message: `"${file.filename}" is ${mime || 'of unknown type'}; a WhatsApp ${type} must be ${rule.types.join(', ')}`,
		});
	if (file.content.length > rule.maxBytes)
		out.push({
			code: 'MEDIA_TOO_LARGE',
			field: 'binaryPropertyName',
			message: `"${file.filename}" is ${(file.content.length / 1048576).toFixed(1)} MB; a WhatsApp ${type} may be at most ${rule.maxBytes / 1048576} MB`,
		});
	if (file.content.length === 0)
		out.push({
			code: 'MEDIA_EMPTY',
			field: 'binaryPropertyName',
			message: `"${file.filename}" is empty`,
		});
	return out;
}

/**
 * The plain-text part derived from the HTML (the maintained converter n8n's own nodes use):
 * entities decoded, links kept as "text [url]", images and scripts left out, no hard wrapping.
 */
export function emailTextFromHtml(html: string): string {
	return convert(html, {
		wordwrap: false,
		selectors: [
			{ selector: 'a', options: { hideLinkHrefIfSameAsText: true, ignoreHref: false } },
			{ selector: 'img', format: 'skip' },
			{ selector: 'h1', options: { uppercase: false } },
			{ selector: 'h2', options: { uppercase: false } },
			{ selector: 'h3', options: { uppercase: false } },
		],
	}).trim();
}

/** Text placed into HTML (element content or a quoted attribute). */
export function escapeHtml(text: string): string {
	return text.replace(
		/[&<>"']/g,
		(c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
	);
}

/**
 * An absolute URL with one of the allowed schemes, normalised (percent-encoded); undefined when
 * it is not one, or holds characters that could break out of a header or an attribute.
 */
export function safeUrl(raw: string, schemes: string[] = ['https:', 'http:']): string | undefined {
	if (typeof raw !== 'string' || raw.length > 2048 || /[\s<>"'`\\]/.test(raw)) return undefined;
	try {
		const u = new URL(raw);
		return schemes.includes(u.protocol) ? u.href : undefined;
	} catch {
		return undefined;
	}
}

/** Links in an email body whose scheme is not http(s), mailto or tel (javascript:, data:...). */
function unsafeLinks(html: string): string[] {
	const bad: string[] = [];
	for (const m of html.matchAll(/\b(?:href|src)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))/gi)) {
		const value = (m[1] ?? m[2] ?? m[3] ?? '').trim().replace(/&amp;/g, '&');
		if (value === '' || value.startsWith('#') || value.startsWith('cid:')) continue;
		if (!/^(https?:|mailto:|tel:)/i.test(value)) bad.push(value.slice(0, 60));
	}
	return bad;
}

export interface Choice {
	id: string;
	title: string;
}

/**
 * Choices as a parameter gives them: a list of { id, title } (Conversational Form's `reply.choices`;
 * `label` is taken for `title`) or of titles, that list as JSON text, or comma-separated
 * `id:Title` / `Title`. Throws an Error naming what is wrong.
 */
export function parseChoices(value: unknown): Choice[] {
	if (value === undefined || value === null || value === '') return [];
	let list: unknown = value;
	if (typeof value === 'string') {
		const text = value.trim();
		list = text.startsWith('[')
			? JSON.parse(text)
			: text
					.split(',')
					.map((part) => part.trim())
					.filter(Boolean)
					.map((part) => {
						const colon = part.indexOf(':');
						return colon > 0
							? { id: part.slice(0, colon).trim(), title: part.slice(colon + 1).trim() }
							: part;
					});
	}
	if (!Array.isArray(list))
		throw new Error(`Choices must be a list, not ${JSON.stringify(value).slice(0, 60)}`);
	return list.map((c, k) => {
		if (typeof c === 'string' || typeof c === 'number') return { id: String(c), title: String(c) };
		const o = (c ?? {}) as Record<string, unknown>;
		const title = o.title ?? o.label;
		if (title === undefined || title === null || title === '')
			throw new Error(`Choice ${k + 1} has no title (give { id, title })`);
		return { id: String(o.id ?? title), title: String(title) };
	});
}

/** The choices as numbered lines under the text: what a channel without buttons shows (a number is a valid answer). */
export function numberedChoices(text: string, choices: Choice[]): string {
	return `${text}\n${choices.map((c, i) => `${i + 1}. ${c.title}`).join('\n')}`;
}

/**
 * A WhatsApp free-form message with choices: reply buttons (up to 3, 20 characters), else a list
 * (up to 10 rows, 24 characters), else the choices numbered in a text message.
 */
function whatsappChoices(
	text: string,
	choices: Choice[],
	listButton: string,
): { json: Record<string, unknown> } | { violations: Violation[] } {
	const L = TEXT_LIMITS;
	const len = (s: string) => [...s].length;
	const violations: Violation[] = [];
	if (!text.trim())
		violations.push({ code: 'EMPTY_TEXT', field: 'text', message: 'The message text is empty' });
	const ids = new Set<string>();
	for (const c of choices) {
		if (!c.id || len(c.id) > L.whatsappReplyId)
			violations.push({
				code: 'BAD_CHOICE_ID',
				field: 'choices',
				message: `Choice "${c.title.slice(0, 30)}" needs an id of 1 to ${L.whatsappReplyId} characters`,
			});
		if (ids.has(c.id))
			violations.push({
				code: 'DUPLICATE_CHOICE',
				field: 'choices',
				message: `Two choices have the id "${c.id.slice(0, 40)}"`,
			});
		ids.add(c.id);
		if (!c.title.trim())
			violations.push({
				code: 'EMPTY_CHOICE',
				field: 'choices',
				message: `Choice "${c.id.slice(0, 40)}" has no title`,
			});
	}
	if (violations.length) return { violations };
	const fits = (max: number) => choices.every((c) => len(c.title) <= max);
	if (
		(choices.length <= L.whatsappButtons && fits(L.whatsappButtonTitle)) ||
		(choices.length <= L.whatsappListRows && fits(L.whatsappListRowTitle))
	) {
		if (len(text) > L.whatsappInteractiveBody)
			return {
				violations: [
					{
						code: 'TEXT_TOO_LONG',
						field: 'text',
						message: `The text is ${len(text)} characters; a WhatsApp message with buttons or a list allows ${L.whatsappInteractiveBody}`,
					},
				],
			};
	}
	if (choices.length <= L.whatsappButtons && fits(L.whatsappButtonTitle)) {
		return {
			json: {
				type: 'interactive',
				interactive: {
					type: 'button',
					body: { text },
					action: {
						buttons: choices.map((c) => ({ type: 'reply', reply: { id: c.id, title: c.title } })),
					},
				},
			},
		};
	}
	if (choices.length <= L.whatsappListRows && fits(L.whatsappListRowTitle)) {
		const button = listButton.trim() || 'Choose';
		if (len(button) > L.whatsappListButton)
			return {
				violations: [
					{
						code: 'LIST_BUTTON_TOO_LONG',
						field: 'listButton',
						message: `List Button Text "${button}" is longer than ${L.whatsappListButton} characters`,
					},
				],
			};
		return {
			json: {
				type: 'interactive',
				interactive: {
					type: 'list',
					body: { text },
					action: {
						button,
						sections: [{ rows: choices.map((c) => ({ id: c.id, title: c.title })) }],
					},
				},
			},
		};
	}
	const numbered = numberedChoices(text, choices);
	const v = checkText('whatsapp', numbered);
	return v.length
		? { violations: v }
		: { json: { type: 'text', text: { preview_url: false, body: numbered } } };
}

export function buildRequest(m: OutboundMessage, ctx: BuildContext): BuildResult {
	const fail = (violations: Violation[]): BuildResult => ({ ok: false, violations });
	switch (m.channel) {
		case 'whatsapp': {
			const type = m.whatsappType ?? 'text';
			const to = m.to.replace(/^\+/, '');
			const base = { messaging_product: 'whatsapp', recipient_type: 'individual', to };
			let json: Record<string, unknown>;
			if (type === 'text' && m.choices?.length) {
				const built = whatsappChoices(m.text ?? '', m.choices, m.listButton ?? '');
				if ('violations' in built) return fail(built.violations);
				json = { ...base, ...built.json };
			} else if (type === 'text') {
				const v = checkText('whatsapp', m.text ?? '');
				if (v.length) return fail(v);
				json = {
					...base,
					type: 'text',
					text: { preview_url: /https?:\/\//.test(m.text ?? ''), body: m.text },
				};
			} else if (type === 'template') {
				if (!m.templateName)
					return fail([
						{
							code: 'NO_TEMPLATE',
							field: 'templateName',
							message: 'Template Name is empty: use the name of an approved template',
						},
					]);
				const params = m.templateBodyParameters ?? [];
				const bodyChars = params.join('').length;
				if (bodyChars > TEXT_LIMITS.whatsappTemplateBody)
					return fail([
						{
							code: 'TEMPLATE_TOO_LONG',
							field: 'templateBodyParameters',
							message: `Template parameters total ${bodyChars} characters; a template body allows ${TEXT_LIMITS.whatsappTemplateBody}`,
						},
					]);
				json = {
					...base,
					type: 'template',
					template: {
						name: m.templateName,
						language: { code: m.templateLanguage || 'en' },
						...(m.templateComponents?.length
							? { components: m.templateComponents }
							: params.length
								? {
										components: [
											{ type: 'body', parameters: params.map((text) => ({ type: 'text', text })) },
										],
									}
								: {}),
					},
				};
			} else if (type === 'location') {
				const loc = m.location;
				if (!loc || !(Math.abs(loc.latitude) <= 90) || !(Math.abs(loc.longitude) <= 180))
					return fail([
						{
							code: 'BAD_LOCATION',
							field: 'location',
							message: `Latitude and longitude must be numbers within ±90 and ±180 (got ${JSON.stringify(loc ?? null)})`,
						},
					]);
				json = {
					...base,
					type: 'location',
					location: {
						latitude: loc.latitude,
						longitude: loc.longitude,
						...(loc.name ? { name: loc.name } : {}),
						...(loc.address ? { address: loc.address } : {}),
					},
				};
			} else if (type === 'contacts') {
				const built = whatsappContacts(m.contacts ?? []);
				if ('violations' in built) return fail(built.violations);
				json = { ...base, type: 'contacts', contacts: built.contacts };
			} else {
				// A file by public link, by the id of media uploaded earlier, or uploaded from binary data at send time.
				let media: Record<string, string>;
				let upload: MediaUploadSpec | undefined;
				if (m.mediaUpload) {
					const problems = mediaFileProblems(type, m.mediaUpload);
					if (problems.length) return fail(problems);
					const f = m.mediaUpload;
					upload = {
						path: `/${ctx.apiVersion}/${ctx.phoneNumberId}/media`,
						field: type,
						filename: f.filename,
						mimeType: f.mimeType.split(';')[0].trim().toLowerCase(),
						bytes: f.content.length,
						sha256: createHash('sha256').update(f.content).digest('hex'),
						content: f.content,
					};
					media = { id: '' };
				} else if (m.mediaId?.trim()) {
					if (!/^\d{1,32}$/.test(m.mediaId.trim()))
						return fail([
							{
								code: 'BAD_MEDIA_ID',
								field: 'mediaId',
								message: `Media ID "${m.mediaId.slice(0, 40)}" is not a WhatsApp media ID (digits, as the media upload returns)`,
							},
						]);
					media = { id: m.mediaId.trim() };
				} else {
					if (!m.mediaUrl)
						return fail([{ code: 'NO_MEDIA', field: 'mediaUrl', message: 'Media URL is empty' }]);
					const link = safeUrl(m.mediaUrl, ['https:', 'http:']);
					if (!link)
						return fail([
							{
								code: 'BAD_MEDIA_URL',
								field: 'mediaUrl',
								message: `Media URL "${m.mediaUrl.slice(0, 80)}" is not a public http(s) URL`,
							},
						]);
					media = { link };
				}
				// Audio takes no caption on WhatsApp; a document may carry its file name.
				const filename = type === 'document' ? m.filename || m.mediaUpload?.filename : undefined;
				json = {
					...base,
					type,
					[type]: {
						...media,
						...(m.caption && type !== 'audio' ? { caption: m.caption } : {}),
						...(filename ? { filename } : {}),
					},
				};
				if (upload)
					return {
						ok: true,
						built: {
							kind: 'http',
							request: {
								method: 'POST',
								path: `/${ctx.apiVersion}/${ctx.phoneNumberId}/messages`,
								json,
							},
							upload,
						},
					};
			}
			return {
				ok: true,
				built: {
					kind: 'http',
					request: {
						method: 'POST',
						path: `/${ctx.apiVersion}/${ctx.phoneNumberId}/messages`,
						json,
					},
				},
			};
		}
		case 'messenger':
		case 'instagram': {
			const v = checkText(m.channel, m.text ?? '');
			// Choices become quick replies whose payload is the choice's id (what a form matches on).
			const replies = m.choices?.length ? m.choices.map((c) => c.title) : (m.quickReplies ?? []);
			const payloads = m.choices?.length
				? m.choices.map((c) => c.id)
				: replies.map((title) => title.toUpperCase().replace(/[^A-Z0-9]+/g, '_'));
			if (replies.length > TEXT_LIMITS.quickReplies)
				v.push({
					code: 'TOO_MANY_QUICK_REPLIES',
					field: 'quickReplies',
					message: `${replies.length} quick replies; at most ${TEXT_LIMITS.quickReplies}`,
				});
			for (const r of replies)
				if ([...r].length > TEXT_LIMITS.quickReplyTitle)
					v.push({
						code: 'QUICK_REPLY_TOO_LONG',
						field: 'quickReplies',
						message: `Quick reply "${r}" is longer than ${TEXT_LIMITS.quickReplyTitle} characters`,
					});
			const type = m.messagingType ?? 'RESPONSE';
			if (type === 'MESSAGE_TAG' && m.purpose === 'marketing')
				v.push({
					code: 'TAG_NOT_FOR_PROMOTION',
					field: 'messagingType',
					message:
						'Message tags never carry promotions: a marketing message outside the 24 h window cannot be sent',
				});
			if (v.length) return fail(v);
			const message: Record<string, unknown> = { text: m.text };
			if (replies.length)
				message.quick_replies = replies.map((title, k) => ({
					content_type: 'text',
					title,
					payload: payloads[k],
				}));
			const json: Record<string, unknown> = {
				recipient: { id: m.to },
				messaging_type: type,
				message,
			};
			if (type === 'MESSAGE_TAG') json.tag = 'HUMAN_AGENT';
			return {
				ok: true,
				built: {
					kind: 'http',
					request: { method: 'POST', path: `/${ctx.apiVersion}/me/messages`, json },
				},
			};
		}
		case 'sms': {
			if (m.choices?.length)
				return buildRequest(
					{ ...m, text: numberedChoices(m.text ?? '', m.choices), choices: undefined },
					ctx,
				);
			const v = checkSms(m.text ?? '', m.maxSegments ?? 0);
			if (!/^\+[1-9]\d{6,14}$/.test(m.to))
				v.push({
					code: 'INVALID_ADDRESS',
					field: 'to',
					message: `"${m.to}" is not an E.164 number`,
				});
			if (!ctx.smsFrom && !ctx.messagingServiceSid)
				v.push({
					code: 'NO_SENDER',
					field: 'from',
					message: 'The Twilio credential has neither a From number nor a Messaging Service SID',
				});
			if (v.length) return fail(v);
			const media = m.mediaUrls ?? [];
			if (media.length > 10)
				return fail([
					{
						code: 'TOO_MANY_MEDIA',
						field: 'mediaUrls',
						message: `${media.length} media URLs; an MMS carries at most 10`,
					},
				]);
			const badMedia = media.find((u) => !safeUrl(u, ['https:', 'http:']));
			if (badMedia !== undefined)
				return fail([
					{
						code: 'BAD_MEDIA_URL',
						field: 'mediaUrls',
						message: `Media URL "${badMedia.slice(0, 80)}" is not a public http(s) URL`,
					},
				]);
			const form: Record<string, string | string[]> = { To: m.to, Body: m.text! };
			if (ctx.messagingServiceSid) form.MessagingServiceSid = ctx.messagingServiceSid;
			else form.From = ctx.smsFrom!;
			if (media.length) form.MediaUrl = media;
			if (m.statusCallback) {
				const callback = safeUrl(m.statusCallback, ['https:', 'http:']);
				if (!callback)
					return fail([
						{
							code: 'BAD_STATUS_CALLBACK',
							field: 'statusCallback',
							message: `Status Callback URL "${m.statusCallback.slice(0, 80)}" is not an http(s) URL`,
						},
					]);
				form.StatusCallback = callback;
			}
			const info = smsInfo(m.text!);
			return {
				ok: true,
				built: {
					kind: 'http',
					request: {
						method: 'POST',
						path: `/2010-04-01/Accounts/${ctx.accountSid}/Messages.json`,
						form,
					},
					info: { encoding: info.encoding, segments: info.segments },
				},
			};
		}
		case 'push': {
			if (m.inApp) {
				// Data only (no notification): the app shows it in its own UI; a topic would reach people
				// whose consent was not checked, so an in-app message goes to the person's token only.
				const v: Violation[] = [];
				if (m.topic)
					v.push({
						code: 'IN_APP_TOPIC',
						field: 'pushTopic',
						message: "An in-app message goes to one person's app, not to a topic",
					});
				if (!m.inApp.payload.title.trim() && !m.inApp.payload.body.trim())
					v.push({
						code: 'EMPTY_IN_APP',
						field: 'title',
						message: 'An in-app message needs a title or a body',
					});
				if (m.inApp.payload.ctaUrl && !safeUrl(m.inApp.payload.ctaUrl, ['https:', 'http:']))
					v.push({
						code: 'BAD_CTA_URL',
						field: 'inAppCtaUrl',
						message: `Call to Action URL "${m.inApp.payload.ctaUrl.slice(0, 80)}" is not an http(s) URL`,
					});
				if (v.length) return fail(v);
				const message = {
					token: m.to,
					data: {
						...(m.data ?? {}),
						...inAppData(m.inApp.id, m.inApp.payload, m.inApp.inboxToken),
					},
					android: { priority: 'high' },
					apns: {
						headers: { 'apns-push-type': 'background', 'apns-priority': '5' },
						payload: { aps: { 'content-available': 1 } },
					},
				};
				const bytes = payloadBytes(message);
				if (bytes > TEXT_LIMITS.pushPayloadBytes)
					return fail([
						{
							code: 'PAYLOAD_TOO_LARGE',
							field: 'data',
							message: `The in-app message is ${bytes} bytes; FCM allows ${TEXT_LIMITS.pushPayloadBytes}`,
						},
					]);
				return {
					ok: true,
					built: {
						kind: 'fcm',
						message,
						info: {
							payloadBytes: bytes,
							inAppId: m.inApp.id,
							inAppExpiresHours: m.inApp.expiresHours,
						},
					},
				};
			}
			const message: Record<string, unknown> = m.topic ? { topic: m.topic } : { token: m.to };
			if (!m.title && !m.text)
				return fail([
					{ code: 'EMPTY_PUSH', field: 'title', message: 'A push needs a title or a body' },
				]);
			message.notification = {
				...(m.title ? { title: m.title } : {}),
				...(m.text ? { body: m.text } : {}),
				...(m.imageUrl ? { image: m.imageUrl } : {}),
			};
			if (m.data) {
				const bad = Object.entries(m.data).find(([, v]) => typeof v !== 'string');
				if (bad)
					return fail([
						{
							code: 'DATA_NOT_STRING',
							field: 'data',
							message: `Push data value "${bad[0]}" must be text`,
						},
					]);
				message.data = m.data;
			}
			const bytes = payloadBytes(message);
			if (bytes > TEXT_LIMITS.pushPayloadBytes)
				return fail([
					{
						code: 'PAYLOAD_TOO_LARGE',
						field: 'data',
						message: `The push payload is ${bytes} bytes; FCM allows ${TEXT_LIMITS.pushPayloadBytes}`,
					},
				]);
			return { ok: true, built: { kind: 'fcm', message, info: { payloadBytes: bytes } } };
		}
		case 'email': {
			const v: Violation[] = [];
			const from = m.from || ctx.emailFrom;
			if (!from) v.push({ code: 'NO_FROM', field: 'from', message: 'From Email is empty' });
			if (!m.subject) v.push({ code: 'NO_SUBJECT', field: 'subject', message: 'Subject is empty' });
			if (!m.html && !m.text)
				v.push({ code: 'EMPTY_EMAIL', field: 'text', message: 'The email has no body' });
			const headers: Record<string, string> = {};
			let text = m.text ?? emailTextFromHtml(m.html ?? '');
			let html = m.html;
			if (html) {
				const bad = unsafeLinks(html);
				if (bad.length)
					v.push({
						code: 'UNSAFE_LINK',
						field: 'html',
						message: `The email links to ${bad.map((b) => `"${b}"`).join(', ')}: only http(s), mailto and tel links are sent. Check the link fields (e.g. a cart URL from a webhook).`,
					});
			}
			// Copies go to people who gave no consent of their own: only on transactional email, the one
			// purpose that needs none (service and custom purposes are consented per person, like marketing).
			if ((m.cc?.length || m.bcc?.length) && m.purpose !== 'transactional')
				v.push({
					code: 'COPIES_NEED_CONSENT',
					field: 'cc',
					message: `CC and BCC are sent only on transactional email, not ${m.purpose}: each recipient needs their own consent (send them their own message)`,
				});
			for (const a of [...(m.cc ?? []), ...(m.bcc ?? [])])
				if (!/^[^\s<>@",;]+@[^\s<>@",;]+\.[^\s<>@",;]+$/.test(a))
					v.push({
						code: 'BAD_COPY_ADDRESS',
						field: 'cc',
						message: `"${a.slice(0, 80)}" in CC or BCC is not an email address`,
					});
			if (m.purpose === 'marketing') {
				// Normalised and checked: it goes into a header and an attribute, where a quote, a
				// bracket or a line break would break out.
				const unsubscribe = m.unsubscribeUrl ? safeUrl(m.unsubscribeUrl, ['https:']) : undefined;
				const mailto = m.unsubscribeMailto
					? m.unsubscribeMailto.replace(/^mailto:/, '')
					: undefined;
				if (!unsubscribe)
					v.push({
						code: 'NO_ONE_CLICK_UNSUBSCRIBE',
						field: 'unsubscribeUrl',
						message: m.unsubscribeUrl
							? `One-Click Unsubscribe URL "${m.unsubscribeUrl.slice(0, 80)}" is not a plain https URL (RFC 8058)`
							: 'Marketing email needs an https one-click unsubscribe URL (RFC 8058)',
					});
				if (mailto !== undefined && !/^[^\s<>@",;]+@[^\s<>@",;]+$/.test(mailto))
					v.push({
						code: 'BAD_UNSUBSCRIBE_MAILTO',
						field: 'unsubscribeMailto',
						message: `Unsubscribe Mailto "${mailto.slice(0, 80)}" is not an email address`,
					});
				if (!m.postalAddress)
					v.push({
						code: 'NO_POSTAL_ADDRESS',
						field: 'postalAddress',
						message: 'Marketing email needs a postal address in the footer (CAN-SPAM)',
					});
				if (unsubscribe) {
					headers['List-Unsubscribe'] = [
						`<${unsubscribe}>`,
						...(mailto ? [`<mailto:${mailto}>`] : []),
					].join(', ');
					headers['List-Unsubscribe-Post'] = 'List-Unsubscribe=One-Click';
				}
				if (m.postalAddress) {
					text = `${text}\n\n--\n${m.postalAddress}${unsubscribe ? `\nUnsubscribe: ${unsubscribe}` : ''}`;
					if (html)
						html = `${html}\n<p style="font-size:12px;color:#666">${escapeHtml(m.postalAddress)}${unsubscribe ? ` · <a href="${escapeHtml(unsubscribe)}">Unsubscribe</a>` : ''}</p>`;
				}
			}
			if (v.length) return fail(v);
			return {
				ok: true,
				built: {
					kind: 'email',
					email: {
						from: from!,
						to: m.to,
						...(m.replyTo ? { replyTo: m.replyTo } : {}),
						...(m.cc?.length ? { cc: m.cc } : {}),
						...(m.bcc?.length ? { bcc: m.bcc } : {}),
						...(m.attachments?.length ? { attachments: m.attachments } : {}),
						subject: m.subject!,
						text,
						...(html ? { html } : {}),
						headers,
					},
				},
			};
		}
	}
	return fail([
		{
			code: 'UNKNOWN_CHANNEL',
			field: 'channel',
			message: `Unknown channel "${String(m.channel)}"`,
		},
	]);
}
