/**
 * Check: per item, consent for the channel and purpose, suppression, the 24 h service window,
 * quiet hours in the contact's zone, and frequency caps (reserved atomically in the store).
 * Allowed items carry `consent`; blocked ones `blocked` { reason, message, retryAt }.
 * Parameters are read once per execution (expressions per item only where the marketer wrote one).
 */
import type {
	IDataObject,
	IExecuteFunctions,
	INodeExecutionData,
	INodeProperties,
} from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { normalizeEmail, normalizePhone } from '../../../shared/address';
import { isChannel, type Channel, type Contact } from '../../../shared/contact';
import {
	compileContactReader,
	ContactMappingError,
	resolveContactMapping,
} from '../../../shared/n8n/contact-mapping';
import { updateDisplayOptions } from '../../../shared/n8n/display-options';
import { compileFieldPath } from '../../../shared/field-path';
import { parameterReader } from '../../../shared/n8n/params';
import { getStore } from '../../../shared/n8n/store';
import { isToolCall } from '../../../shared/n8n/tool-mode';
import { UnknownPersonError, withBookAddresses } from '../../../shared/people';
import { policyProperties, readPolicySettings } from '../../../shared/n8n/policy-settings';
import {
	checkBatch,
	isValidZone,
	preloadConsent,
	resolveRequests,
	type GateRequest,
	type GateSettings,
} from '../../../shared/policy';
import {
	channelFieldProperty,
	channelProperty,
	customPurposeProperty,
	purposeProperty,
} from '../common';

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

interface CheckSettings {
	gate: GateSettings;
	reserve: boolean;
}

function readSettings(ctx: IExecuteFunctions): CheckSettings {
	const options = ctx.getNodeParameter('options', 0, {}) as IDataObject;
	return {
		// As an agent's tool, a Check holds nothing: the agent's send (Touchpoint as a tool) checks and
		// reserves again, and a reservation nobody completes would count against the person's caps.
		reserve: options.reserve !== false && !isToolCall(ctx),
		gate: {
			...readPolicySettings(ctx),
			transactionalExempt: options.transactionalExempt !== false,
			transactionalPurposes: ['transactional'],
			allowUnlinkedAddress: options.allowUnlinkedAddress === true,
		},
	};
}

/** Validates one item's input; throws an Error naming the field and the value. */
function validateInput(contact: Contact, channel: string): void {
	if (!isChannel(channel)) {
		throw new ContactMappingError(
			'channel',
			channel,
			`Unknown channel "${channel}"`,
			'Use one of whatsapp, messenger, instagram, sms, push, email.',
		);
	}
	if (contact.phone && (channel === 'sms' || channel === 'whatsapp')) {
		const p = normalizePhone(contact.phone);
		if (!p.ok)
			throw new ContactMappingError(
				'phone',
				contact.phone,
				`Invalid phone "${contact.phone}"`,
				p.message,
			);
		contact.phone = p.e164;
	}
	if (contact.email && channel === 'email') {
		const e = normalizeEmail(contact.email);
		if (!e.ok)
			throw new ContactMappingError(
				'email',
				contact.email,
				`Invalid email "${contact.email}"`,
				e.message,
			);
		contact.email = e.email;
	}
	if (contact.timeZone && !isValidZone(contact.timeZone)) {
		throw new ContactMappingError(
			'timeZone',
			contact.timeZone,
			`Unknown time zone "${contact.timeZone}"`,
			'Use an IANA name such as Europe/Madrid.',
		);
	}
}

