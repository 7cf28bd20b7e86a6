/**
 * The consent gate: the one place where a batch of intended touches is checked against the
 * Convergent store and the policy core, and counted under the frequency caps (reserved unless asked not to).
 * Consent Guard's Check and Touchpoint both call this; neither has a copy of it.
 *
 * Cost: a fixed number of store queries per chunk of requests (consent states, suppressions,
 * erased addresses, last inbound, one reservation transaction), never one per item.
 * Fails closed: a store error rejects the whole call; nothing is reported as allowed.
 */
import { hash } from 'node:crypto';

import type { Channel, Contact, Purpose } from '../contact';
import { WINDOWED_CHANNELS } from '../contact';
import { rememberNormalisedPhone } from '../address';
import { channelBookAddress, resolvePeople, type PersonError } from '../people';
import type {
	ConsentStore,
	InboxStore,
	PeopleStore,
	RightsStore,
	SuppressionStore,
	TouchStore,
} from '../store/types';

/** The roles of the store the gate reads and reserves in: it takes nothing else. */
export type GateStore = ConsentStore &
	SuppressionStore &
	RightsStore &
	InboxStore &
	PeopleStore &
	TouchStore;
import type { ConsentKey, ConsentState, FrequencyCapRule, ReservationRequest } from '../domain';
import { consentKeyString, inboundKeyString } from '../domain';
import {
	capsFor,
	checkAddress,
	evaluatePolicy,
	evaluateStanding,
	type PolicyResult,
	type PolicySettings,
} from './evaluate';
import { blocked, type BlockedResult } from './reasons';

export type MessageKind = 'free-form' | 'template' | 'tagged';

export interface GateRequest {
	contact: Contact;
	channel: Channel;
	purpose: Purpose;
	campaign?: string;
	messageKind?: MessageKind;
	/** Keep the slot under the caps for an allowed touch (default true); false still counts the caps, holding nothing. */
	reserve?: boolean;
	/** Default: hash of contact, campaign, channel and purpose (see defaultIdempotencyKey). */
	idempotencyKey?: string;
	/** Whether the channel's address is held by this person in the contact book (people.ts resolves it; unset = not known to be). */
	addressOwned?: boolean;
}

export interface GateSettings extends PolicySettings {
	caps: FrequencyCapRule[];
}

export type GateDecision =
	| {
			allowed: true;
			zone?: string;
			zoneSource?: string;
			idempotencyKey: string;
			/** True when this key was already reserved or sent by an earlier run. */
			deduplicated: boolean;
			previousStatus?: string;
	  }
	| (BlockedResult & { allowed: false; idempotencyKey: string });

export function defaultIdempotencyKey(parts: {
	contactId: string;
	channel: string;
	purpose: string;
	campaign?: string;
	content?: string;
}): string {
	// crypto.hash: the one-shot form (no Hash object per item), same digest as createHash.
	return hash(
		'sha256',
		[parts.contactId, parts.campaign ?? '', parts.channel, parts.purpose, parts.content ?? ''].join(
			'\u0000',
		),
		'hex',
	).slice(0, 40);
}

/** Consent states already read for some keys (resolveRequests reads them first): not read twice. */
export interface PreloadedConsent {
	keys: Set<string>;
	states: Map<string, ConsentState>;
}

/** The store facts the policy needs for a batch, in one query of each kind. */
async function loadFacts(
	store: GateStore,
	requests: Array<Pick<GateRequest, 'contact' | 'channel' | 'purpose'>>,
	withInbound: boolean,
	preloaded?: PreloadedConsent,
) {
	const consentKeys: ConsentKey[] = requests.map((r) => ({
		contactId: r.contact.id,
		channel: r.channel,
		purpose: r.purpose,
	}));
	const toRead = preloaded
		? consentKeys.filter((k) => !preloaded.keys.has(consentKeyString(k)))
		: consentKeys;
	// Suppressions and erasures are kept under normalised addresses (E.164, lower-case e-mail).
	const normalised = requests.map((r) => checkAddress(r.contact, r.channel).address);
	const addresses = [...new Set(normalised.filter((a): a is string => !!a))];
	const windowed = withInbound
		? requests
				.filter((r) => WINDOWED_CHANNELS.includes(r.channel))
				.map((r) => ({ contactId: r.contact.id, channel: r.channel }))
		: [];
	const [read, suppressions, erased, lastInbound] = await Promise.all([
		toRead.length
			? store.getConsentStates(toRead)
			: Promise.resolve(new Map<string, ConsentState>()),
		store.findSuppressions(addresses),
		store.findErasedAddresses(addresses),
		windowed.length ? store.getLastInbound(windowed) : Promise.resolve(new Map<string, number>()),
	]);
	// Reuses the preloaded map (no copy of 100,000 states) when nothing else was read.
	const consent = !preloaded
		? read
		: read.size
			? new Map([...preloaded.states, ...read])
			: preloaded.states;
	const suppressedBy = new Map<string, typeof suppressions>();
	for (const s of suppressions) {
		const list = suppressedBy.get(s.address) ?? [];
		list.push(s);
		suppressedBy.set(s.address, list);
	}
	return { consentKeys, normalised, consent, suppressedBy, erased, lastInbound };
}

