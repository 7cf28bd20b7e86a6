/**
 * One person across channels: what the nodes call to turn an item's contact (an id and/or
 * addresses) into the person in the Convergent store. Every node that keeps state per contact
 * resolves first, so caps, windows, history, journeys and forms follow the person, whatever
 * id or channel the item came with. One batched store call per execution.
 */
import {
	addressKindOf,
	normalizeEmail,
	normalizePhone,
	rememberNormalisedPhone,
	unknownE164,
} from './address';
import { channelAddress, type Channel, type Contact } from './contact';
import type { Store } from './store/types';
import type {
	AddressRecord,
	ContactAddress,
	PersonRef,
	ResolvedPerson,
	ResolveOptions,
} from './domain';
import { addressKey } from './domain';

/** The item's email and phone that are not addresses (they do not parse), each with why: an upsert says what it did not link. */
export function unusableAddresses(
	contact: Contact,
): Array<{ kind: 'email' | 'phone'; value: string; reason: string }> {
	const out: Array<{ kind: 'email' | 'phone'; value: string; reason: string }> = [];
	if (contact.email) {
		const e = normalizeEmail(contact.email);
		if (!e.ok) out.push({ kind: 'email', value: e.value, reason: e.message });
	}
	if (contact.phone) {
		const p = normalizePhone(contact.phone);
		if (!p.ok) out.push({ kind: 'phone', value: p.value, reason: p.message });
	}
	return out;
}

/** The contact's addresses, normalised; values that do not parse are left out (the policy reports them). */
export function contactAddresses(contact: Contact): ContactAddress[] {
	const out = new Map<string, ContactAddress>();
	const add = (a: ContactAddress | undefined) => {
		if (a) out.set(addressKey(a), a);
	};
	if (contact.email) {
		const e = normalizeEmail(contact.email);
		if (e.ok) add({ kind: 'email', value: e.email });
	}
	if (contact.phone) {
		const p = normalizePhone(contact.phone);
		if (p.ok) add({ kind: 'phone', value: p.e164 });
	}
	if (contact.whatsappId && !contact.phone) add({ kind: 'whatsapp', value: contact.whatsappId });
	if (contact.psid) add({ kind: 'messenger', value: contact.psid });
	if (contact.instagramId) add({ kind: 'instagram', value: contact.instagramId });
	if (contact.pushToken) add({ kind: 'push', value: contact.pushToken });
	return [...out.values()];
}

const FIELD_OF_KIND: Record<ContactAddress['kind'], keyof Contact> = {
	email: 'email',
	phone: 'phone',
	whatsapp: 'whatsappId',
	messenger: 'psid',
	instagram: 'instagramId',
	push: 'pushToken',
};

/**
 * Contacts given by ID alone (what an AI agent passes to a tool) completed with the addresses the
 * contact book holds for the person, the most recently seen of each kind. Addresses the item
 * gives are kept; a book address is the person's own, so the gate treats it as linked.
 */
export async function withBookAddresses(
	store: Pick<Store, 'resolveContacts' | 'getAddresses'>,
	contacts: Contact[],
): Promise<Contact[]> {
	const ids = [...new Set(contacts.filter((c) => c.id).map((c) => c.id))];
	if (!ids.length) return contacts;
	const personOf = await personIdsOf(store, ids);
	const book = await store.getAddresses([...new Set([...personOf.values()])]);
	const latest = new Map<string, Map<ContactAddress['kind'], AddressRecord>>();
	for (const a of book) {
		const mine = latest.get(a.contactId) ?? new Map<ContactAddress['kind'], AddressRecord>();
		const had = mine.get(a.kind);
		if (!had || had.lastSeen < a.lastSeen) mine.set(a.kind, a);
		latest.set(a.contactId, mine);
	}
	return contacts.map((c) => {
		const held = c.id ? latest.get(personOf.get(c.id) ?? c.id) : undefined;
		if (!held) return c;
		const filled: Contact = { ...c };
		for (const [kind, a] of held) {
			const field = FIELD_OF_KIND[kind];
			if (!filled[field]) (filled as unknown as Record<string, string>)[field] = a.value;
		}
		return filled;
	});
}

/**
 * The address a channel uses, in the form the store keeps it (an email lower-cased, a phone in
 * E.164; other ids as given), or which field does not parse and why. One rule for Check, Record
 * Consent and the contact book.
 */
