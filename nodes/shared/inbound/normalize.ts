/**
 * Provider webhook payloads -> one ConversationEvent per message (a POST may batch several).
 * Status updates become events of kind 'status' (the trigger drops them unless asked).
 * Contact id rule, shared with the other nodes' Contact Fields:
 *   WhatsApp and SMS: the E.164 phone (+34600111222); WhatsApp without a phone (business-scoped
 *   user id): "whatsapp:<id>"; Messenger: "messenger:<PSID>"; Instagram: "instagram:<IGSID>".
 */
import type { ConversationChannel, ConversationEvent, MediaRef } from '../contact';
import type { ContactAddress } from '../domain';
import { keywordMatcher, type KeywordMatch, type KeywordOptions } from './keywords';

type Matcher = (text: string | undefined) => KeywordMatch | undefined;

/** Sets `keyword` on the event; a conditional opt-in (YES) is marked so the trigger can decide. */
function applyKeyword(e: ConversationEvent, match: KeywordMatch | undefined): void {
	if (!match) return;
	e.keyword = match.keyword;
	if (match.conditional) e.keywordConditional = true;
}

// Provider JSON, navigated by the shapes each provider documents; every value read is checked where it is used.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type J = Record<string, any>;

const iso = (seconds: unknown) =>
	new Date(Number(seconds) * (Number(seconds) > 1e11 ? 1 : 1000)).toISOString();

/** The sender's addresses as the contact book keeps them (the phone is E.164 already). */
export function eventAddresses(e: ConversationEvent): ContactAddress[] {
	const out: ContactAddress[] = [];
	if (e.contact.phone) out.push({ kind: 'phone', value: e.contact.phone });
	else if (e.channel === 'whatsapp' && (e.contact.businessScopedUserId ?? e.contact.whatsappId))
		out.push({
			kind: 'whatsapp',
			value: String(e.contact.businessScopedUserId ?? e.contact.whatsappId),
		});
	if (e.contact.phone && e.contact.businessScopedUserId)
		out.push({ kind: 'whatsapp', value: e.contact.businessScopedUserId });
	if (e.contact.psid) out.push({ kind: 'messenger', value: e.contact.psid });
	if (e.contact.instagramId) out.push({ kind: 'instagram', value: e.contact.instagramId });
	return out;
}

function whatsappMessage(m: J, value: J, match: Matcher): ConversationEvent {
	// Match on an id both sides actually carry (two undefined ids are not a match).
	const profile = (value.contacts ?? []).find(
		(c: J) =>
			(m.from !== undefined && c.wa_id === m.from) ||
			(m.from_user_id !== undefined && c.user_id === m.from_user_id),
	);
	const waId: string | undefined = m.from ?? profile?.wa_id;
	const bsuid: string | undefined = m.from_user_id ?? m.user_id ?? profile?.user_id;
	const e: ConversationEvent = {
		channel: 'whatsapp',
		kind: 'text',
		contact: {
			...(waId ? { phone: `+${String(waId).replace(/^\+/, '')}`, whatsappId: String(waId) } : {}),
			...(bsuid ? { businessScopedUserId: String(bsuid) } : {}),
			...(profile?.profile?.name ? { name: profile.profile.name } : {}),
		},
		recipient: value.metadata?.phone_number_id,
		providerMessageId: String(m.id),
		timestamp: iso(m.timestamp),
	};
	const media = ['image', 'audio', 'video', 'document', 'sticker'];
	if (m.type === 'text') e.text = m.text?.body;
	else if (media.includes(m.type)) {
		e.kind = 'media';
		const x = m[m.type] ?? {};
		e.media = [
			{
				type: m.type,
				id: x.id,
				mimeType: x.mime_type,
				caption: x.caption,
				...(x.sha256 ? { sha256: x.sha256 } : {}),
				...(x.filename ? { filename: x.filename } : {}),
			} as MediaRef,
		];
		if (x.caption) e.text = x.caption;
	} else if (m.type === 'location') {
		e.kind = 'location';
		e.location = {
			latitude: m.location.latitude,
			longitude: m.location.longitude,
			name: m.location.name,
			address: m.location.address,
		};
	} else if (m.type === 'button') {
		e.kind = 'button';
		e.payload = m.button?.payload;
		e.text = m.button?.text;
	} else if (m.type === 'interactive') {
		e.kind = 'interactive';
		const reply = m.interactive?.button_reply ?? m.interactive?.list_reply;
		e.payload = reply?.id;
		e.text = reply?.title;
	} else if (m.type === 'reaction') {
		e.kind = 'reaction';
		e.text = m.reaction?.emoji;
	} else {
		e.kind = 'unsupported';
	}
	if (m.referral) {
		e.referral = m.referral;
		if (e.kind === 'text' && !e.text) e.kind = 'referral';
	}
	if (m.context?.id) e.replyToId = m.context.id;
	if (e.kind === 'text' || e.kind === 'button') applyKeyword(e, match(e.text));
	return e;
}

