/**
 * What an inbound message means for the person, in one home for the Touchpoint Trigger and
 * Touchpoint Inbox > Record Inbound Message: the sender becomes (or is found as) a contact with
 * the address linked and the channel's profile name, the inbound log opens the service window,
 * and a STOP / START keyword goes into the consent ledger. Call it inside store.atomically.
 */
import type { ConversationEvent } from '../contact';
import { resolvePeople, type Person } from '../people';
import type { Store } from '../store/types';
import { keywordConsentEvents } from './keywords';
import { contactIdOf, eventAddresses } from './normalize';

export interface RecordedMessages {
	personOf: Map<ConversationEvent, Person>;
	/** The id of the person a message is from. */
	personId(e: ConversationEvent): string;
}

export async function recordMessages(tx: Store, messages: ConversationEvent[], purposes: string): Promise<RecordedMessages> {
	// One person across channels: the sender is the contact who holds the phone, PSID or
	// Instagram id; an unknown sender becomes a new contact (id by the id rule) with the address
	// linked and the name from the channel's profile.
	const people = await resolvePeople(tx, messages.map(() => ({ id: '' })), {
		create: true,
		link: true,
		source: 'inbound',
		addresses: (_c, i) => eventAddresses(messages[i]),
		fallbackId: (_c, i) => contactIdOf(messages[i]),
		profile: (_c, i) => (messages[i].contact.name ? { name: String(messages[i].contact.name).slice(0, 200) } : undefined),
	});
	const personOf = new Map(messages.map((e, i) => [e, people[i]]));
	const personId = (e: ConversationEvent) => personOf.get(e)?.contactId || contactIdOf(e);
	await tx.recordInbound(messages.map((e) => ({ contactId: personId(e), channel: e.channel, at: Date.parse(e.timestamp) })));
	// A STOP from a sender whose addresses belong to two contacts withdraws both: an opt-out is
	// never lost to a data conflict (the event itself goes to the first holder, flagged).
	const conflicted = messages.filter((e) => e.keyword === 'stop' && personOf.get(e)?.error?.owner);
	await tx.recordConsent([
		...(await keywordConsentEvents(tx, messages, purposes, personId)),
		...(await keywordConsentEvents(tx, conflicted, purposes, (e) => personOf.get(e)!.error!.owner!)),
	]);
	return { personOf, personId };
}