export function normalisedChannelAddress(
	contact: Contact,
	channel: Channel,
):
	| { ok: true; address: string | undefined }
	| { ok: false; field: 'email' | 'phone'; value: string; message: string } {
	const raw = channelAddress(contact, channel);
	if (!raw) return { ok: true, address: undefined };
	if (channel === 'email') {
		const e = normalizeEmail(raw);
		return e.ok
			? { ok: true, address: e.email }
			: { ok: false, field: 'email', value: raw, message: e.message };
	}
	if (channel === 'sms' || (channel === 'whatsapp' && contact.phone)) {
		const p = normalizePhone(raw);
		return p.ok
			? { ok: true, address: p.e164 }
			: { ok: false, field: 'phone', value: raw, message: p.message };
	}
	return { ok: true, address: raw };
}

/** The book address a channel uses (normalised), when the contact has a valid one. */
export function channelBookAddress(contact: Contact, channel: Channel): ContactAddress | undefined {
	const n = normalisedChannelAddress(contact, channel);
	if (!n.ok || !n.address) return undefined;
	const kind = addressKindOf(channel, n.address);
	return kind ? { kind, value: n.address } : undefined;
}

const KIND_LABEL: Record<ContactAddress['kind'], string> = {
	email: 'email',
	phone: 'phone',
	whatsapp: 'WhatsApp ID',
	messenger: 'Messenger PSID',
	instagram: 'Instagram ID',
	push: 'push token',
};

export function describeAddress(a: ContactAddress): string {
	return a.kind === 'push'
		? `push token ${a.value.slice(0, 8)}…`
		: `${KIND_LABEL[a.kind]} ${a.value}`;
}

/** An item that cannot be resolved to one person: the node reports it for that item. */
export class PersonError extends Error {
	hint = '';
	/** The person who holds the address, for a conflict. */
	readonly owner?: string;
}

/** No contact ID, and no contact holds any of the item's addresses. */
export class UnknownPersonError extends PersonError {
	constructor(contact: Contact, idField?: string) {
		const addresses = contactAddresses(contact);
		super(
			`No contact ID ${idField ? `at "${idField}"` : 'on the item'}, and no contact holds ${addresses.length ? addresses.map(describeAddress).join(' or ') : 'any of its addresses'}`,
		);
		this.hint =
			'Give the contact ID in Contact Fields, or add the person first (Consent Guard > Contact > Upsert).';
	}
}

/** An item whose id and address (or two addresses) belong to different people. */
export class IdentityConflictError extends PersonError {
	/** The person who holds the address. */
	declare readonly owner: string;
	constructor(
		contact: Contact,
		conflict: NonNullable<ResolvedPerson['conflict']>,
		resolvedId: string,
	) {
		const given = contact.id
			? `Contact ID "${contact.id}"`
			: `The item's addresses (contact "${resolvedId}")`;
		super(
			`${given} and ${describeAddress(conflict.address)} belong to different people: the ${KIND_LABEL[conflict.address.kind]} belongs to contact "${conflict.owner}"`,
		);
		(this as { owner?: string }).owner = conflict.owner;
		this.hint = `Nothing was done for this item. If "${resolvedId}" and "${conflict.owner}" are one person, merge them (Consent Guard > Contact > Merge); otherwise correct the item's ${KIND_LABEL[conflict.address.kind]}.`;
	}
}

/**
 * The proof rule (ARCHITECTURE.md: proof): input nobody verified (a public form, a chat, an item
 * from outside) may create a person or give a new person addresses nobody holds, but never adds
 * an address to an existing person, nor changes their profile, without proof that the same person
 * controls both (a confirmed link sent to an address already on file, a reply from it).
 */
export class UnverifiedJoinError extends PersonError {
	constructor(contactId: string, address: ContactAddress) {
		super(
			`Contact "${contactId}" already exists, and input nobody verified (a public form, a chat) cannot add ${describeAddress(address)} to them`,
		);
		this.hint =
			'Nothing was done for this item. Let the person confirm from an address already on file (the double opt-in link sent to it), or add the address from a source you trust (Input: Trusted, e.g. your CRM).';
	}
}

export interface Person {
	/** The person's id in the store (a merged id gives the id it was merged into). */
	contactId: string;
	known: boolean;
	/** Whether this call created the contact. */
	created: boolean;
	/** Resolved from input nobody verified to a person who existed before: nothing was added, and their profile must not change. */
	unverified?: true;
	/** The contact with its id replaced by the person's, and the profile's time zone/locale when the item has none. */
	contact: Contact;
	/** Whether each normalised address of the item is held by this person: by `${kind}:${value}`. */
	owns(a: ContactAddress | undefined): boolean;
	error?: PersonError;
	name?: string;
}

