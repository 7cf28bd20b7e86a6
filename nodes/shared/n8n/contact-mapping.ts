/**
 * The one contact mapping every node uses: where in an item the contact's id, addresses, time
 * zone and locale are. A marketer maps their data once, the same way on every node.
 * Paths are plain field paths (no per-item expressions on the hot path).
 */
import type { IDataObject, INodeProperties } from 'n8n-workflow';

import type { Contact } from '../contact';
import { compileFieldPath } from '../field-path';

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

/** Longest value accepted per field: anything longer is bad input, refused before the store. */
const MAX_LENGTH: Record<keyof ContactMapping, number> = {
	idField: 256,
	emailField: 320,
	phoneField: 40,
	whatsappIdField: 128,
	psidField: 128,
	instagramIdField: 128,
	pushTokenField: 4096,
	timeZoneField: 64,
	localeField: 35,
};
// Control characters (a NUL byte fails a whole PostgreSQL batch): matching them is the point.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

const FIELDS: Array<[keyof ContactMapping, string, string]> = [
	[
		'idField',
		'Contact ID Field',
		"Path to the contact's stable ID in your data (CRM ID, customer number...)",
	],
	['emailField', 'Email Field', 'Path to the email address'],
	['phoneField', 'Phone Field', 'Path to the phone number (E.164, e.g. +34600111222)'],
	[
		'whatsappIdField',
		'WhatsApp ID Field',
		'Path to the WhatsApp ID (wa_id) or business-scoped user ID, used when there is no phone',
	],
	['psidField', 'Messenger PSID Field', 'Path to the Messenger page-scoped ID'],
	['instagramIdField', 'Instagram ID Field', 'Path to the Instagram-scoped ID'],
	['pushTokenField', 'Push Token Field', 'Path to the FCM registration token'],
	[
		'timeZoneField',
		'Time Zone Field',
		'Path to the IANA time zone (e.g. Europe/Madrid), used for quiet hours',
	],
	['localeField', 'Locale Field', 'Path to the locale (e.g. es-ES)'],
];

