/**
 * The one contact mapping every node uses: where in an item the contact's id, addresses, time
 * zone and locale are. A marketer maps their data once, the same way on every node.
 * Paths are plain field paths (no per-item expressions on the hot path).
 */
import type { IDataObject, INodeProperties } from 'n8n-workflow';

import type { Contact } from '../contact';
import { compileFieldPath } from './field-path';

export interface ContactMapping {
	idField: string;
	emailField: string;
	phoneField: string;
	whatsappIdField: string;
	psidField: string;
	instagramIdField: string;
	pushTokenField: string;
	timeZoneField: string;
	localeField: string;
}

export const DEFAULT_CONTACT_MAPPING: ContactMapping = {
	idField: 'contact.id',
	emailField: 'contact.email',
	phoneField: 'contact.phone',
	whatsappIdField: 'contact.whatsappId',
	psidField: 'contact.psid',
	instagramIdField: 'contact.instagramId',
	pushTokenField: 'contact.pushToken',
	timeZoneField: 'contact.timeZone',
	localeField: 'contact.locale',
};

const FIELDS: Array<[keyof ContactMapping, string, string]> = [
	['idField', 'Contact ID Field', 'Path to the contact\'s stable ID in your data (CRM ID, customer number...)'],
	['emailField', 'Email Field', 'Path to the email address'],
	['phoneField', 'Phone Field', 'Path to the phone number (E.164, e.g. +34600111222)'],
	['whatsappIdField', 'WhatsApp ID Field', 'Path to the WhatsApp ID (wa_id) or business-scoped user ID, used when there is no phone'],
	['psidField', 'Messenger PSID Field', 'Path to the Messenger page-scoped ID'],
	['instagramIdField', 'Instagram ID Field', 'Path to the Instagram-scoped ID'],
	['pushTokenField', 'Push Token Field', 'Path to the FCM registration token'],
	['timeZoneField', 'Time Zone Field', 'Path to the IANA time zone (e.g. Europe/Madrid), used for quiet hours'],
	['localeField', 'Locale Field', 'Path to the locale (e.g. es-ES)'],
];

/** The "Contact Fields" collection, spread into every node's properties. */
export const contactMappingProperty: INodeProperties = {
	displayName: 'Contact Fields',
	name: 'contactFields',
	type: 'collection',
	placeholder: 'Change field path',
	default: {},
	description:
		'Where each contact field is in the incoming items. Defaults expect a "contact" object, e.g. contact.id, contact.phone.',
	options: FIELDS.map(([name, displayName, description]) => ({
		displayName,
		name,
		type: 'string',
		default: DEFAULT_CONTACT_MAPPING[name],
		description,
	})),
};

export function resolveContactMapping(value: IDataObject | undefined): ContactMapping {
	const mapping = { ...DEFAULT_CONTACT_MAPPING };
	for (const [key] of FIELDS) {
		const v = value?.[key];
		if (typeof v === 'string' && v.trim() !== '') mapping[key] = v.trim();
	}
	return mapping;
}

export class ContactMappingError extends Error {
	constructor(
		readonly field: string,
		readonly value: unknown,
		message: string,
		readonly hint: string,
	) {
		super(message);
	}
}

/**
 * Compiles the mapping once; the returned reader turns an item's json into a Contact.
 * Values are taken as given (trimmed strings; numbers become strings); normalisation and
 * validation of addresses belong to nodes/shared/address.ts.
 */
export function compileContactReader(mapping: ContactMapping): (json: IDataObject) => Contact {
	const get = Object.fromEntries(
		FIELDS.map(([key]) => [key, compileFieldPath(mapping[key])]),
	) as Record<keyof ContactMapping, (json: unknown) => unknown>;
	const str = (v: unknown): string | undefined => {
		if (typeof v === 'string') return v.trim() === '' ? undefined : v.trim();
		if (typeof v === 'number' && Number.isFinite(v)) return String(v);
		return undefined;
	};
	return (json) => {
		const id = str(get.idField(json));
		if (id === undefined) {
			throw new ContactMappingError(
				mapping.idField,
				get.idField(json),
				`Missing contact ID at "${mapping.idField}" (found ${JSON.stringify(get.idField(json)) ?? 'nothing'})`,
				'Every item needs a stable contact ID. Set "Contact Fields > Contact ID Field" to the path where your data keeps it.',
			);
		}
		const contact: Contact = { id };
		const email = str(get.emailField(json));
		if (email) contact.email = email;
		const phone = str(get.phoneField(json));
		if (phone) contact.phone = phone;
		const whatsappId = str(get.whatsappIdField(json));
		if (whatsappId) contact.whatsappId = whatsappId;
		const psid = str(get.psidField(json));
		if (psid) contact.psid = psid;
		const instagramId = str(get.instagramIdField(json));
		if (instagramId) contact.instagramId = instagramId;
		const pushToken = str(get.pushTokenField(json));
		if (pushToken) contact.pushToken = pushToken;
		const timeZone = str(get.timeZoneField(json));
		if (timeZone) contact.timeZone = timeZone;
		const locale = str(get.localeField(json));
		if (locale) contact.locale = locale;
		return contact;
	};
}
