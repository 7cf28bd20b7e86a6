/**
 * The contact book: one person, one id, many addresses.
 * - Upsert Contact: profile attributes and addresses from an item (e.g. a CRM row).
 * - Link Address: the item's addresses become the contact's.
 * - Merge Contacts: everything of one id moves to another (consent refolded: the later
 *   withdrawal wins); the old id then resolves to the survivor; the merge is audited.
 * - Get Contact: profile, addresses, consent per channel and purpose, recent touches, journeys.
 * - Find by Address: who holds an email, phone, WhatsApp ID, PSID, Instagram ID or push token.
 * An address held by someone else is an error naming both, unless "Address Belongs to Another
 * Contact" says to move it or to merge that contact in.
 */
import type {
	IDataObject,
	IExecuteFunctions,
	INodeExecutionData,
	INodeProperties,
} from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { idForAddress } from '../../../shared/address';
import {
	compileContactReader,
	resolveContactMapping,
	type ContactMapping,
} from '../../../shared/n8n/contact-mapping';
import { updateDisplayOptions } from '../../../shared/n8n/display-options';
import { compileFieldPath } from '../../../shared/field-path';
import { inputFromProperty, unverifiedInput } from '../../../shared/n8n/input-trust';
import { getStore } from '../../../shared/n8n/store';
import {
	contactAddresses,
	IdentityConflictError,
	resolvePeople,
	unusableAddresses,
} from '../../../shared/people';
import { isValidZone } from '../../../shared/policy';
import type { Contact } from '../../../shared/contact';
import type { ProfileInput, Store } from '../../../shared/store/types';

const conflictProperty: INodeProperties = {
	displayName: 'Address Belongs to Another Contact',
	name: 'onAddressConflict',
	type: 'options',
	options: [
		{
			name: 'Error',
			value: 'error',
			description: 'The item fails with a message naming both contacts; nothing is changed',
		},
		{
			name: 'Merge That Contact Into This One',
			value: 'merge',
			description: 'They are one person: everything of the other contact moves to this one',
		},
		{
			name: 'Move the Address to This Contact',
			value: 'move',
			description: 'The address changed hands (e.g. a recycled phone number)',
		},
	],
	default: 'error',
};

const profileProperty: INodeProperties = {
	displayName: 'Profile Fields',
	name: 'profileFields',
	type: 'collection',
	placeholder: 'Add field',
	default: {},
	options: [
		{
			displayName: 'Name Field',
			name: 'nameField',
			type: 'string',
			default: 'contact.name',
			requiresDataPath: 'single',
			description: "Path to the person's name",
		},
		{
			displayName: 'Preferred Channel Field',
			name: 'preferredChannelField',
			type: 'string',
			default: 'contact.preferredChannel',
			requiresDataPath: 'single',
			description: 'Path to the channel the person prefers (whatsapp, sms, email...)',
		},
		{
			displayName: 'Attributes Field',
			name: 'attributesField',
			type: 'string',
			default: 'contact.attributes',
			requiresDataPath: 'single',
			description:
				'Path to an object of custom attributes (merged key by key into the stored ones)',
		},
	],
};

const mergeProperty: INodeProperties = {
	displayName: 'Merge Contact ID Field',
	name: 'mergeIdField',
	type: 'string',
	default: 'merge.contactId',
	required: true,
	requiresDataPath: 'single',
	description:
		"Path to the ID of the contact that goes away; everything it has moves to the item's contact ID",
};

const touchesProperty: INodeProperties = {
	displayName: 'Recent Touches',
	name: 'recentTouches',
	type: 'number',
	default: 20,
	typeOptions: { minValue: 0 },
	description: 'How many of the latest sends to include',
};

export const description: INodeProperties[] = [
	...updateDisplayOptions({ show: { operation: ['upsertContact'] } }, [profileProperty]),
	...updateDisplayOptions({ show: { operation: ['upsertContact', 'linkAddress'] } }, [
		conflictProperty,
		inputFromProperty,
	]),
	...updateDisplayOptions({ show: { operation: ['mergeContacts'] } }, [mergeProperty]),
	...updateDisplayOptions({ show: { operation: ['getContact'] } }, [touchesProperty]),
];

function fail(ctx: IExecuteFunctions, i: number, message: string, hint: string): never {
	throw new NodeOperationError(ctx.getNode(), message, { itemIndex: i, description: hint });
}

