/**
 * What an inbound message means for the person, in one home for the Touchpoint Trigger and
 * Touchpoint Inbox > Record Inbound Message: the sender becomes (or is found as) a contact with
 * the address linked and the channel's profile name, the inbound log opens the service window,
 * and a STOP / START keyword goes into the consent ledger. Call it inside store.atomically.
 */
import { idForAddress } from '../address';
import type { ConversationEvent } from '../contact';
import type { EmailEvent } from './email-events';
import { resolvePeople, type Person } from '../people';
import type {
	ConsentStore,
	InboxStore,
	PeopleStore,
	SuppressionStore,
	TouchStore,
} from '../store/types';
import type { ConsentEventInput, SuppressionEntry } from '../domain';
import { supersededJson } from '../store/consent-fold';
import { keywordConsentEvents } from './keywords';
import { eventAddresses } from './normalize';
import { contactIdOf } from './sender';

/** The roles of the store an inbound request is recorded in (a status updates its send). */
type InboundStore = ConsentStore & SuppressionStore & InboxStore & PeopleStore & TouchStore;

export interface RecordedMessages {
	personOf: Map<ConversationEvent, Person>;
	/** The id of the person a message is from. */
	personId(e: ConversationEvent): string;
}

export async function recordMessages(
	tx: InboundStore,
	messages: ConversationEvent[],
	purposes: string,
): Promise<RecordedMessages> {
	// One person across channels: the sender is the contact who holds the phone, PSID or
	// Instagram id; an unknown sender becomes a new contact (id by the id rule) with the address
	// linked and the name from the channel's profile.
	const people = await resolvePeople(
		tx,
		messages.map(() => ({ id: '' })),
		{
			create: true,
			link: true,
			source: 'inbound',
			addresses: (_c, i) => eventAddresses(messages[i]),
			fallbackId: (_c, i) => contactIdOf(messages[i]),
			profile: (_c, i) =>
				messages[i].contact.name
					? { name: String(messages[i].contact.name).slice(0, 200) }
					: undefined,
		},
	);
	const personOf = new Map(messages.map((e, i) => [e, people[i]]));
	const personId = (e: ConversationEvent) => personOf.get(e)?.contactId || contactIdOf(e);
	await tx.recordInbound(
		messages.map((e) => ({
			contactId: personId(e),
			channel: e.channel,
			at: Date.parse(e.timestamp),
		})),
	);
	// A STOP from a sender whose addresses belong to two contacts withdraws both: an opt-out is
	// never lost to a data conflict (the event itself goes to the first holder, flagged).
	const conflicted = messages.filter((e) => e.keyword === 'stop' && personOf.get(e)?.error?.owner);
	const own = await keywordConsentEvents(tx, messages, purposes, personId);
	const entries = await tx.recordConsent([
		...own,
		...(await keywordConsentEvents(
			tx,
			conflicted,
			purposes,
			(e) => personOf.get(e)!.error!.owner!,
		)),
	]);
	// A keyword an event counted after it outweighs (an old START after a STOP) says so on its item.
	const byId = new Map(messages.filter((e) => e.keyword).map((e) => [e.providerMessageId, e]));
	own.forEach((event, k) => {
		const message = byId.get(event.evidence.extra?.providerMessageId as string);
		const by = entries[k]?.supersededBy;
		if (message && by && !message.supersededBy) Object.assign(message, supersededJson(by));
	});
	return { personOf, personId };
}

/**
 * What an email service's events mean: a hard bounce or a spam complaint suppresses the address on
 * email (the service stops delivering to it too); an unsubscribe withdraws the person's marketing
 * email consent (receipts may still go). The person is whoever holds the address (a new contact
 * otherwise, so the withdrawal is kept). Returns each event's person.
 */
export async function recordEmailEvents(
	tx: InboundStore,
	events: EmailEvent[],
): Promise<Map<EmailEvent, string>> {
	const suppressions: SuppressionEntry[] = events
		.filter((e) => (e.kind === 'bounce' && e.hard) || e.kind === 'complaint')
		.map((e) => ({
			address: e.email,
			channel: 'email',
			reason: e.kind === 'complaint' ? 'complained' : 'bounced',
			note: `${e.service} ${e.type}${e.reason ? `: ${e.reason.slice(0, 200)}` : ''}`,
		}));
	if (suppressions.length) await tx.addSuppressions(suppressions);
	const people = await resolvePeople(
		tx,
		events.map(() => ({ id: '' })),
		{
			create: true,
			link: true,
			source: 'email-events',
			addresses: (_c, i) => [{ kind: 'email', value: events[i].email }],
			fallbackId: (_c, i) => idForAddress({ kind: 'email', value: events[i].email }),
		},
	);
	const personOf = new Map(events.map((e, i) => [e, people[i].contactId || e.email]));
	const withdrawals: ConsentEventInput[] = events
		.filter((e) => e.kind === 'unsubscribe')
		.map((e) => ({
			contactId: personOf.get(e)!,
			channel: 'email',
			purpose: 'marketing',
			address: e.email,
			action: 'withdraw',
			evidence: {
				source: `${e.service}-${e.type}`,
				actor: 'provider',
				extra: { eventId: e.eventId },
			},
			occurredAt: Date.parse(e.timestamp),
		}));
	if (withdrawals.length) await tx.recordConsent(withdrawals);
	// The send log follows what the service saw: delivered, read (opened), clicked, bounced, complained.
	const status = (e: EmailEvent) =>
		e.kind === 'bounce'
			? e.hard
				? 'bounced'
				: undefined
			: e.kind === 'open'
				? 'read'
				: e.kind === 'click'
					? 'clicked'
					: e.kind === 'other' || e.kind === 'unsubscribe'
						? undefined
						: e.kind;
	for (const e of events) {
		const s = status(e);
		if (!e.providerMessageId || !s) continue;
		// The send log keeps the Message-ID as the mail server took it (<...>); services quote it with or without the brackets.
		const updated = await tx.updateDeliveryStatus(e.providerMessageId, s);
		if (!updated && !e.providerMessageId.startsWith('<'))
			await tx.updateDeliveryStatus(`<${e.providerMessageId}>`, s);
	}
	return personOf;
}
