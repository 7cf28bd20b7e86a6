/** People: one contact with many addresses, their profile, and what an export of them holds. */
import type { ConsentLedgerEntry, ConsentState, SuppressionEntry } from './consent';
import type { InboundRecord } from './inbox';
import type { TouchRecord } from './touches';

/** Address kinds in the contact book. WhatsApp and SMS share 'phone'; 'whatsapp' is a wa_id / business-scoped id without a phone. */
export const ADDRESS_KINDS = [
	'email',
	'phone',
	'whatsapp',
	'messenger',
	'instagram',
	'push',
] as const;

export type AddressKind = (typeof ADDRESS_KINDS)[number];

/** A normalised address: lower-case e-mail, E.164 phone, the provider's id as given. */
export interface ContactAddress {
	kind: AddressKind;
	value: string;
}

export interface AddressRecord extends ContactAddress {
	contactId: string;
	source?: string;
	firstSeen: number;
	lastSeen: number;
}

export interface ContactProfile {
	contactId: string;
	name?: string;
	locale?: string;
	timeZone?: string;
	preferredChannel?: string;
	attributes?: Record<string, unknown>;
	createdAt: number;
	updatedAt: number;
}

export type ProfileInput = Partial<
	Pick<ContactProfile, 'name' | 'locale' | 'timeZone' | 'preferredChannel' | 'attributes'>
>;

/** What an item says about a person: an id (may be empty) and any addresses. */
export interface PersonRef {
	id?: string;
	addresses: ContactAddress[];
	/** Id for a new contact when neither the id nor any address is known (inbound: the phone, messenger:<PSID>...). */
	fallbackId?: string;
	profile?: ProfileInput;
}

export interface ResolveOptions {
	/** Create the contact when it is not in the book (default false: read only). */
	create?: boolean;
	/** Link the ref's addresses that have no owner to the person (default false). */
	link?: boolean;
	/** An address that belongs to someone else: 'error' (default) or 'move' it to this person. */
	onConflict?: 'error' | 'move';
	source?: string;
	now?: number;
}

export interface ResolvedPerson {
	/** The person's id (a merged id resolves to the id it was merged into); empty when unknown. */
	contactId: string;
	/** Whether the person is in the contact book (after this call). */
	known: boolean;
	created: boolean;
	/** Owner of each of the ref's addresses that has one, by `${kind}:${value}`. */
	owners: Map<string, string>;
	profile?: Pick<ContactProfile, 'name' | 'locale' | 'timeZone'>;
	/** An address of the ref that belongs to another person (nothing was linked or created). */
	conflict?: { address: ContactAddress; owner: string };
}

export const addressKey = (a: ContactAddress) => `${a.kind}:${a.value}`;

export interface ContactExport {
	contactId: string;
	consentLedger: ConsentLedgerEntry[];
	consentStates: ConsentState[];
	suppressions: SuppressionEntry[];
	touches: TouchRecord[];
	inbound: InboundRecord[];
	/** Tables added by later nodes (journey, forms, conversations...) contribute here by name. */
	[other: string]: unknown;
}
