/**
 * Consent as Consent Guard's Upsert Contact and Record Consent leave it: the contact in the
 * contact book with its addresses, and each grant recorded with the address it covers.
 */
import type { Channel, Contact } from '../../nodes/shared/contact';
import { channelBookAddress, contactAddresses } from '../../nodes/shared/people';
import type { ConsentEvidence, Store } from '../../nodes/shared/store/types';

export async function linkContacts(store: Store, contacts: Contact[]): Promise<void> {
	const resolved = await store.resolveContacts(
		contacts.map((c) => ({ id: c.id, addresses: contactAddresses(c) })),
		{ create: true, link: true, source: 'test' },
	);
	const conflict = resolved.find((r) => r.conflict);
	if (conflict)
		throw new Error(`test setup: ${conflict.contactId} conflicts with ${conflict.conflict!.owner}`);
}

export async function grantConsent(
	store: Store,
	contacts: Contact[],
	channels: string[],
	options: { purpose?: string; evidence?: ConsentEvidence; occurredAt?: number } = {},
): Promise<void> {
	await linkContacts(store, contacts);
	await store.recordConsent(
		contacts.flatMap((c) =>
			channels.map((channel) => ({
				contactId: c.id,
				channel: channel as Channel,
				purpose: options.purpose ?? 'marketing',
				address: channelBookAddress(c, channel as Channel)?.value,
				action: 'grant' as const,
				evidence: options.evidence ?? { source: 'test' },
				...(options.occurredAt ? { occurredAt: options.occurredAt } : {}),
			})),
		),
	);
}