function whatsappStatus(s: J, value: J): ConversationEvent {
	return {
		channel: 'whatsapp',
		kind: 'status',
		contact: s.recipient_id
			? { phone: `+${s.recipient_id}`, whatsappId: s.recipient_id }
			: { businessScopedUserId: s.recipient_user_id },
		recipient: value.metadata?.phone_number_id,
		providerMessageId: String(s.id),
		timestamp: iso(s.timestamp),
		status: s.status,
		...(s.errors ? { errors: s.errors } : {}),
	};
}

function messagingEvent(
	channel: 'messenger' | 'instagram',
	m: J,
	match: Matcher,
): ConversationEvent[] {
	const sender = String(m.sender?.id ?? '');
	const contact = channel === 'messenger' ? { psid: sender } : { instagramId: sender };
	const base = {
		channel,
		contact,
		recipient: m.recipient?.id,
		timestamp: iso(Number(m.timestamp) / 1000),
	};
	if (m.delivery || m.read) {
		const mids: string[] = m.delivery?.mids ?? (m.read?.mid ? [m.read.mid] : []);
		const status = m.delivery ? 'delivered' : 'read';
		return (mids.length ? mids : [`${status}:${sender}:${m.timestamp}`]).map((mid) => ({
			...base,
			kind: 'status' as const,
			providerMessageId: mid,
			status,
		}));
	}
	if (m.message?.is_echo) return [];
	if (m.postback) {
		return [
			{
				...base,
				kind: 'button',
				providerMessageId: String(m.postback.mid ?? `postback:${sender}:${m.timestamp}`),
				payload: m.postback.payload,
				text: m.postback.title,
				...(m.postback.referral ? { referral: m.postback.referral } : {}),
			},
		];
	}
	if (m.referral && !m.message) {
		return [
			{
				...base,
				kind: 'referral',
				providerMessageId: `referral:${sender}:${m.timestamp}`,
				referral: m.referral,
			},
		];
	}
	if (!m.message) return [];
	const msg = m.message;
	const e: ConversationEvent = { ...base, kind: 'text', providerMessageId: String(msg.mid) };
	if (msg.text) e.text = msg.text;
	if (msg.quick_reply?.payload) {
		e.kind = 'button';
		e.payload = msg.quick_reply.payload;
	} else if (Array.isArray(msg.attachments) && msg.attachments.length) {
		e.kind = msg.attachments[0].type === 'location' ? 'location' : 'media';
		e.media = msg.attachments.map((a: J) => ({ type: a.type, url: a.payload?.url }));
	}
	if (msg.reply_to?.mid) e.replyToId = msg.reply_to.mid;
	if (m.referral ?? msg.referral) e.referral = m.referral ?? msg.referral;
	applyKeyword(e, match(e.text));
	return [e];
}

