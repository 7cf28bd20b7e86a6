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

import { compileContactReader, resolveContactMapping } from '../../../shared/n8n/contact-mapping';
import { updateDisplayOptions } from '../../../shared/n8n/display-options';
import { compileFieldPath } from '../../../shared/field-path';
import { inputFromProperty } from '../../../shared/n8n/input-trust';
import { getStore } from '../../../shared/n8n/store';
import { IdentityConflictError, resolvePeople } from '../../../shared/people';
import type { Contact } from '../../../shared/contact';
import type { Store } from '../../../shared/store/types';
import { asNodeError } from '../../../shared/n8n/fail-closed';
import { fail } from '../common';
import { readUpsertSettings, upsertAll } from './contacts-upsert';

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
	const actor = `workflow:${this.getWorkflow().id ?? ''}`;
	if (operation === 'upsertContact' || operation === 'linkAddress')
		return await upsertAll(
			this,
			items,
			operation,
			store,
			readUpsertSettings(this, operation, readContact, mapping, actor),
		);
	const mergeField =
		operation === 'mergeContacts'
			? String(this.getNodeParameter('mergeIdField', 0, 'merge.contactId'))
			: '';
	const merge = {
		field: mergeField,
		idOf: compileFieldPath(mergeField || 'merge.contactId'),
		actor,
	};
	const touches =
		operation === 'getContact' ? Number(this.getNodeParameter('recentTouches', 0, 20)) : 0;
	const out: INodeExecutionData[] = [];
	for (let i = 0; i < items.length; i++) {
		try {
			const json = items[i].json;
			const contact = readContact(json);
			if (operation === 'mergeContacts')
				out.push(await mergeOne(this, store, json, contact, i, merge));
			else if (operation === 'findContact' || operation === 'getContact')
				out.push(await findOne(this, store, json, contact, i, touches));
			else
				throw new NodeOperationError(this.getNode(), `The operation "${operation}" is not known`);
		} catch (error) {
			const nodeError = asNodeError(this.getNode(), error, i);
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

/** Merge Contacts: the duplicate named at Merge Contact ID Field moves into the item's contact. */
async function mergeOne(
	fn: IExecuteFunctions,
	store: Store,
	json: IDataObject,
	contact: Contact,
	i: number,
	merge: { field: string; idOf: (json: IDataObject) => unknown; actor: string },
): Promise<INodeExecutionData> {
	const raw = merge.idOf(json);
	const fromId = typeof raw === 'number' ? String(raw) : typeof raw === 'string' ? raw.trim() : '';
	if (!fromId)
		fail(
			fn,
			i,
			`Missing contact ID to merge at "${merge.field}" (found ${JSON.stringify(raw) ?? 'nothing'})`,
			'Point Merge Contact ID Field at the ID of the duplicate contact.',
		);
	const [into] = await resolvePeople(store, [{ id: contact.id }]);
	const [from] = await resolvePeople(store, [{ id: fromId }]);
	if (from.contactId === into.contactId)
		fail(
			fn,
			i,
			`"${fromId}" and "${contact.id}" are already one contact ("${into.contactId}")`,
			'Nothing to merge.',
		);
	const { moved } = await store.mergeContacts(fromId, into.contactId, merge.actor);
	if (!moved && !from.known) {
		fail(
			fn,
			i,
			`No contact "${fromId}" to merge (found at "${merge.field}")`,
			'Check the ID of the duplicate contact; nothing is stored under it.',
		);
	}
	return {
		json: { ...json, merge: { from: fromId, into: into.contactId, rowsMoved: moved } },
		pairedItem: { item: i },
	};
}

/** Get Contact / Find by Address: the person who holds the item's id or address, if anyone. */
async function findOne(
	fn: IExecuteFunctions,
	store: Store,
	json: IDataObject,
	contact: Contact,
	i: number,
	touches: number,
): Promise<INodeExecutionData> {
	const [person] = await resolvePeople(store, [contact]);
	if (person.error instanceof IdentityConflictError)
		fail(fn, i, person.error.message, person.error.hint);
	const found = person.known && !person.error;
	const data = found ? await summary(store, person.contactId, touches) : null;
	return {
		json: { ...json, contactBook: { found, ...(data ?? { id: contact.id || null }) } },
		pairedItem: { item: i },
	};
}
