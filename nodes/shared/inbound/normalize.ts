/**
 * Provider webhook payloads -> one ConversationEvent per message (a POST may batch several).
 * Status updates become events of kind 'status' (the trigger drops them unless asked).
 * Contact id rule, shared with the other nodes' Contact Fields:
 *   WhatsApp and SMS: the E.164 phone (+34600111222); WhatsApp without a phone (business-scoped
 *   user id): "whatsapp:<id>"; Messenger: "messenger:<PSID>"; Instagram: "instagram:<IGSID>".
 */
import type { ConversationChannel, ConversationEvent, MediaRef } from '../contact';
import { detectKeyword } from './keywords';

type J = Record<string, any>;

const iso = (seconds: unknown) => new Date(Number(seconds) * (Number(seconds) > 1e11 ? 1 : 1000)).toISOString();

export function contactIdOf(e: ConversationEvent): string {
	if ((e.channel === 'whatsapp' || e.channel === 'sms') && e.contact.phone) return e.contact.phone;
	if (e.channel === 'whatsapp') return `whatsapp:${e.contact.businessScopedUserId ?? e.contact.whatsappId}`;
	if (e.channel === 'messenger') return `messenger:${e.contact.psid}`;
	return `instagram:${e.contact.instagramId}`;
}

function whatsappMessage(m: J, value: J, extraStop: string[]): ConversationEvent {
	const profile = (value.contacts ?? []).find((c: J) => c.wa_id === m.from || c.user_id === m.from_user_id);
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
		e.media = [{ type: m.type, id: x.id, mimeType: x.mime_type, caption: x.caption } as MediaRef];
		if (x.caption) e.text = x.caption;
	} else if (m.type === 'location') {
		e.kind = 'location';
		e.location = { latitude: m.location.latitude, longitude: m.location.longitude, name: m.location.name, address: m.location.address };
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
	const keyword = e.kind === 'text' || e.kind === 'button' ? detectKeyword(e.text, extraStop) : undefined;
	if (keyword) e.keyword = keyword;
	return e;
}

function whatsappStatus(s: J, value: J): ConversationEvent {
	return {
		channel: 'whatsapp',
		kind: 'status',
		contact: s.recipient_id ? { phone: `+${s.recipient_id}`, whatsappId: s.recipient_id } : { businessScopedUserId: s.recipient_user_id },
		recipient: value.metadata?.phone_number_id,
		providerMessageId: String(s.id),
		timestamp: iso(s.timestamp),
		status: s.status,
		...(s.errors ? { errors: s.errors } : {}),
	};
}

function messagingEvent(channel: 'messenger' | 'instagram', m: J, extraStop: string[]): ConversationEvent[] {
	const sender = String(m.sender?.id ?? '');
	const contact = channel === 'messenger' ? { psid: sender } : { instagramId: sender };
	const base = { channel, contact, recipient: m.recipient?.id, timestamp: iso(Number(m.timestamp) / 1000) };
	if (m.delivery || m.read) {
		const mids: string[] = m.delivery?.mids ?? (m.read?.mid ? [m.read.mid] : []);
		const status = m.delivery ? 'delivered' : 'read';
		return (mids.length ? mids : [`${status}:${sender}:${m.timestamp}`]).map((mid) => ({ ...base, kind: 'status' as const, providerMessageId: mid, status }));
	}
	if (m.message?.is_echo) return [];
	if (m.postback) {
		return [{ ...base, kind: 'button', providerMessageId: String(m.postback.mid ?? `postback:${sender}:${m.timestamp}`), payload: m.postback.payload, text: m.postback.title, ...(m.postback.referral ? { referral: m.postback.referral } : {}) }];
	}
	if (m.referral && !m.message) {
		return [{ ...base, kind: 'referral', providerMessageId: `referral:${sender}:${m.timestamp}`, referral: m.referral }];
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
	const keyword = e.text ? detectKeyword(e.text, extraStop) : undefined;
	if (keyword) e.keyword = keyword;
	return [e];
}

/** Meta webhook body (WhatsApp Cloud, Messenger, Instagram) -> events, in payload order. */
export function normalizeMeta(body: J, extraStop: string[] = []): ConversationEvent[] {
	const out: ConversationEvent[] = [];
	if (!body || !Array.isArray(body.entry)) return out;
	if (body.object === 'whatsapp_business_account') {
		for (const entry of body.entry) {
			for (const change of entry.changes ?? []) {
				const value = change.value ?? {};
				for (const m of value.messages ?? []) out.push(whatsappMessage(m, value, extraStop));
				for (const s of value.statuses ?? []) out.push(whatsappStatus(s, value));
			}
		}
	} else if (body.object === 'page' || body.object === 'instagram') {
		const channel: ConversationChannel = body.object === 'page' ? 'messenger' : 'instagram';
		for (const entry of body.entry) {
			for (const m of entry.messaging ?? []) out.push(...messagingEvent(channel as 'messenger' | 'instagram', m, extraStop));
		}
	}
	return out;
}

/** Twilio incoming SMS or status callback (form fields) -> one event. */
export function normalizeTwilio(form: Record<string, string>, extraStop: string[] = []): ConversationEvent[] {
	const sid = form.MessageSid ?? form.SmsSid;
	if (!sid) return [];
	if (form.MessageStatus && !form.Body) {
		return [{ channel: 'sms', kind: 'status', contact: { phone: form.To }, recipient: form.From, providerMessageId: sid, timestamp: new Date().toISOString(), status: form.MessageStatus, ...(form.ErrorCode ? { errors: [{ code: form.ErrorCode }] } : {}) }];
	}
	const e: ConversationEvent = { channel: 'sms', kind: 'text', contact: { phone: form.From }, recipient: form.To, providerMessageId: sid, timestamp: new Date().toISOString(), text: form.Body ?? '' };
	const n = Number(form.NumMedia ?? 0);
	if (n > 0) {
		e.kind = 'media';
		e.media = Array.from({ length: n }, (_, i) => ({ type: 'media', url: form[`MediaUrl${i}`], mimeType: form[`MediaContentType${i}`] }));
	}
	const keyword = detectKeyword(e.text, extraStop);
	if (keyword) e.keyword = keyword;
	return [e];
}