async function summary(store: Store, contactId: string, touches: number): Promise<IDataObject> {
	const data = await store.exportContact(contactId);
	const profile = (data.profile ?? null) as IDataObject | null;
	return {
		id: data.contactId,
		ids: data.ids as string[],
		name: (profile?.name as string) ?? null,
		locale: (profile?.locale as string) ?? null,
		timeZone: (profile?.timeZone as string) ?? null,
		preferredChannel: (profile?.preferredChannel as string) ?? null,
		attributes: (profile?.attributes as IDataObject) ?? {},
		addresses: (data.addresses as IDataObject[]).map((a) => ({
			kind: a.kind,
			value: a.value,
			source: a.source ?? null,
			firstSeen: new Date(Number(a.first_seen)).toISOString(),
			lastSeen: new Date(Number(a.last_seen)).toISOString(),
		})),
		consent: data.consentStates.map((s) => ({
			channel: s.channel,
			purpose: s.purpose,
			status: s.status,
			since: new Date(s.updatedAt).toISOString(),
			addresses: s.addresses ?? [],
		})),
		recentTouches: data.touches
			.slice(-touches)
			.reverse()
			.map((t) => ({
				channel: t.channel,
				purpose: t.purpose,
				campaign: t.campaign ?? null,
				status: t.status,
				at: new Date(t.createdAt).toISOString(),
			})),
		journeys: (data.journeyStates as IDataObject[]).map((j) => ({
			journey: j.journey,
			stage: j.stage,
			enteredAt: new Date(Number(j.entered_at)).toISOString(),
		})),
		engagement: (data.engagement as IDataObject[])[0]?.score ?? null,
		merges: data.merges as IDataObject[],
	};
}

export async function execute(
	this: IExecuteFunctions,
	items: INodeExecutionData[],
	operation: string,
): Promise<INodeExecutionData[][]> {
	const mapping = resolveContactMapping(
		this.getNodeParameter('contactFields', 0, {}) as IDataObject,
	);
	// A new person from a form or a list has no ID of yours yet: Upsert creates them by address.
	const idOptional =
		operation === 'findContact' || operation === 'getContact' || operation === 'upsertContact';
	const readContact = compileContactReader(mapping, { idOptional });
	const store = await getStore(this);
	const onConflict =
		operation === 'upsertContact' || operation === 'linkAddress'
			? (this.getNodeParameter('onAddressConflict', 0, 'error') as string)
			: 'error';
	const profileFields =
		operation === 'upsertContact'
			? (this.getNodeParameter('profileFields', 0, {}) as IDataObject)
			: {};
	const nameOf = compileFieldPath(String(profileFields.nameField ?? 'contact.name'));
	const preferredOf = compileFieldPath(
		String(profileFields.preferredChannelField ?? 'contact.preferredChannel'),
	);
	const attributesOf = compileFieldPath(
		String(profileFields.attributesField ?? 'contact.attributes'),
	);
	const mergeField =
		operation === 'mergeContacts'
			? String(this.getNodeParameter('mergeIdField', 0, 'merge.contactId'))
			: '';
	const mergeIdOf = compileFieldPath(mergeField || 'merge.contactId');
	const touches =
		operation === 'getContact' ? Number(this.getNodeParameter('recentTouches', 0, 20)) : 0;
	const actor = `workflow:${this.getWorkflow().id ?? ''}`;

	if (operation === 'upsertContact' || operation === 'linkAddress') {
		return await upsertAll.call(this, items, operation, store, {
			readContact,
			mapping,
			onConflict,
			profileFields,
			nameOf,
			preferredOf,
			attributesOf,
			actor,
		});
	}

	const out: INodeExecutionData[] = [];
	for (let i = 0; i < items.length; i++) {
		try {
			const json = items[i].json;
			const contact = readContact(json);
			if (operation === 'mergeContacts') {
				const raw = mergeIdOf(json);
				const fromId =
					typeof raw === 'number' ? String(raw) : typeof raw === 'string' ? raw.trim() : '';
				if (!fromId)
					fail(
						this,
						i,
						`Missing contact ID to merge at "${mergeField}" (found ${JSON.stringify(raw) ?? 'nothing'})`,
						'Point Merge Contact ID Field at the ID of the duplicate contact.',
					);
				const [into] = await resolvePeople(store, [{ id: contact.id }]);
				const [from] = await resolvePeople(store, [{ id: fromId }]);
				if (from.contactId === into.contactId)
					fail(
						this,
						i,
						`"${fromId}" and "${contact.id}" are already one contact ("${into.contactId}")`,
						'Nothing to merge.',
					);
				const { moved } = await store.mergeContacts(fromId, into.contactId, actor);
				if (!moved && !from.known) {
					fail(
						this,
						i,
						`No contact "${fromId}" to merge (found at "${mergeField}")`,
						'Check the ID of the duplicate contact; nothing is stored under it.',
					);
				}
				out.push({
					json: { ...json, merge: { from: fromId, into: into.contactId, rowsMoved: moved } },
					pairedItem: { item: i },
				});
				continue;
			}
			if (operation === 'findContact' || operation === 'getContact') {
				const [person] = await resolvePeople(store, [contact]);
				if (person.error instanceof IdentityConflictError)
					fail(this, i, person.error.message, person.error.hint);
				const found = person.known && !person.error;
				const data = found ? await summary(store, person.contactId, touches) : null;
				out.push({
					json: { ...json, contactBook: { found, ...(data ?? { id: contact.id || null }) } },
					pairedItem: { item: i },
				});
				continue;
			}
			throw new NodeOperationError(this.getNode(), `The operation "${operation}" is not known`);
		} catch (error) {
			const nodeError =
				error instanceof NodeOperationError
					? error
					: new NodeOperationError(this.getNode(), error as Error, { itemIndex: i });
			if (!this.continueOnFail()) throw nodeError;
			out.push({
				json: {
					...items[i].json,
					error: nodeError.message,
					...(nodeError.description ? { description: nodeError.description } : {}),
				},
				pairedItem: { item: i },
			});
		}
	}
	return [out];
}