/** Resolves the items' contacts to people, in one batched store call. */
export async function resolvePeople(
	store: Pick<Store, 'resolveContacts'> & Partial<Pick<Store, 'knownPhones'>>,
	contacts: Contact[],
	options: ResolveOptions & {
		addresses?: (c: Contact, i: number) => ContactAddress[];
		fallbackId?: (c: Contact, i: number) => string | undefined;
		profile?: (c: Contact, i: number) => PersonRef['profile'];
		/** The Contact ID Field path, named in the error for an item without an id nobody holds. */
		idField?: string;
		/** Whether the item's input is not verified (a public form, a chat): the proof rule applies to it (UnverifiedJoinError). */
		unverified?: (c: Contact, i: number) => boolean;
	} = {},
): Promise<Person[]> {
	// Numbers the contact book holds were normalised when linked: known valid, not parsed again
	// (libphonenumber, ~4 µs a number warm and several times that in a fresh process).
	const unparsed = store.knownPhones ? unknownE164(contacts.map((c) => c.phone)) : [];
	if (unparsed.length)
		for (const e164 of await store.knownPhones!(unparsed)) rememberNormalisedPhone(e164);
	const refs: PersonRef[] = contacts.map((c, i) => ({
		id: c.id || undefined,
		addresses: options.addresses ? options.addresses(c, i) : contactAddresses(c),
		fallbackId: options.fallbackId?.(c, i),
		profile: options.profile?.(c, i),
	}));
	const unverified = options.unverified ? contacts.map((c, i) => options.unverified!(c, i)) : [];
	const resolved = contacts.length ? await resolveUnderProof(store, refs, options, unverified) : [];
	return resolved.map((r, i) => {
		const c = contacts[i];
		const contact: Contact = { ...c, id: r.contactId || c.id };
		if (!contact.timeZone && r.profile?.timeZone) contact.timeZone = r.profile.timeZone;
		if (!contact.locale && r.profile?.locale) contact.locale = r.profile.locale;
		return {
			contactId: contact.id,
			known: r.known,
			created: r.created,
			contact,
			owns: (a) => !!a && r.owners.get(addressKey(a)) === contact.id,
			...(r.conflict
				? { error: new IdentityConflictError(c, r.conflict, contact.id) }
				: r.joins
					? { error: new UnverifiedJoinError(contact.id, r.joins) }
					: !contact.id
						? { error: new UnknownPersonError(c, options.idField) }
						: {}),
			...(r.unverified ? { unverified: true as const } : {}),
			...(r.profile?.name ? { name: r.profile.name } : {}),
		};
	});
}

type Resolved = ResolvedPerson & { joins?: ContactAddress; unverified?: true };

/**
 * resolveContacts under the proof rule: an unverified ref that names an existing person is only read (an address of the ref not already theirs is a `joins` error); the others are
 * resolved with the options given (created, their unowned addresses linked).
 */
async function resolveUnderProof(
	store: Pick<Store, 'resolveContacts'>,
	refs: PersonRef[],
	options: ResolveOptions,
	unverified: boolean[],
): Promise<Resolved[]> {
	if (!unverified.some(Boolean) || !(options.create || options.link))
		return await store.resolveContacts(refs, options);
	const looked = await store.resolveContacts(refs, {});
	const out: Resolved[] = looked.map((r) => ({ ...r }));
	const fresh: number[] = [];
	looked.forEach((r, i) => {
		if (!r.known || !unverified[i]) return void fresh.push(i);
		const joins = refs[i].addresses.find((a) => r.owners.get(addressKey(a)) !== r.contactId);
		out[i] = { ...r, unverified: true, ...(joins && !r.conflict ? { joins } : {}) };
	});
	if (fresh.length) {
		const made = await store.resolveContacts(
			fresh.map((i) => refs[i]),
			options,
		);
		fresh.forEach((i, k) => (out[i] = made[k]));
	}
	return out;
}

/**
 * The person's id for each id (a merged id gives the survivor; an unknown id stays itself), in
 * one read. For nodes that thread state by a contact id field (AI Reply, forms, journeys, scores).
 */
export async function personIdsOf(
	store: Pick<Store, 'resolveContacts'>,
	ids: string[],
): Promise<Map<string, string>> {
	const unique = [...new Set(ids.filter((id) => id !== ''))];
	const resolved = unique.length
		? await store.resolveContacts(unique.map((id) => ({ id, addresses: [] })))
		: [];
	return new Map(unique.map((id, i) => [id, resolved[i].contactId || id]));
}
