/**
 * Record Consent (grant / withdraw / request with double opt-in) and Confirm (the single-use
 * token from the confirmation link). Every event lands in the append-only ledger with its
 * evidence: source, exact wording (hashed), version, IP, user agent, actor, time.
 */
import { createHash, randomBytes } from 'node:crypto';
import type {
	IDataObject,
	IExecuteFunctions,
	INodeExecutionData,
	INodeProperties,
} from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { idForAddress, normalizeEmail, normalizePhone } from '../../../shared/address';
import { channelAddress, isChannel, type Channel, type Contact } from '../../../shared/contact';
import { channelBookAddress, personIdsOf, resolvePeople } from '../../../shared/people';
import { verifyUnsubscribeToken } from '../../../shared/policy/unsubscribe';
import { compileContactReader, resolveContactMapping } from '../../../shared/n8n/contact-mapping';
import { updateDisplayOptions } from '../../../shared/n8n/display-options';
import { compileFieldPath } from '../../../shared/field-path';
import { parameterReader } from '../../../shared/n8n/params';
import { inputFromProperty, unverifiedInput } from '../../../shared/n8n/input-trust';
import { getStore } from '../../../shared/n8n/store';
import { toTime } from '../../../shared/segment/rules';
import { supersededJson } from '../../../shared/store/consent-fold';
import type { ConsentEventInput, ConsentEvidence } from '../../../shared/store/types';
import { consentKeyString } from '../../../shared/store/types';
import {
	channelFieldProperty,
	channelProperty,
	customPurposeProperty,
	purposeProperty,
} from '../common';

export const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

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