/**
 * For touches a Consent Guard Check reserved earlier: what the person may have changed since
 * (a STOP, a suppression, an erasure during a Wait) is checked again at send time, in one batch.
 * Caps were taken by the reservation and quiet hours by the Check's own settings; neither is redone.
 */
export async function recheckStanding(
	store: GateStore,
	requests: Array<Pick<GateRequest, 'contact' | 'channel' | 'purpose' | 'addressOwned'>>,
	settings: PolicySettings,
): Promise<PolicyResult[]> {
	if (!requests.length) return [];
	const facts = await loadFacts(store, requests, false);
	return requests.map((r, i) => {
		const address = facts.normalised[i];
		return evaluateStanding(
			r,
			{
				consent: facts.consent.get(consentKeyString(facts.consentKeys[i])),
				suppressed: address ? facts.suppressedBy.get(address) : undefined,
				erased: address ? facts.erased.has(address) : false,
				addressOwned: r.addressOwned === true,
			},
			settings,
		);
	});
}

/**
 * One person across channels, for a batch about to be checked: each request's contact becomes the
 * person's (a merged id gives the survivor) and `addressOwned` says whether the channel's address
 * is theirs. Fast path, no extra query: a granted consent whose covered addresses include the
 * address (an address covered by a person's consent is theirs: linking it to someone else fails,
 * and moving it drops it from their consent). The rest are resolved in one batched lookup; an id
 * and an address of two different people is an error for that request, never a guess.
 */
/**
 * The consent states of these keys, read once for a batch (resolveRequests and checkBatch reuse them).
 * Their covered phone numbers were normalised when the consent was recorded: remembered as valid, so
 * validating the batch's own numbers parses only those the store does not already hold.
 */
export async function preloadConsent(
	store: GateStore,
	keys: ConsentKey[],
): Promise<PreloadedConsent> {
	const states = keys.length ? await store.getConsentStates(keys) : new Map<string, ConsentState>();
	for (const state of states.values())
		for (const a of state.addresses ?? []) rememberNormalisedPhone(a);
	return { keys: new Set(keys.map(consentKeyString)), states };
}

export async function resolveRequests(
	store: GateStore,
	requests: GateRequest[],
	options: {
		/** The Contact ID Field path, named in the error for an item nobody holds. */
		idField?: string;
		/** Channels with quiet hours: an item without a time zone there takes the profile's. */
		quietChannels?: Channel[];
		/** States already read for these requests (preloadConsent): not read again when they cover every key. */
		preloaded?: PreloadedConsent;
	} = {},
): Promise<{
	requests: GateRequest[];
	/** Index into the input of each request in `requests`. */
	index: number[];
	errors: Array<{ index: number; error: PersonError }>;
	preloaded: PreloadedConsent;
}> {
	const keys = requests.map((r) =>
		consentKeyString({ contactId: r.contact.id, channel: r.channel, purpose: r.purpose }),
	);
	const given = options.preloaded;
	const preloaded: PreloadedConsent =
		given && keys.every((k) => given.keys.has(k))
			? given
			: await preloadConsent(
					store,
					requests.map((r) => ({
						contactId: r.contact.id,
						channel: r.channel,
						purpose: r.purpose,
					})),
				);
	const { states } = preloaded;
	const addresses = requests.map((r) => channelBookAddress(r.contact, r.channel));
	const slow: number[] = [];
	const zoneless: number[] = [];
	const resolved = new Array<GateRequest | undefined>(requests.length);
	requests.forEach((r, i) => {
		const a = addresses[i];
		const st = states.get(keys[i]);
		if (!(a && st?.status === 'granted' && st.addresses?.includes(a.value))) slow.push(i);
		else {
			resolved[i] = { ...r, addressOwned: true };
			if (!r.contact.timeZone && options.quietChannels?.includes(r.channel)) zoneless.push(i);
		}
	});
	if (zoneless.length) {
		// Quiet hours in the person's zone: the profile's, when the item has none (one read by id).
		const zones = await store.getTimeZones(zoneless.map((i) => requests[i].contact.id));
		for (const i of zoneless) {
			const zone = zones.get(requests[i].contact.id);
			if (zone)
				resolved[i] = { ...resolved[i]!, contact: { ...requests[i].contact, timeZone: zone } };
		}
	}
	const errors: Array<{ index: number; error: PersonError }> = [];
	if (slow.length) {
		const people = await resolvePeople(
			store,
			slow.map((i) => requests[i].contact),
			{
				idField: options.idField,
				addresses: (_c, j) => {
					const a = addresses[slow[j]];
					return a ? [a] : [];
				},
			},
		);
		people.forEach((p, j) => {
			const i = slow[j];
			if (p.error) errors.push({ index: i, error: p.error });
			else resolved[i] = { ...requests[i], contact: p.contact, addressOwned: p.owns(addresses[i]) };
		});
	}
	const index = resolved.flatMap((r, i) => (r ? [i] : []));
	return { requests: index.map((i) => resolved[i]!), index, errors, preloaded };
}

