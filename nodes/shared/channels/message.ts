/**
 * One channel-neutral message, the provider request each channel module builds from it, and the
 * interface every channel module has (registry.ts holds one per channel). Pure.
 */
import { createHash } from 'node:crypto';

import type { Channel } from '../contact';
import type { Choice } from './choices';
import type { ProviderError } from './errors';
import type { InAppPayload } from './in-app';
import type { Violation } from './violations';

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

/** The violations that stop a message from being built. */
export const fail = (violations: Violation[]): BuildResult => ({ ok: false, violations });

/** A provider's answer as parsed JSON, navigated by the shapes each provider documents. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type ProviderBody = Record<string, any> | undefined;

/**
 * A channel: how its request is built from a message (with the channel's rules checked first)
 * and what its provider's error answers mean. Adding a channel is one module and a registry line.
 */
export interface ChannelModule {
	build(m: OutboundMessage, ctx: BuildContext): BuildResult;
	/** A provider answer with an HTTP (or SMTP) status, after the common gateway rule (errors.ts). */
	classify(status: number, body: ProviderBody): ProviderError;
	/** What the built message reads like to the person (readable.ts): a Dry Run shows it first. */
	read(built: BuiltRequest): string;
}

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