/**
 * Upsert Contact / Link Address for a whole batch (a CRM import): one resolution of every row, one
 * profile write, a fixed number of statements per chunk of rows. A row whose address belongs to
 * someone else fails alone (or, with Merge, takes that contact in; rare, so merged one by one).
 */
async function upsertAll(
	this: IExecuteFunctions,
	items: INodeExecutionData[],
	operation: string,
	store: Store,
	p: {
		readContact: (json: IDataObject) => Contact;
		mapping: ContactMapping;
		onConflict: string;
		profileFields: IDataObject;
		nameOf: (json: unknown) => unknown;
		preferredOf: (json: unknown) => unknown;
		attributesOf: (json: unknown) => unknown;
		actor: string;
	},
): Promise<INodeExecutionData[][]> {
	const results: Array<INodeExecutionData | undefined> = new Array(items.length);
	const itemError = (i: number, error: unknown) => {
		const nodeError =
			error instanceof NodeOperationError
				? error
				: new NodeOperationError(this.getNode(), error as Error, { itemIndex: i });
		if (!this.continueOnFail()) throw nodeError;
		results[i] = {
			json: {
				...items[i].json,
				error: nodeError.message,
				...(nodeError.description ? { description: nodeError.description } : {}),
			},
			pairedItem: { item: i },
		};
	};
	const rows: Array<{ i: number; contact: Contact; profile?: ProfileInput }> = [];
	for (let i = 0; i < items.length; i++) {
		try {
			const json = items[i].json;
			const contact = p.readContact(json);
			if (contact.timeZone && !isValidZone(contact.timeZone)) {
				fail(
					this,
					i,
					`Unknown time zone "${contact.timeZone}" at "${p.mapping.timeZoneField}"`,
					'Use an IANA name such as Europe/Madrid.',
				);
			}
			let profile: ProfileInput | undefined;
			if (operation === 'upsertContact') {
				const name = p.nameOf(json);
				const preferred = p.preferredOf(json);
				const attributes = p.attributesOf(json);
				if (
					attributes !== undefined &&
					attributes !== null &&
					(typeof attributes !== 'object' || Array.isArray(attributes))
				) {
					fail(
						this,
						i,
						`Attributes at "${String(p.profileFields.attributesField ?? 'contact.attributes')}" must be an object, not ${Array.isArray(attributes) ? 'a list' : typeof attributes}`,
						'Point Attributes Field at an object such as { "tier": "gold" }.',
					);
				}
				profile = {
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
			}
			rows.push({ i, contact, profile });
		} catch (error) {
			itemError(i, error);
		}
	}
	// Input nobody verified never moves an address or merges a contact, and never joins an existing one (the proof rule).
	const unverified = unverifiedInput(this);
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
				new NodeOperationError(this.getNode(), person.error.message, {
					itemIndex: i,
					description: `${person.error.hint}${more}`,
				}),
			);
			return;
		}
		// An existing contact's profile changes only on trusted input.
		if (profile && Object.keys(profile).length && !person.unverified)
			profiles.push({ contactId: person.contactId, ...profile });
		results[i] = {
			json: {
				...items[i].json,
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
					...(merged.has(k) ? { mergedFrom: merged.get(k)! } : {}),
					// What was not linked, and why (a value that is not an email or a phone number).
					...(unusableAddresses(contact).length ? { notLinked: unusableAddresses(contact) } : {}),
				},
			},
			pairedItem: { item: i },
		};
	});
	await store.upsertProfiles(profiles);
	return [results.filter((r): r is INodeExecutionData => r !== undefined)];
}
