/**
 * Check: per item, consent for the channel and purpose, suppression, the 24 h service window,
 * quiet hours in the contact's zone, and frequency caps (reserved atomically in the store).
 * Allowed items carry `consent`; blocked ones `blocked` { reason, message, retryAt }.
 * Parameters are read once per execution (expressions per item only where the marketer wrote one).
 */
import type { IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { isChannel, type Channel, type Contact } from '../../../shared/contact';
import type { ContactMappingError } from '../../../shared/n8n/contact-mapping';
import { updateDisplayOptions } from '../../../shared/n8n/display-options';
import { policyProperties } from '../../../shared/n8n/policy-settings';
import { resultFirst } from '../../../shared/n8n/result-first';
import { getStore } from '../../../shared/n8n/store';
import { isToolCall } from '../../../shared/n8n/tool-mode';
import { UnknownPersonError, withBookAddresses } from '../../../shared/people';
import {
	checkBatch,
	preloadConsent,
	resolveRequests,
	type GateDecision,
	type GateRequest,
} from '../../../shared/policy';
import type { Store } from '../../../shared/store/types';
import {
	channelFieldProperty,
	channelProperty,
	customPurposeProperty,
	purposeProperty,
} from '../common';
import { readCheckSettings, validateInput, type CheckSettings } from './check-read';

const properties: INodeProperties[] = [
	channelProperty,
	channelFieldProperty,
	purposeProperty,
	customPurposeProperty,
	{
		displayName: 'Campaign',
		name: 'campaign',
		type: 'string',
		default: '',
		placeholder: 'spring-sale-2026',
		description: 'Campaign name, kept in the send log. Part of the default idempotency key.',
	},
	{
		displayName: 'Message Kind',
		name: 'messageKind',
		type: 'options',
		options: [
			{
				name: 'Free-Form Message',
				value: 'free-form',
				description: 'Needs an inbound message from the person in the last 24 h',
			},
			{
				name: 'Approved Template (WhatsApp)',
				value: 'template',
				description: 'Allowed outside the 24 h window',
			},
			{
				name: 'Human Agent Tag (Messenger, Instagram)',
				value: 'tagged',
				description: 'A human reply up to 7 days after the last message',
			},
		],
		default: 'free-form',
		displayOptions: { show: { channel: ['whatsapp', 'messenger', 'instagram', 'fromField'] } },
	},
	...policyProperties,
	{
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add option',
		default: {},
		options: [
			{
				displayName: 'Transactional Is Exempt',
				name: 'transactionalExempt',
				type: 'boolean',
				default: true,
				description:
					'Whether the Transactional purpose skips consent, caps and quiet hours (suppression and the service window still apply)',
			},
			{
				displayName: 'Allow Address Not Linked to the Contact',
				name: 'allowUnlinkedAddress',
				type: 'boolean',
				default: false,
				description:
					'Whether a transactional message may go to an address the contact book does not link to the person (e.g. an order confirmation to the email typed at checkout). Allowed items then show consent.addressLinked: false. Never applies to marketing: consent covers the address it was given for.',
			},
			{
				displayName: 'Reserve Send',
				name: 'reserve',
				type: 'boolean',
				default: true,
				description:
					'Whether an allowed item reserves its place under the caps, so two executions cannot both pass a cap of 1. Touchpoint completes the reservation. Off: the caps are still checked, but nothing is held (Touchpoint checks again when it sends).',
			},
			{
				displayName: 'Idempotency Key Field',
				name: 'idempotencyKeyField',
				requiresDataPath: 'single',
				type: 'string',
				default: '',
				placeholder: 'message.key',
				description:
					'Path to your own key per message. Default: a hash of contact, campaign, channel and purpose.',
			},
		],
	},
];

export const description = updateDisplayOptions({ show: { operation: ['check'] } }, properties);

type Blocked = { campaign?: string; channel: string; reason: string; at: number };
type Read = { contact?: Contact; channel?: string; error?: unknown };

export async function execute(
	this: IExecuteFunctions,
	items: INodeExecutionData[],
): Promise<INodeExecutionData[][]> {
	const allowed: INodeExecutionData[] = [];
	const blockedOut: INodeExecutionData[] = [];
	const s = readCheckSettings(this);
	// Each item's contact and channel first: the consent of everyone with an ID is read once, before
	// validation, so the numbers their consent already covers (stored normalised) are not parsed again.
	const reads: Read[] = items.map((item) => {
		try {
			return { contact: s.readContact(item.json), channel: String(s.channelOf(item.json) ?? '') };
		} catch (error) {
			return { error };
		}
	});
	const store = await getStore(this);
	const preloaded = await preloadConsent(
		store,
		reads.flatMap((r) =>
			r.contact?.id && isChannel(r.channel)
				? [{ contactId: r.contact.id, channel: r.channel, purpose: s.purpose }]
				: [],
		),
	);
	const { requests, indexOf } = toRequests(this, items, s, reads, blockedOut);
	// An agent names the person by ID alone: the contact book gives their addresses.
	if (isToolCall(this)) {
		const filled = await withBookAddresses(
			store,
			requests.map((r) => r.contact),
		);
		requests.forEach((r, j) => {
			r.contact = filled[j];
		});
	}
	// One person across channels: the id the store knows the person by, and whether the address
	// is theirs. An id and an address of two different people is an error, never a guess.
	const prepared = await resolveRequests(store, requests, {
		idField: s.mapping.idField,
		quietChannels: Object.keys(s.gate.quietHours ?? {}) as Channel[],
		preloaded,
	});
	const unknown = placeUnresolved(this, items, prepared.errors, requests, indexOf, blockedOut);
	const checked = prepared.requests;
	const checkedIndex = prepared.index.map((j) => indexOf[j]);
	const decisions = checked.length
		? await checkBatch(store, checked, s.gate, prepared.preloaded)
		: [];
	decisions.forEach((d, j) => {
		const i = checkedIndex[j];
		if (d.allowed) allowed.push(allowedItem(items[i], i, checked[j], d, s.reserve));
		else blockedOut.push(blockedItem(items[i], i, checked[j], d));
	});
	await countBlocked(store, decisions, checked, unknown);
	return [allowed, blockedOut];
}

/** Each readable item as a gate request; one that is not is Blocked with its error (fail closed). */
function toRequests(
	fn: IExecuteFunctions,
	items: INodeExecutionData[],
	s: CheckSettings,
	reads: Read[],
	blockedOut: INodeExecutionData[],
): { requests: GateRequest[]; indexOf: number[] } {
	const requests: GateRequest[] = [];
	const indexOf: number[] = [];
	for (let i = 0; i < items.length; i++) {
		try {
			const { contact, channel, error } = reads[i];
			if (!contact || channel === undefined) throw error;
			validateInput(contact, channel);
			const key = s.keyOf ? s.keyOf(items[i].json) : undefined;
			requests.push({
				contact,
				channel: channel as Channel,
				purpose: s.purpose,
				campaign: s.campaignOf(i) || undefined,
				messageKind: s.messageKind,
				reserve: s.reserve,
				idempotencyKey: key === undefined || key === null || key === '' ? undefined : String(key),
			});
			indexOf.push(i);
		} catch (error) {
			const e = error as ContactMappingError;
			const nodeError = new NodeOperationError(fn.getNode(), e.message, {
				itemIndex: i,
				description: e.hint ?? 'Check the Contact Fields mapping.',
			});
			if (!fn.continueOnFail()) throw nodeError;
			// Fail closed: an item we could not check goes to Blocked, never to Allowed.
			blockedOut.push({
				json: resultFirst(
					{ error: nodeError.message, description: nodeError.description ?? '' },
					items[i].json,
				),
				pairedItem: { item: i },
			});
		}
	}
	return { requests, indexOf };
}

/**
 * Nobody holds the address and there is no ID: no consent is recorded for them. For a gate that is
 * Blocked (NO_CONSENT), the workflow goes on; only an identity conflict is an error. Returns the
 * blocked counts for the campaign report.
 */
function placeUnresolved(
	fn: IExecuteFunctions,
	items: INodeExecutionData[],
	errors: Array<{ index: number; error: Error & { hint?: string } }>,
	requests: GateRequest[],
	indexOf: number[],
	blockedOut: INodeExecutionData[],
): Blocked[] {
	const unknown: Blocked[] = [];
	for (const { index, error } of errors) {
		const i = indexOf[index];
		if (error instanceof UnknownPersonError) {
			const r = requests[index];
			// A transactional message needs no consent, but an address that is someone's: nobody's is not linked.
			const transactional = r.purpose === 'transactional';
			const reason = transactional ? 'ADDRESS_NOT_LINKED' : 'NO_CONSENT';
			const message = transactional
				? `${error.message}: a transactional message goes only to an address the person holds. Add the person first (Consent Guard > Contact > Upsert), or give the contact ID your store knows them by.`
				: `${error.message}: no ${r.purpose} consent on ${r.channel} is recorded for them. Record their consent first (Consent Guard > Record Consent), or give the contact ID your store knows them by.`;
			blockedOut.push({
				json: resultFirst(
					{ blocked: { reason, message, retryAt: null, channel: r.channel, purpose: r.purpose } },
					items[i].json,
				),
				pairedItem: { item: i },
			});
			unknown.push({
				campaign: r.campaign,
				channel: r.channel,
				reason: 'NO_CONSENT',
				at: Date.now(),
			});
			continue;
		}
		const nodeError = new NodeOperationError(fn.getNode(), error.message, {
			itemIndex: i,
			description: error.hint,
		});
		if (!fn.continueOnFail()) throw nodeError;
		blockedOut.push({
			json: resultFirst({ error: nodeError.message, description: error.hint }, items[i].json),
			pairedItem: { item: i },
		});
	}
	return unknown;
}

function allowedItem(
	item: INodeExecutionData,
	i: number,
	r: GateRequest,
	d: Extract<GateDecision, { allowed: true }>,
	reserved: boolean,
): INodeExecutionData {
	return {
		json: resultFirst(
			{
				consent: {
					allowed: true,
					contactId: r.contact.id,
					channel: r.channel,
					purpose: r.purpose,
					campaign: r.campaign ?? null,
					idempotencyKey: d.idempotencyKey,
					reserved,
					addressLinked: r.addressOwned === true,
					deduplicated: d.deduplicated,
					...(d.previousStatus ? { previousStatus: d.previousStatus } : {}),
					...(d.zone ? { timeZone: d.zone, timeZoneSource: d.zoneSource } : {}),
				},
			},
			item.json,
		),
		pairedItem: { item: i },
	};
}

function blockedItem(
	item: INodeExecutionData,
	i: number,
	r: GateRequest,
	d: Extract<GateDecision, { allowed: false }>,
): INodeExecutionData {
	return {
		json: resultFirst(
			{
				blocked: {
					reason: d.reason,
					message: d.message,
					retryAt: d.retryAt ?? null,
					channel: r.channel,
					purpose: r.purpose,
				},
			},
			item.json,
		),
		pairedItem: { item: i },
	};
}

/** Campaign reports count who was blocked and why (counts per campaign, channel, reason and day). */
async function countBlocked(
	store: Store,
	decisions: GateDecision[],
	checked: GateRequest[],
	unknown: Blocked[],
): Promise<void> {
	const now = Date.now();
	const blockedCounts: Blocked[] = decisions.flatMap((d, j) =>
		d.allowed
			? []
			: [
					{
						campaign: checked[j].campaign,
						channel: checked[j].channel,
						reason: String(d.reason),
						at: now,
					},
				],
	);
	blockedCounts.push(...unknown);
	if (blockedCounts.length) await store.countBlocked(blockedCounts);
}
