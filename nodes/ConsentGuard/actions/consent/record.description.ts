/** Record Consent, Confirm Consent and Unsubscribe Link: their parameters (the evidence first). */
import type { INodeProperties } from 'n8n-workflow';

import { updateDisplayOptions } from '../../../shared/n8n/display-options';
import { inputFromProperty } from '../../../shared/n8n/input-trust';
import type { ConsentEventInput } from '../../../shared/domain';
import {
	channelFieldProperty,
	channelProperty,
	customPurposeProperty,
	purposeProperty,
} from '../common';

const evidenceProperties: INodeProperties[] = [
	{
		displayName: 'Source',
		name: 'source',
		type: 'string',
		default: 'n8n',
		required: true,
		placeholder: 'https://shop.example/signup',
		description: 'Where the consent was given: form URL, keyword, import name... Kept as evidence.',
	},
	{
		displayName: 'Evidence',
		name: 'evidence',
		type: 'collection',
		placeholder: 'Add evidence',
		default: {},
		options: [
			{
				displayName: 'Actor',
				name: 'actor',
				type: 'string',
				default: 'contact',
				description: 'Who recorded it: contact, agent:maria, import',
			},
			{
				displayName: 'IP Address Field',
				name: 'ipAddressField',
				type: 'string',
				requiresDataPath: 'single',
				default: '',
				placeholder: 'request.ip',
			},
			{
				displayName: 'User Agent Field',
				name: 'userAgentField',
				type: 'string',
				requiresDataPath: 'single',
				default: '',
				placeholder: 'request.userAgent',
			},
			{
				displayName: 'Wording',
				name: 'wording',
				type: 'string',
				typeOptions: { rows: 2 },
				default: '',
				description: 'The exact text the person agreed to (stored with its SHA-256)',
			},
			{
				displayName: 'Wording Version',
				name: 'wordingVersion',
				type: 'string',
				default: '',
				placeholder: 'v3-2026-05',
			},
		],
	},
];

export const CONSENT_ACTIONS: ReadonlyArray<ConsentEventInput['action']> = [
	'grant',
	'withdraw',
	'request',
];

const recordProperties: INodeProperties[] = [
	channelProperty,
	channelFieldProperty,
	purposeProperty,
	customPurposeProperty,
	{
		displayName: 'Action',
		name: 'consentAction',
		type: 'options',
		options: [
			{ name: 'Grant', value: 'grant', description: 'The person agreed' },
			{ name: 'Withdraw', value: 'withdraw', description: 'The person opted out' },
			{
				name: 'Request (Double Opt-In)',
				value: 'request',
				description: 'Pending until the person confirms with the link token',
			},
		],
		default: 'grant',
	},
	...evidenceProperties,
	{
		displayName: 'Options',
		name: 'recordOptions',
		type: 'collection',
		placeholder: 'Add option',
		default: {},
		options: [
			{
				displayName: 'Occurred At Field',
				name: 'occurredAtField',
				type: 'string',
				default: '',
				placeholder: 'crm.consentDate',
				requiresDataPath: 'single',
				description:
					'Path to when the person gave or withdrew consent (ISO 8601 or epoch), e.g. for an import. Default: now. Consent follows the latest event by this time, whatever order events are recorded in.',
			},
		],
	},
	{
		displayName: 'Confirmation Link Valid For (Hours)',
		name: 'confirmationValidHours',
		type: 'number',
		default: 48,
		typeOptions: { minValue: 1 },
		displayOptions: { show: { consentAction: ['request'] } },
	},
];

const confirmProperties: INodeProperties[] = [
	{
		displayName: 'Token Field',
		name: 'tokenField',
		requiresDataPath: 'single',
		type: 'string',
		typeOptions: { password: true },
		default: 'query.token',
		description:
			"Path to the confirmation token in the item (e.g. the query of the confirm webhook). Feed this from a POST webhook (the link's page has a Confirm button that posts it): mail systems open every link in a message, and a GET must never confirm.",
	},
	...evidenceProperties.map((p) =>
		p.name === 'source' ? { ...p, default: 'confirmation-link' } : p,
	),
];

const unsubscribeProperties: INodeProperties[] = [
	{
		displayName:
			"Put this after a Webhook at the URL Touchpoint's signed unsubscribe links point to (the One-Click Unsubscribe template). A valid link withdraws consent for the person, channel and purpose it names; a link that is altered, made for another store or not a link at all does nothing and says so (outcome invalid).",
		name: 'unsubscribeNotice',
		type: 'notice',
		default: '',
	},
	...confirmProperties.map((p) =>
		p.name === 'tokenField'
			? {
					...p,
					description:
						"Path to the token of the signed unsubscribe link (its URL's token query parameter)",
				}
			: p.name === 'source'
				? { ...p, default: 'one-click-unsubscribe' }
				: p,
	),
];

export const description = [
	...updateDisplayOptions({ show: { operation: ['recordConsent'] } }, [
		...recordProperties,
		inputFromProperty,
	]),
	...updateDisplayOptions({ show: { operation: ['confirmConsent'] } }, confirmProperties),
	...updateDisplayOptions({ show: { operation: ['unsubscribeLink'] } }, unsubscribeProperties),
];
