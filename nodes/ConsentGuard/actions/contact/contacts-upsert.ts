/**
 * Upsert Contact / Link Address for a whole batch (a CRM import): one resolution of every row, one
 * profile write, a fixed number of statements per chunk of rows. A row whose address belongs to
 * someone else fails alone (or, with Merge, takes that contact in; rare, so merged one by one).
 */
import type { IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { idForAddress } from '../../../shared/address';
import type { Contact } from '../../../shared/contact';
import type { ProfileInput } from '../../../shared/domain';
import { compileFieldPath } from '../../../shared/field-path';
import type { ContactMapping } from '../../../shared/n8n/contact-mapping';
import { unverifiedInput } from '../../../shared/n8n/input-trust';
import {
	contactAddresses,
	IdentityConflictError,
	resolvePeople,
	unusableAddresses,
	type Person,
} from '../../../shared/people';
import { isValidZone } from '../../../shared/policy';
import type { Store } from '../../../shared/store/types';
import { asNodeError } from '../../../shared/n8n/fail-closed';
import { fail } from '../common';

export interface UpsertSettings {
	readContact: (json: IDataObject) => Contact;
	mapping: ContactMapping;
	onConflict: string;
	profileFields: IDataObject;
	nameOf: (json: unknown) => unknown;
	preferredOf: (json: unknown) => unknown;
	attributesOf: (json: unknown) => unknown;
	actor: string;
}

export function readUpsertSettings(
	fn: IExecuteFunctions,
	operation: string,
	readContact: (json: IDataObject) => Contact,
	mapping: ContactMapping,
	actor: string,
): UpsertSettings {
	const profileFields =
		operation === 'upsertContact'
			? (fn.getNodeParameter('profileFields', 0, {}) as IDataObject)
			: {};
	return {
		readContact,
		mapping,
		onConflict: fn.getNodeParameter('onAddressConflict', 0, 'error') as string,
		profileFields,
		nameOf: compileFieldPath(String(profileFields.nameField ?? 'contact.name')),
		preferredOf: compileFieldPath(
			String(profileFields.preferredChannelField ?? 'contact.preferredChannel'),
		),
		attributesOf: compileFieldPath(String(profileFields.attributesField ?? 'contact.attributes')),
		actor,
	};
}

type Row = { i: number; contact: Contact; profile?: ProfileInput };

export async function upsertAll(
	fn: IExecuteFunctions,
	items: INodeExecutionData[],
	operation: string,
	store: Store,
	p: UpsertSettings,
): Promise<INodeExecutionData[][]> {
	const results: Array<INodeExecutionData | undefined> = new Array(items.length);
	const itemError = (i: number, error: unknown) => {
		const nodeError = asNodeError(fn.getNode(), error, i);
		if (!fn.continueOnFail()) throw nodeError;
		results[i] = {
			json: {
				...items[i].json,
				error: nodeError.message,
				...(nodeError.description ? { description: nodeError.description } : {}),
			},
			pairedItem: { item: i },
		};
	};
	const rows: Row[] = [];
	for (let i = 0; i < items.length; i++) {
		try {
			rows.push(readRow(fn, p, items[i].json, i, operation));
		} catch (error) {
			itemError(i, error);
		}
	}
	const { people, merged, unverified } = await resolveRows(fn, store, rows, operation, p);
	const profiles: Array<ProfileInput & { contactId: string }> = [];
	people.forEach((person, k) => {
		const { i, contact, profile } = rows[k];
		if (person.error) {
			const more =
				person.error instanceof IdentityConflictError && !unverified(i)
					? ' Or set "Address Belongs to Another Contact" to Merge or Move.'
					: '';
			itemError(
				i,
				new NodeOperationError(fn.getNode(), person.error.message, {
					itemIndex: i,
					description: `${person.error.hint}${more}`,
				}),
			);
			return;
		}
		// An existing contact's profile changes only on trusted input.
		if (profile && Object.keys(profile).length && !person.unverified)
			profiles.push({ contactId: person.contactId, ...profile });
		results[i] = upsertedItem(items[i], i, person, contact, merged.get(k));
	});
	await store.upsertProfiles(profiles);
	return [results.filter((r): r is INodeExecutionData => r !== undefined)];
}

/** One row: its contact and (Upsert) its profile, checked. */
function readRow(
	fn: IExecuteFunctions,
	p: UpsertSettings,
	json: IDataObject,
	i: number,
	operation: string,
): Row {
	const contact = p.readContact(json);
	if (contact.timeZone && !isValidZone(contact.timeZone)) {
		fail(
			fn,
			i,
			`Unknown time zone "${contact.timeZone}" at "${p.mapping.timeZoneField}"`,
			'Use an IANA name such as Europe/Madrid.',
		);
	}
	if (operation !== 'upsertContact') return { i, contact };
	const name = p.nameOf(json);
	const preferred = p.preferredOf(json);
	const attributes = p.attributesOf(json);
	if (
		attributes !== undefined &&
		attributes !== null &&
		(typeof attributes !== 'object' || Array.isArray(attributes))
	) {
		fail(
			fn,
			i,
			`Attributes at "${String(p.profileFields.attributesField ?? 'contact.attributes')}" must be an object, not ${Array.isArray(attributes) ? 'a list' : typeof attributes}`,
			'Point Attributes Field at an object such as { "tier": "gold" }.',
		);
	}
	const profile: ProfileInput = {
		...(typeof name === 'string' && name.trim() ? { name: name.trim().slice(0, 200) } : {}),
		...(typeof preferred === 'string' && preferred.trim()
			? { preferredChannel: preferred.trim() }
			: {}),
		...(contact.timeZone ? { timeZone: contact.timeZone } : {}),
		...(contact.locale ? { locale: contact.locale } : {}),
		...(attributes && typeof attributes === 'object'
			? { attributes: attributes as Record<string, unknown> }
			: {}),
	};
	return { i, contact, profile };
}

/**
 * Every row's person in one resolution. Input nobody verified never moves an address or merges a
 * contact, and never joins an existing one (the proof rule).
 */
async function resolveRows(
	fn: IExecuteFunctions,
	store: Store,
	rows: Row[],
	operation: string,
	p: UpsertSettings,
): Promise<{ people: Person[]; merged: Map<number, string>; unverified: (i: number) => boolean }> {
	const unverified = unverifiedInput(fn);
	const options = {
		create: true,
		link: true,
		source: operation === 'upsertContact' ? 'upsert' : 'link',
		onConflict:
			p.onConflict === 'move' && !rows.some((r) => unverified(r.i))
				? ('move' as const)
				: ('error' as const),
		unverified: (_c: Contact, k: number) => unverified(rows[k].i),
		// No ID: the person is whoever holds an address, or a new contact named by the first one.
		fallbackId: (c: Contact) => {
			const first = contactAddresses(c)[0];
			return first ? idForAddress(first) : undefined;
		},
	};
	const people = await resolvePeople(
		store,
		rows.map((r) => r.contact),
		options,
	);
	const merged = new Map<number, string>();
	if (p.onConflict === 'merge') {
		for (const [k, person] of people.entries()) {
			if (!person.error?.owner || unverified(rows[k].i)) continue;
			merged.set(k, person.error.owner);
			await store.mergeContacts(person.error.owner, person.contactId, p.actor);
			[people[k]] = await resolvePeople(store, [rows[k].contact], options);
		}
	}
	return { people, merged, unverified };
}

function upsertedItem(
	item: INodeExecutionData,
	i: number,
	person: Person,
	contact: Contact,
	mergedFrom: string | undefined,
): INodeExecutionData {
	return {
		json: {
			...item.json,
			contactBook: {
				id: person.contactId,
				created: person.created,
				...(person.unverified
					? {
							unverified: true,
							note: 'An existing contact, from input nobody verified: nothing was added to it and its profile was not changed.',
						}
					: {}),
				addresses: contactAddresses(contact).map((a) => ({
					kind: a.kind,
					value: a.kind === 'push' ? `${a.value.slice(0, 8)}…` : a.value,
				})),
				...(mergedFrom !== undefined ? { mergedFrom } : {}),
				// What was not linked, and why (a value that is not an email or a phone number).
				...(unusableAddresses(contact).length ? { notLinked: unusableAddresses(contact) } : {}),
			},
		},
		pairedItem: { item: i },
	};
}
