/**
 * Record Consent (grant / withdraw / request with double opt-in) and Confirm (the single-use
 * token from the confirmation link). Every event lands in the append-only ledger with its
 * evidence: source, exact wording (hashed), version, IP, user agent, actor, time.
 */
import type { IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { idForAddress } from '../../../shared/address';
import { compileFieldPath } from '../../../shared/field-path';
import { parameterReader } from '../../../shared/n8n/params';
import type { Contact } from '../../../shared/contact';
import { consentKeyString, type ConsentEventInput } from '../../../shared/domain';
import { unverifiedInput } from '../../../shared/n8n/input-trust';
import { getStore } from '../../../shared/n8n/store';
import { channelBookAddress, personIdsOf, resolvePeople } from '../../../shared/people';
import { verifyUnsubscribeToken } from '../../../shared/policy/unsubscribe';
import { supersededJson } from '../../../shared/store/consent-fold';
import type { Store } from '../../../shared/store/types';
import { asNodeError } from '../../../shared/n8n/fail-closed';
import { hashToken, readEvent, readEvidence, readRecordSettings } from './record-read';

export { description } from './record.description';
export { hashToken } from './record-read';

/** The events read from the items, each with the item it came from. */
interface Read {
	events: ConsentEventInput[];
	contacts: Contact[];
	tokens: Array<string | undefined>;
	indexOf: number[];
}

export async function executeRecord(
	this: IExecuteFunctions,
	items: INodeExecutionData[],
): Promise<INodeExecutionData[][]> {
	const settings = readRecordSettings(this);
	const store = await getStore(this);
	const read: Read = { events: [], contacts: [], tokens: [], indexOf: [] };
	const out: INodeExecutionData[] = [];
	const now = Date.now();
	for (let i = 0; i < items.length; i++) {
		try {
			const { event, contact, token } = readEvent(this, settings, items[i], i, now);
			read.events.push(event);
			read.contacts.push(contact);
			read.tokens.push(token);
			read.indexOf.push(i);
		} catch (error) {
			const nodeError = asNodeError(this.getNode(), error, i);
			if (!this.continueOnFail()) throw nodeError;
			out.push({ json: { ...items[i].json, error: nodeError.message }, pairedItem: { item: i } });
		}
	}
	const { kept, alsoFor, extra } = await toPeople(this, store, items, read, out);
	const keptEvents = kept.map((j) => read.events[j]);
	const entries = (await store.recordConsent([...keptEvents, ...extra])).slice(
		0,
		keptEvents.length,
	);
	// The status after the event: the latest event by event time decides, which for an old import
	// may be an earlier withdrawal, not this event.
	const states = await store.getConsentStates(keptEvents);
	entries.forEach((entry, k) => {
		const j = kept[k];
		const i = read.indexOf[j];
		const status = states.get(consentKeyString(read.events[j]))?.status ?? null;
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
		const token = read.tokens[j];
		if (token)
			json.confirmation = {
				token,
				expiresAt: new Date(read.events[j].confirmExpiresAt!).toISOString(),
			};
		out.push({ json, pairedItem: { item: i } });
	});
	return [out];
}

/**
 * The person: the id the store knows them by; the consented address is linked to them. An
 * address that is someone else's stops a grant (error naming both); a withdrawal is never lost:
 * it is recorded for the id and for the address's holder. A withdrawal is never refused;
 * anything else from input nobody verified never joins an existing contact (the proof rule).
 */
async function toPeople(
	fn: IExecuteFunctions,
	store: Store,
	items: INodeExecutionData[],
	read: Read,
	out: INodeExecutionData[],
): Promise<{ kept: number[]; alsoFor: Map<number, string>; extra: ConsentEventInput[] }> {
	const { events, indexOf } = read;
	const unverified = unverifiedInput(fn);
	const people = await resolvePeople(store, read.contacts, {
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
	const refuse = (j: number, message: string, description: string | undefined) => {
		const nodeError = new NodeOperationError(fn.getNode(), message, {
			itemIndex: indexOf[j],
			description,
		});
		if (!fn.continueOnFail()) throw nodeError;
		out.push({
			json: { ...items[indexOf[j]].json, error: nodeError.message, description },
			pairedItem: { item: indexOf[j] },
		});
	};
	people.forEach((person, j) => {
		const e = events[j];
		const conflictOwner = person.error?.owner;
		if (person.error && (e.action !== 'withdraw' || !conflictOwner))
			return refuse(j, person.error.message, person.error.hint);
		// Consent for a contact that exists is the person's own act: from input nobody verified, only a request (double opt-in) or a withdrawal.
		if (person.unverified && (e.action === 'grant' || e.action === 'confirm'))
			return refuse(
				j,
				`Contact "${person.contactId}" already exists, and input nobody verified (a public form, a chat) cannot grant their consent`,
				'Record a request instead (Action: Request): the double opt-in link sent to their address proves it is them.',
			);
		e.contactId = person.contactId;
		if (conflictOwner) {
			extra.push({ ...e, contactId: conflictOwner });
			alsoFor.set(j, conflictOwner);
		}
		kept.push(j);
	});
	return { kept, alsoFor, extra };
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