const CONSENT_ACTIONS: ReadonlyArray<ConsentEventInput['action']> = [
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

function readEvidence(
	ctx: IExecuteFunctions,
	json: IDataObject,
	itemIndex: number,
	sourceOf: (i: number) => string,
): ConsentEvidence {
	const ev = ctx.getNodeParameter('evidence', itemIndex, {}) as IDataObject;
	const evidence: ConsentEvidence = { source: sourceOf(itemIndex) };
	if (ev.wording) evidence.wording = String(ev.wording);
	if (ev.wordingVersion) evidence.wordingVersion = String(ev.wordingVersion);
	if (ev.actor) evidence.actor = String(ev.actor);
	if (ev.ipAddressField) {
		const ip = compileFieldPath(String(ev.ipAddressField))(json);
		if (ip !== undefined && ip !== null) evidence.ipAddress = String(ip);
	}
	if (ev.userAgentField) {
		const ua = compileFieldPath(String(ev.userAgentField))(json);
		if (ua !== undefined && ua !== null) evidence.userAgent = String(ua);
	}
	return evidence;
}

export async function executeRecord(
	this: IExecuteFunctions,
	items: INodeExecutionData[],
): Promise<INodeExecutionData[][]> {
	// Without a contact ID the person is whoever holds the consented address, or a new contact
	// with the address as ID (as the Touchpoint Trigger names new senders).
	const readContact = compileContactReader(
		resolveContactMapping(this.getNodeParameter('contactFields', 0, {}) as IDataObject),
		{ idOptional: true },
	);
	const channelParam = this.getNodeParameter('channel', 0) as string;
	const channelOf =
		channelParam === 'fromField'
			? compileFieldPath(this.getNodeParameter('channelField', 0, 'channel') as string)
			: () => channelParam;
	const purposeParam = this.getNodeParameter('purpose', 0) as string;
	const purpose =
		purposeParam === 'custom'
			? (this.getNodeParameter('customPurpose', 0, '') as string).trim()
			: purposeParam;
	// Action may be an expression (e.g. grant or withdraw from a form field): then it is read per item.
	const actionOf = parameterReader<string>(this, 'consentAction', 'grant');
	const sourceOf = parameterReader<string>(this, 'source', 'n8n');
	const expiryHours = this.getNodeParameter('confirmationValidHours', 0, 48) as number;
	const occurredAtPath = String(
		(this.getNodeParameter('recordOptions', 0, {}) as IDataObject).occurredAtField ?? '',
	).trim();
	const occurredAtOf = occurredAtPath ? compileFieldPath(occurredAtPath) : undefined;
	const store = await getStore(this);

	const events: ConsentEventInput[] = [];
	const contacts: Contact[] = [];
	const tokens: Array<string | undefined> = [];
	const indexOf: number[] = [];
	const out: INodeExecutionData[] = [];
	const now = Date.now();
	for (let i = 0; i < items.length; i++) {
		try {
			const contact = readContact(items[i].json);
			const channel = String(channelOf(items[i].json) ?? '');
			if (!isChannel(channel)) {
				throw new NodeOperationError(this.getNode(), `Unknown channel "${channel}"`, {
					itemIndex: i,
					description: 'Use one of whatsapp, messenger, instagram, sms, push, email.',
				});
			}
			let address = channelAddress(contact, channel as Channel);
			if (address && channel === 'email') {
				const e = normalizeEmail(address);
				if (!e.ok)
					throw new NodeOperationError(this.getNode(), `Invalid email "${address}"`, {
						itemIndex: i,
						description: e.message,
					});
				address = e.email;
			} else if (address && (channel === 'sms' || (channel === 'whatsapp' && contact.phone))) {
				const p = normalizePhone(address);
				if (!p.ok)
					throw new NodeOperationError(this.getNode(), `Invalid phone "${address}"`, {
						itemIndex: i,
						description: p.message,
					});
				address = p.e164;
			}
			const evidence = readEvidence(this, items[i].json, i, sourceOf);
			if (!evidence.source.trim())
				throw new NodeOperationError(this.getNode(), 'Source is empty', {
					itemIndex: i,
					description: 'Say where the consent came from; it is the evidence regulators ask for.',
				});
			let occurredAt = now;
			if (occurredAtOf) {
				const raw = occurredAtOf(items[i].json);
				const at = typeof raw === 'string' && raw.length > 64 ? undefined : toTime(raw);
				if (at === undefined || at > now + 5 * 60_000) {
					throw new NodeOperationError(
						this.getNode(),
						`Occurred At "${String(raw).slice(0, 60)}" (field ${occurredAtPath}) is not a past date and time`,
						{
							itemIndex: i,
							description:
								'Use an ISO 8601 date-time such as 2026-05-01T10:00:00Z, or epoch milliseconds or seconds, not in the future.',
						},
					);
				}
				occurredAt = at;
			}
			const action = String(actionOf(i) ?? '').trim() as ConsentEventInput['action'];
			if (!CONSENT_ACTIONS.includes(action)) {
				throw new NodeOperationError(this.getNode(), `Unknown Action "${action}"`, {
					itemIndex: i,
					description: `Action must be one of ${CONSENT_ACTIONS.join(', ')}.`,
				});
			}
			const event: ConsentEventInput = {
				contactId: contact.id,
				channel: channel as Channel,
				purpose,
				address,
				action,
				evidence,
				occurredAt,
			};
			let token: string | undefined;
			if (action === 'request') {
				token = randomBytes(24).toString('base64url');
				event.confirmTokenHash = hashToken(token);
				event.confirmExpiresAt = now + expiryHours * 3600_000;
			}
			events.push(event);
			contacts.push(contact);
			tokens.push(token);
			indexOf.push(i);
		} catch (error) {
			const nodeError =
				error instanceof NodeOperationError
					? error
					: new NodeOperationError(this.getNode(), error as Error, { itemIndex: i });
			if (!this.continueOnFail()) throw nodeError;
			out.push({ json: { ...items[i].json, error: nodeError.message }, pairedItem: { item: i } });
		}
	}
	// The person: the id the store knows them by; the consented address is linked to them. An
	// address that is someone else's stops a grant (error naming both); a withdrawal is never
	// lost: it is recorded for the id and for the address's holder.
	// A withdrawal is never refused; anything else from input nobody verified never joins an existing contact (the proof rule).
	const unverified = unverifiedInput(this);
	const people = await resolvePeople(store, contacts, {
		create: true,
		link: true,
		source: 'consent',
		unverified: (_c, j) => events[j].action !== 'withdraw' && unverified(indexOf[j]),
		addresses: (c, j) => {
			const a = channelBookAddress(c, events[j].channel);
			return a ? [a] : [];
		},
		fallbackId: (c, j) => {
			const a = channelBookAddress(c, events[j].channel);
			return a ? idForAddress(a) : undefined;
		},
	});
	const kept: number[] = [];
	const alsoFor = new Map<number, string>();
	const extra: ConsentEventInput[] = [];
	people.forEach((person, j) => {
		const e = events[j];
		const conflictOwner = person.error?.owner;
		if (person.error && (e.action !== 'withdraw' || !conflictOwner)) {
			const nodeError = new NodeOperationError(this.getNode(), person.error.message, {
				itemIndex: indexOf[j],
				description: person.error.hint,
			});
			if (!this.continueOnFail()) throw nodeError;
			out.push({
				json: {
					...items[indexOf[j]].json,
					error: nodeError.message,
					description: person.error.hint,
				},
				pairedItem: { item: indexOf[j] },
			});
			return;
		}
		// Consent for a contact that exists is the person's own act: from input nobody verified, only a request (double opt-in) or a withdrawal.
		if (person.unverified && (e.action === 'grant' || e.action === 'confirm')) {
			const nodeError = new NodeOperationError(
				this.getNode(),
				`Contact "${person.contactId}" already exists, and input nobody verified (a public form, a chat) cannot grant their consent`,
				{
					itemIndex: indexOf[j],
					description:
						'Record a request instead (Action: Request): the double opt-in link sent to their address proves it is them.',
				},
			);
			if (!this.continueOnFail()) throw nodeError;
			out.push({
				json: {
					...items[indexOf[j]].json,
					error: nodeError.message,
					description: nodeError.description,
				},
				pairedItem: { item: indexOf[j] },
			});
			return;
		}
		e.contactId = person.contactId;
		if (conflictOwner) {
			extra.push({ ...e, contactId: conflictOwner });
			alsoFor.set(j, conflictOwner);
		}
		kept.push(j);
	});
	const keptEvents = kept.map((j) => events[j]);
	const entries = (await store.recordConsent([...keptEvents, ...extra])).slice(
		0,
		keptEvents.length,
	);
	// The status after the event: the latest event by event time decides, which for an old import
	// may be an earlier withdrawal, not this event.
	const states = await store.getConsentStates(keptEvents);
	entries.forEach((entry, k) => {
		const j = kept[k];
		const i = indexOf[j];
		const status = states.get(consentKeyString(events[j]))?.status ?? null;
		const json: IDataObject = {
			...items[i].json,
			consentRecord: {
				id: entry.id,
				contactId: entry.contactId,
				channel: entry.channel,
				purpose: entry.purpose,
				action: entry.action,
				status,
				recordedAt: new Date(entry.recordedAt).toISOString(),
				wordingHash: entry.evidence.wordingHash ?? null,
				...(alsoFor.has(j) ? { alsoRecordedFor: alsoFor.get(j)! } : {}),
				...supersededJson(entry.supersededBy),
			},
		};
		if (tokens[j]) {
			json.confirmation = {
				token: tokens[j],
				expiresAt: new Date(events[j].confirmExpiresAt!).toISOString(),
			};
		}
		out.push({ json, pairedItem: { item: i } });
	});
	return [out];
}

export async function executeConfirm(
	this: IExecuteFunctions,
	items: INodeExecutionData[],
): Promise<INodeExecutionData[][]> {
	const tokenOf = compileFieldPath(this.getNodeParameter('tokenField', 0, 'query.token') as string);
	const sourceOf = parameterReader<string>(this, 'source', 'confirmation-link');
	const store = await getStore(this);
	const out: INodeExecutionData[] = [];
	for (let i = 0; i < items.length; i++) {
		const token = tokenOf(items[i].json);
		if (typeof token !== 'string' || token.trim() === '') {
			const error = new NodeOperationError(
				this.getNode(),
				`No confirmation token at "${this.getNodeParameter('tokenField', 0)}"`,
				{
					itemIndex: i,
					description:
						'Point Token Field at the token from the confirmation link, e.g. query.token.',
				},
			);
			if (!this.continueOnFail()) throw error;
			out.push({ json: { ...items[i].json, error: error.message }, pairedItem: { item: i } });
			continue;
		}
		const result = await store.confirmConsent(
			hashToken(token.trim()),
			readEvidence(this, items[i].json, i, sourceOf),
		);
		const confirmation: IDataObject = {
			outcome: result.outcome,
			confirmed: result.outcome === 'confirmed',
		};
		if (result.outcome === 'confirmed') {
			Object.assign(confirmation, {
				contactId: result.entry.contactId,
				channel: result.entry.channel,
				purpose: result.entry.purpose,
			});
		}
		out.push({ json: { ...items[i].json, confirmation }, pairedItem: { item: i } });
	}
	return [out];
}

/**
 * Unsubscribe by Link: the token of a signed one-click link (RFC 8058) withdraws consent for the
 * person, channel and purpose it names. Idempotent: a second click finds the consent withdrawn
 * and records nothing. A token that does not verify changes nothing (outcome invalid).
 */
export async function executeUnsubscribe(
	this: IExecuteFunctions,
	items: INodeExecutionData[],
): Promise<INodeExecutionData[][]> {
	const tokenOf = compileFieldPath(this.getNodeParameter('tokenField', 0, 'query.token') as string);
	const sourceOf = parameterReader<string>(this, 'source', 'one-click-unsubscribe');
	const store = await getStore(this);
	const key = await store.linkKey();
	const targets = items.map((item) => {
		const token = tokenOf(item.json);
		return verifyUnsubscribeToken(key, typeof token === 'string' ? token.trim() : token);
	});
	// The person the link was made for, also after a merge.
	const person = await personIdsOf(
		store,
		targets.flatMap((t) => (t ? [t.contactId] : [])),
	);
	const valid = targets.flatMap((t, i) =>
		t ? [{ i, ...t, contactId: person.get(t.contactId) ?? t.contactId }] : [],
	);
	const states = await store.getConsentStates(valid);
	const events: ConsentEventInput[] = [];
	const outcome = new Map<number, string>();
	const seen = new Set<string>();
	for (const v of valid) {
		const k = consentKeyString(v);
		if (states.get(k)?.status === 'withdrawn' || seen.has(k)) {
			outcome.set(v.i, 'already');
			continue;
		}
		seen.add(k);
		outcome.set(v.i, 'unsubscribed');
		events.push({
			contactId: v.contactId,
			channel: v.channel,
			purpose: v.purpose,
			action: 'withdraw',
			evidence: readEvidence(this, items[v.i].json, v.i, sourceOf),
		});
	}
	await store.recordConsent(events);
	const byItem = new Map(valid.map((v) => [v.i, v]));
	return [
		items.map((item, i) => {
			const v = byItem.get(i);
			const unsubscribe: IDataObject = v
				? {
						outcome: outcome.get(i)!,
						unsubscribed: true,
						contactId: v.contactId,
						channel: v.channel,
						purpose: v.purpose,
					}
				: {
						outcome: 'invalid',
						unsubscribed: false,
						message:
							'This link is not a valid unsubscribe link (altered, incomplete, or made by another store): nothing was changed.',
					};
			return { json: { ...item.json, unsubscribe }, pairedItem: { item: i } };
		}),
	];
}
