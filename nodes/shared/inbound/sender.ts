/**
 * Who sent an inbound event, by the id rule: a new sender's contact ID when the contact book does
 * not know them (the phone on WhatsApp and SMS, else the channel's own id). Its own module, so the
 * keyword reader and the normaliser, which each need the other's words, do not import each other.
 */
import type { ConversationEvent } from '../contact';

export function contactIdOf(e: ConversationEvent): string {
	if ((e.channel === 'whatsapp' || e.channel === 'sms') && e.contact.phone) return e.contact.phone;
	if (e.channel === 'whatsapp')
		return `whatsapp:${e.contact.businessScopedUserId ?? e.contact.whatsappId}`;
	if (e.channel === 'messenger') return `messenger:${e.contact.psid}`;
	return `instagram:${e.contact.instagramId}`;
}