/** Meta webhook body (WhatsApp Cloud, Messenger, Instagram) -> events, in payload order. */
export function normalizeMeta(
	body: J,
	keywords: KeywordOptions | Matcher = {},
): ConversationEvent[] {
	const match = typeof keywords === 'function' ? keywords : keywordMatcher(keywords);
	const out: ConversationEvent[] = [];
	if (!body || !Array.isArray(body.entry)) return out;
	if (body.object === 'whatsapp_business_account') {
		for (const entry of body.entry) {
			for (const change of entry.changes ?? []) {
				const value = change.value ?? {};
				for (const m of value.messages ?? []) out.push(whatsappMessage(m, value, match));
				for (const s of value.statuses ?? []) out.push(whatsappStatus(s, value));
			}
		}
	} else if (body.object === 'page' || body.object === 'instagram') {
		const channel: ConversationChannel = body.object === 'page' ? 'messenger' : 'instagram';
		for (const entry of body.entry) {
			for (const m of entry.messaging ?? [])
				out.push(...messagingEvent(channel as 'messenger' | 'instagram', m, match));
		}
	}
	return out;
}

/** Twilio incoming SMS or status callback (form fields) -> one event. */
export function normalizeTwilio(
	form: Record<string, string>,
	keywords: KeywordOptions | Matcher = {},
): ConversationEvent[] {
	const match = typeof keywords === 'function' ? keywords : keywordMatcher(keywords);
	const sid = form.MessageSid ?? form.SmsSid;
	if (!sid) return [];
	if (form.MessageStatus && !form.Body) {
		return [
			{
				channel: 'sms',
				kind: 'status',
				contact: { phone: form.To },
				recipient: form.From,
				providerMessageId: sid,
				timestamp: new Date().toISOString(),
				status: form.MessageStatus,
				...(form.ErrorCode ? { errors: [{ code: form.ErrorCode }] } : {}),
			},
		];
	}
	const e: ConversationEvent = {
		channel: 'sms',
		kind: 'text',
		contact: { phone: form.From },
		recipient: form.To,
		providerMessageId: sid,
		timestamp: new Date().toISOString(),
		text: form.Body ?? '',
	};
	const n = Number(form.NumMedia ?? 0);
	if (n > 0) {
		e.kind = 'media';
		e.media = Array.from({ length: n }, (_, i) => ({
			type: 'media',
			url: form[`MediaUrl${i}`],
			mimeType: form[`MediaContentType${i}`],
		}));
	}
	applyKeyword(e, match(e.text));
	return [e];
}

const TWILIO_MESSAGE_SID = /^(SM|MM)[0-9a-fA-F]{32}$/;
const TWILIO_SIDS: Record<string, RegExp> = {
	MessageSid: TWILIO_MESSAGE_SID,
	SmsSid: TWILIO_MESSAGE_SID,
	SmsMessageSid: TWILIO_MESSAGE_SID,
	AccountSid: /^AC[0-9a-fA-F]{32}$/,
	MessagingServiceSid: /^MG[0-9a-fA-F]{32}$/,
};
const TWILIO_PARAM = /^[A-Z][A-Za-z0-9]{0,40}$/;
const TWILIO_ADDRESS = /^(whatsapp:|messenger:)?(\+[1-9]\d{4,14}|[A-Za-z0-9 ._-]{1,64})$/;

/**
 * Why a Twilio webhook form is not one Twilio sends, or undefined. The signature covers names and
 * values run together without separators, so a captured request re-cut into other names and values
 * keeps its signature: only Twilio's parameter names, SID formats and address shapes pass.
 */
export function twilioFormProblem(form: Record<string, string>): string | undefined {
	for (const name of Object.keys(form)) {
		if (!TWILIO_PARAM.test(name))
			return `Unexpected parameter name "${name.slice(0, 40)}": not a Twilio webhook.`;
	}
	const sid = form.MessageSid ?? form.SmsSid;
	if (!sid) return 'MessageSid is missing: not a Twilio message webhook.';
	for (const [name, re] of Object.entries(TWILIO_SIDS)) {
		if (form[name] !== undefined && !re.test(form[name]))
			return `${name} "${form[name].slice(0, 40)}" is not a Twilio SID.`;
	}
	if (form.SmsSid !== undefined && form.SmsSid !== sid)
		return 'SmsSid and MessageSid differ: not a Twilio message webhook.';
	for (const name of ['From', 'To']) {
		if (form[name] !== undefined && !TWILIO_ADDRESS.test(form[name]))
			return `${name} "${form[name].slice(0, 40)}" is not a phone number or sender id.`;
	}
	return undefined;
}