/**
 * Every allowed touch counted under the caps, in one store call: a cap it breaks makes it Blocked
 * (FREQUENCY_CAP), a key already taken makes it a duplicate; a probe's reservation is released.
 */
async function reserve(
	store: GateStore,
	requests: GateRequest[],
	settings: GateSettings,
	keys: string[],
	toReserve: Array<{ index: number; probe: boolean; request: ReservationRequest }>,
	decisions: GateDecision[],
): Promise<void> {
	const results = await store.reserveTouches(
		toReserve.map((t) => t.request),
		settings.now,
	);
	results.forEach((res, j) => {
		const { index } = toReserve[j];
		const previous = decisions[index];
		if (res.outcome === 'capped') {
			const cap = settings.caps.find((c) => c.id === res.capId);
			decisions[index] = {
				...blocked('FREQUENCY_CAP', {
					channel: requests[index].channel,
					purpose: requests[index].purpose,
					contactId: requests[index].contact.id,
					cap,
					retryAt: res.retryAt,
				}),
				allowed: false,
				idempotencyKey: keys[index],
			};
		} else if (res.outcome === 'duplicate' && previous.allowed && !toReserve[j].probe) {
			previous.deduplicated = true;
			previous.previousStatus = res.existing.status;
		}
	});
	const probes = results
		.filter((res, j) => toReserve[j].probe && res.outcome === 'reserved')
		.map((res) => res.idempotencyKey);
	if (probes.length) await store.releaseTouches(probes);
}

export async function checkBatch(
	store: GateStore,
	requests: GateRequest[],
	settings: GateSettings,
	preloaded?: PreloadedConsent,
): Promise<GateDecision[]> {
	const keys = requests.map(
		(r) =>
			r.idempotencyKey ??
			defaultIdempotencyKey({
				contactId: r.contact.id,
				channel: r.channel,
				purpose: r.purpose,
				campaign: r.campaign,
			}),
	);

	const { consentKeys, normalised, consent, suppressedBy, erased, lastInbound } = await loadFacts(
		store,
		requests,
		true,
		preloaded,
	);

	const decisions: GateDecision[] = new Array(requests.length);
	const toReserve: Array<{ index: number; probe: boolean; request: ReservationRequest }> = [];
	requests.forEach((r, i) => {
		const address = normalised[i];
		const result = evaluatePolicy(
			{
				contact: r.contact,
				channel: r.channel,
				purpose: r.purpose,
				messageKind: r.messageKind ?? 'free-form',
			},
			{
				consent: consent.get(consentKeyString(consentKeys[i])),
				suppressed: address ? suppressedBy.get(address) : undefined,
				erased: address ? erased.has(address) : false,
				lastInboundAt: lastInbound.get(inboundKeyString(r.contact.id, r.channel)),
				addressOwned: r.addressOwned === true,
			},
			settings,
		);
		if (!result.allowed) {
			decisions[i] = { ...result, allowed: false, idempotencyKey: keys[i] };
			return;
		}
		decisions[i] = {
			allowed: true,
			zone: result.zone,
			zoneSource: result.zoneSource,
			idempotencyKey: keys[i],
			deduplicated: false,
		};
		// Every allowed touch is counted under the caps; one asked not to reserve (a Check that only
		// looks) is released right after, so it holds no place but is still told it is capped.
		toReserve.push({
			probe: r.reserve === false,
			index: i,
			request: {
				idempotencyKey: keys[i],
				contactId: r.contact.id,
				channel: r.channel,
				purpose: r.purpose,
				campaign: r.campaign,
				caps: capsFor(r.channel, r.purpose, settings.caps, settings),
			},
		});
	});

	if (toReserve.length) await reserve(store, requests, settings, keys, toReserve, decisions);
	return decisions;
}
