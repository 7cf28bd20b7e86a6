/**
 * The unified vocabulary every node and core module speaks: channels, purposes, contacts,
 * and the normalised inbound ConversationEvent. One home for these types; import, never redefine.
 */

export const CHANNELS = ['whatsapp', 'messenger', 'instagram', 'sms', 'push', 'email'] as const;
export type Channel = (typeof CHANNELS)[number];

/** Conversational channels: free-form messages need an open 24 h service window. */
export const WINDOWED_CHANNELS: readonly Channel[] = ['whatsapp', 'messenger', 'instagram'];

export const DEFAULT_PURPOSES = ['marketing', 'transactional', 'service'] as const;
/** A purpose is free text (the list is editable); these three are the defaults. */
export type Purpose = string;

export function isChannel(value: unknown): value is Channel {
	return typeof value === 'string' && (CHANNELS as readonly string[]).includes(value);
}

/** A contact as the nodes see it after the contact mapping has been applied to an item. */
export interface Contact {
	/** Stable id in the user's system (CRM id, e-mail, phone...). Required. */
	id: string;
	email?: string;
	/** E.164, e.g. +34600111222 */
	phone?: string;
	/** WhatsApp id (wa_id) or business-scoped user id. */
	whatsappId?: string;
	/** Messenger page-scoped id. */
	psid?: string;
	/** Instagram-scoped id. */
	instagramId?: string;
	pushToken?: string;
	/** IANA time zone, e.g. Europe/Madrid. */
	timeZone?: string;
	/** BCP 47 locale, e.g. es-ES. */
	locale?: string;
}

/** Which contact field carries the address for a channel. */
export const CHANNEL_ADDRESS_FIELD: Record<Channel, keyof Contact> = {
	whatsapp: 'phone',
	messenger: 'psid',
	instagram: 'instagramId',
	sms: 'phone',
	push: 'pushToken',
	email: 'email',
};

/** The address of a contact on a channel (WhatsApp: wa_id / BSUID when there is no phone). */
export function channelAddress(contact: Contact, channel: Channel): string | undefined {
	if (channel === 'whatsapp') return contact.phone ?? contact.whatsappId;
	const value = contact[CHANNEL_ADDRESS_FIELD[channel]];
	return typeof value === 'string' && value !== '' ? value : undefined;
}

export type ConversationChannel = 'whatsapp' | 'messenger' | 'instagram' | 'sms';

export type ConversationEventKind =
	| 'text'
	| 'media'
	| 'location'
	| 'button'
	| 'interactive'
	| 'referral'
	| 'reaction'
	| 'status'
	| 'unsupported';

export interface MediaRef {
	type: string;
	id?: string;
	url?: string;
	mimeType?: string;
	caption?: string;
	/** WhatsApp: the file's SHA-256 as Meta reports it; a document's file name. */
	sha256?: string;
	filename?: string;
}

export interface ConversationEvent {
	channel: ConversationChannel;
	kind: ConversationEventKind;
	/** Identifiers of the person, as many as the provider gave. */
	contact: {
		phone?: string;
		whatsappId?: string;
		/** WhatsApp business-scoped user id (since 2026), when present instead of a phone. */
		businessScopedUserId?: string;
		psid?: string;
		instagramId?: string;
		name?: string;
	};
	/** The business side: phone number id, page id, Twilio number... */
	recipient?: string;
	providerMessageId: string;
	/** ISO 8601 */
	timestamp: string;
	text?: string;
	media?: MediaRef[];
	location?: { latitude: number; longitude: number; name?: string; address?: string };
	/** Button / quick-reply / interactive payload id the person chose. */
	payload?: string;
	replyToId?: string;
	referral?: Record<string, unknown>;
	/** STOP / START / HELP family keyword recognised in the text. */
	keyword?: 'stop' | 'start' | 'help';
	/** Internal to the trigger: an opt-in word (YES) that counts only right after a STOP. Never emitted. */
	keywordConditional?: true;
	/** The keyword changed nothing: a consent event counted after it decides (the time rule). */
	supersededBy?: { action: string; at: string; note: string };
	/** For kind 'status': sent | delivered | read | failed */
	status?: string;
	errors?: Array<{ code?: number | string; title?: string; message?: string }>;
}