/** The "Contact Fields" collection, spread into every node's properties. */
export const contactMappingProperty: INodeProperties = {
	displayName: 'Contact Fields',
	name: 'contactFields',
	type: 'collection',
	placeholder: 'Add Field Path',
	default: {},
	description:
		'Only needed when your items keep the contact elsewhere. Without it, each field is found in a "contact" object (contact.email, contact.phone...) or, when there is none, at the top of the item (email, phone, name, contactId or id).',
	// The rule cannot see the defaults computed from the table above.
	// eslint-disable-next-line n8n-nodes-base/node-param-default-missing
	options: FIELDS.map(([name, displayName, description]) => ({
		displayName,
		name,
		type: 'string',
		default: DEFAULT_CONTACT_MAPPING[name],
		requiresDataPath: 'single' as const,
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
/** "ana@x.example" -> email, "+34 600 111 222" -> phone, anything else -> id. */
export function contactFromString(value: string): IDataObject {
	const v = value.trim();
	if (/^[^\s@]+@[^\s@]+$/.test(v)) return { email: v };
	const compact = v.replace(/[\s().-]/g, '');
	if (/^\+[1-9]\d{6,14}$/.test(compact)) return { phone: compact };
	return { id: v };
}

/**
 * Where a field is also found when its path is left at the default and the item has no `contact`
 * object: the flat shape Edit Fields, a spreadsheet or a form gives (email, phone, name...), and the
 * contactId the Touchpoint Trigger and Consent Guard put on their items.
 */
const FLAT: Record<keyof ContactMapping, string[]> = {
	idField: ['contactId', 'id'],
	emailField: ['email'],
	phoneField: ['phone'],
	whatsappIdField: ['whatsappId'],
	psidField: ['psid'],
	instagramIdField: ['instagramId'],
	pushTokenField: ['pushToken'],
	timeZoneField: ['timeZone'],
	localeField: ['locale'],
};

function fieldReader(key: keyof ContactMapping, path: string): (json: unknown) => unknown {
	const primary = compileFieldPath(path);
	if (path !== DEFAULT_CONTACT_MAPPING[key]) return primary;
	return (json) => {
		const v = primary(json);
		const item = json as IDataObject | undefined;
		if (v !== undefined || !item || (typeof item.contact === 'object' && item.contact !== null))
			return v;
		for (const flat of FLAT[key])
			if (item[flat] !== undefined && item[flat] !== null && item[flat] !== '') return item[flat];
		return v;
	};
}

/** One mapped field as text (a number as text, a blank as missing), checked before it goes on. */
function valueReader(
	mapping: ContactMapping,
	get: Record<keyof ContactMapping, (json: unknown) => unknown>,
): (key: keyof ContactMapping, json: IDataObject) => string | undefined {
	return (key, json) => {
		const v = get[key](json);
		let s: string | undefined;
		if (typeof v === 'string') s = v.trim() === '' ? undefined : v.trim();
		else if (typeof v === 'number' && Number.isFinite(v)) s = String(v);
		if (s === undefined) return undefined;
		// Hostile or broken input stops at the item, before the store (a NUL byte fails a whole
		// PostgreSQL batch; megabyte ids bloat every cache and index).
		if (CONTROL.test(s) || s.length > MAX_LENGTH[key]) {
			const shown =
				JSON.stringify(s.slice(0, 40)).replace(/\\u0000/g, '\\0') +
				(s.length > 40 ? `… (${s.length} characters)` : '');
			throw new ContactMappingError(
				mapping[key],
				shown,
				`Invalid value at "${mapping[key]}": ${shown}`,
				CONTROL.test(s)
					? 'It contains control characters (such as a NUL byte). Clean the field in an earlier step.'
					: `It is longer than ${MAX_LENGTH[key]} characters. Check that the path points at the right field.`,
			);
		}
		return s;
	};
}

export function compileContactReader(
	mapping: ContactMapping,
	options: { idOptional?: boolean } = {},
): (json: IDataObject) => Contact {
	const get = Object.fromEntries(
		FIELDS.map(([key]) => [key, fieldReader(key, mapping[key])]),
	) as Record<keyof ContactMapping, (json: unknown) => unknown>;
	const read = valueReader(mapping, get);
	const ADDRESS_FIELDS: Array<keyof ContactMapping> = [
		'emailField',
		'phoneField',
		'whatsappIdField',
		'psidField',
		'instagramIdField',
		'pushTokenField',
	];
	// A contact given as one string where the default Contact Fields expect an object (an AI Agent's
	// `contact` argument, a form's single field): an email, an E.164 phone, or else an ID.
	const single =
		mapping.idField === DEFAULT_CONTACT_MAPPING.idField && mapping.idField.startsWith('contact.')
			? 'contact'
			: undefined;
	return (json) => {
		if (single && typeof json[single] === 'string')
			json = { ...json, [single]: contactFromString(json[single] as string) };
		const id = read('idField', json);
		// Nodes that find the person by address take an item with no id but an address.
		if (
			id === undefined &&
			options.idOptional &&
			ADDRESS_FIELDS.some((f) => read(f, json) !== undefined)
		) {
			return readRest({ id: '' }, json);
		}
		if (id === undefined) {
			const fields = Object.keys(json).slice(0, 8).join(', ') || 'none';
			throw new ContactMappingError(
				mapping.idField,
				get.idField(json),
				`Missing contact ID at "${mapping.idField}" (found ${JSON.stringify(get.idField(json)) ?? 'nothing'}; the item's fields: ${fields})`,
				(options.idOptional
					? 'Every item needs a contact ID or an address (email, phone, WhatsApp ID, PSID, Instagram ID or push token). Set "Contact Fields" to the paths where your data keeps them.'
					: 'Every item needs a stable contact ID. Set "Contact Fields > Contact ID Field" to the path where your data keeps it.') +
					' A field path names where the value is, such as contact.id or id, not the value itself.',
			);
		}
		return readRest({ id }, json);
	};
	function readRest(contact: Contact, json: IDataObject): Contact {
		const email = read('emailField', json);
		if (email) contact.email = email;
		const phone = read('phoneField', json);
		if (phone) contact.phone = phone;
		const whatsappId = read('whatsappIdField', json);
		if (whatsappId) contact.whatsappId = whatsappId;
		const psid = read('psidField', json);
		if (psid) contact.psid = psid;
		const instagramId = read('instagramIdField', json);
		if (instagramId) contact.instagramId = instagramId;
		const pushToken = read('pushTokenField', json);
		if (pushToken) contact.pushToken = pushToken;
		const timeZone = read('timeZoneField', json);
		if (timeZone) contact.timeZone = timeZone;
		const locale = read('localeField', json);
		if (locale) contact.locale = locale;
		return contact;
	}
}