export async function execute(
	this: IExecuteFunctions,
	items: INodeExecutionData[],
): Promise<INodeExecutionData[][]> {
	const allowed: INodeExecutionData[] = [];
	const blockedOut: INodeExecutionData[] = [];
	const settings = readSettings(this);
	const mapping = resolveContactMapping(
		this.getNodeParameter('contactFields', 0, {}) as IDataObject,
	);
	// An item without a contact ID is checked for whoever holds its address.
	const readContact = compileContactReader(mapping, { idOptional: true });
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
	if (!purpose)
		throw new NodeOperationError(this.getNode(), 'Custom Purpose is empty', {
			description: 'Name the purpose, e.g. product-research.',
		});
	const campaignOf = parameterReader<string>(this, 'campaign', '');
	const messageKind =
		channelParam === 'sms' || channelParam === 'push' || channelParam === 'email'
			? 'free-form'
			: (this.getNodeParameter('messageKind', 0, 'free-form') as GateRequest['messageKind']);
	const keyField = String(
		(this.getNodeParameter('options', 0, {}) as IDataObject).idempotencyKeyField ?? '',
	).trim();
	const keyOf = keyField ? compileFieldPath(keyField) : undefined;

	// Each item's contact and channel first: the consent of everyone with an ID is read once, before
	// validation, so the numbers their consent already covers (stored normalised) are not parsed again.
	const reads = items.map((item) => {
		try {
			return { contact: readContact(item.json), channel: String(channelOf(item.json) ?? '') };
		} catch (error) {
			return { error };
		}
	});
	const store = await getStore(this);
	const preloaded = await preloadConsent(
		store,
		reads.flatMap((r) =>
			r.contact?.id && isChannel(r.channel)
				? [{ contactId: r.contact.id, channel: r.channel, purpose }]
				: [],
		),
	);

	const requests: GateRequest[] = [];
	const indexOf: number[] = [];
	for (let i = 0; i < items.length; i++) {
		try {
			const { contact, channel, error } = reads[i];
			if (!contact || channel === undefined) throw error;
			validateInput(contact, channel);
			const key = keyOf ? keyOf(items[i].json) : undefined;
			requests.push({
				contact,
				channel: channel as Channel,
				purpose,
				campaign: campaignOf(i) || undefined,
				messageKind,
				reserve: settings.reserve,
				idempotencyKey: key === undefined || key === null || key === '' ? undefined : String(key),
			});
			indexOf.push(i);
		} catch (error) {
			const e = error as ContactMappingError;
			const nodeError = new NodeOperationError(this.getNode(), e.message, {
				itemIndex: i,
				description: e.hint ?? 'Check the Contact Fields mapping.',
			});
			if (!this.continueOnFail()) throw nodeError;
			// Fail closed: an item we could not check goes to Blocked, never to Allowed.
			blockedOut.push({
				json: {
					...items[i].json,
					error: nodeError.message,
					description: nodeError.description ?? '',
				},
				pairedItem: { item: i },
			});
		}
	}

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
		idField: mapping.idField,
		quietChannels: Object.keys(settings.gate.quietHours ?? {}) as Channel[],
		preloaded,
	});
	const unknown: Array<{ campaign?: string; channel: string; reason: string; at: number }> = [];
	for (const { index, error } of prepared.errors) {
		const i = indexOf[index];
		// Nobody holds the address and there is no ID: no consent is recorded for them. For a gate
		// that is Blocked (NO_CONSENT), the workflow goes on; only an identity conflict is an error.
		if (error instanceof UnknownPersonError) {
			const r = requests[index];
			// A transactional message needs no consent, but an address that is someone's: nobody's is not linked.
			const transactional = r.purpose === 'transactional';
			const reason = transactional ? 'ADDRESS_NOT_LINKED' : 'NO_CONSENT';
			const message = transactional
				? `${error.message}: a transactional message goes only to an address the person holds. Add the person first (Consent Guard > Contact > Upsert), or give the contact ID your store knows them by.`
				: `${error.message}: no ${r.purpose} consent on ${r.channel} is recorded for them. Record their consent first (Consent Guard > Record Consent), or give the contact ID your store knows them by.`;
			blockedOut.push({
				json: {
					...items[i].json,
					blocked: {
						reason,
						message,
						retryAt: null,
						channel: r.channel,
						purpose: r.purpose,
					},
				},
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
		const nodeError = new NodeOperationError(this.getNode(), error.message, {
			itemIndex: i,
			description: error.hint,
		});
		if (!this.continueOnFail()) throw nodeError;
		blockedOut.push({
			json: { ...items[i].json, error: nodeError.message, description: error.hint },
			pairedItem: { item: i },
		});
	}
	const checked = prepared.requests;
	const checkedIndex = prepared.index.map((j) => indexOf[j]);
	const decisions = checked.length
		? await checkBatch(store, checked, settings.gate, prepared.preloaded)
		: [];
	decisions.forEach((d, j) => {
		const i = checkedIndex[j];
		const r = checked[j];
		if (d.allowed) {
			allowed.push({
				json: {
					...items[i].json,
					consent: {
						allowed: true,
						contactId: r.contact.id,
						channel: r.channel,
						purpose: r.purpose,
						campaign: r.campaign ?? null,
						idempotencyKey: d.idempotencyKey,
						reserved: settings.reserve,
						addressLinked: r.addressOwned === true,
						deduplicated: d.deduplicated,
						...(d.previousStatus ? { previousStatus: d.previousStatus } : {}),
						...(d.zone ? { timeZone: d.zone, timeZoneSource: d.zoneSource } : {}),
					},
				},
				pairedItem: { item: i },
			});
		} else {
			blockedOut.push({
				json: {
					...items[i].json,
					blocked: {
						reason: d.reason,
						message: d.message,
						retryAt: d.retryAt ?? null,
						channel: r.channel,
						purpose: r.purpose,
					},
				},
				pairedItem: { item: i },
			});
		}
	});
	// Campaign reports count who was blocked and why (counts per campaign, channel, reason and day).
	const now = Date.now();
	const blockedCounts: Array<{ campaign?: string; channel: string; reason: string; at: number }> =
		decisions.flatMap((d, j) =>
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
	return [allowed, blockedOut];
}
