/**
 * Record Consent's reading half: the settings read once per run (Action, Source and the evidence
 * per item, as they may be expressions), and each item read into one consent event with its
 * address normalised, its evidence, and its own time when the item carries one.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
	NodeOperationError,
	type IDataObject,
	type IExecuteFunctions,
	type INodeExecutionData,
} from 'n8n-workflow';

import { isChannel, type Channel, type Contact } from '../../../shared/contact';
import type { ConsentEventInput, ConsentEvidence } from '../../../shared/domain';
import { compileFieldPath } from '../../../shared/field-path';
import { compileContactReader, resolveContactMapping } from '../../../shared/n8n/contact-mapping';
import { parameterReader } from '../../../shared/n8n/params';
import { normalisedChannelAddress } from '../../../shared/people';
import { toTime } from '../../../shared/segment/rules';
import { CONSENT_ACTIONS } from './record.description';

export const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

export interface RecordSettings {
	readContact: ReturnType<typeof compileContactReader>;
	channelOf: (json: IDataObject) => unknown;
	purpose: string;
	actionOf: (i: number) => string;
	sourceOf: (i: number) => string;
	expiryHours: number;
	occurredAtPath: string;
	occurredAtOf?: (json: IDataObject) => unknown;
}

export function readRecordSettings(fn: IExecuteFunctions): RecordSettings {
	const channelParam = fn.getNodeParameter('channel', 0) as string;
	const purposeParam = fn.getNodeParameter('purpose', 0) as string;
	const occurredAtPath = String(
		(fn.getNodeParameter('recordOptions', 0, {}) as IDataObject).occurredAtField ?? '',
	).trim();
	return {
		// Without a contact ID the person is whoever holds the consented address, or a new contact
		// with the address as ID (as the Touchpoint Trigger names new senders).
		readContact: compileContactReader(
			resolveContactMapping(fn.getNodeParameter('contactFields', 0, {}) as IDataObject),
			{ idOptional: true },
		),
		channelOf:
			channelParam === 'fromField'
				? compileFieldPath(fn.getNodeParameter('channelField', 0, 'channel') as string)
				: () => channelParam,
		purpose:
			purposeParam === 'custom'
				? (fn.getNodeParameter('customPurpose', 0, '') as string).trim()
				: purposeParam,
		// Action may be an expression (e.g. grant or withdraw from a form field): then it is read per item.
		actionOf: parameterReader<string>(fn, 'consentAction', 'grant'),
		sourceOf: parameterReader<string>(fn, 'source', 'n8n'),
		expiryHours: fn.getNodeParameter('confirmationValidHours', 0, 48) as number,
		occurredAtPath,
		occurredAtOf: occurredAtPath ? compileFieldPath(occurredAtPath) : undefined,
	};
}

export interface ReadEvent {
	event: ConsentEventInput;
	contact: Contact;
	/** The double opt-in token (a request), shown once on the output and kept only as its hash. */
	token?: string;
}

/** One item as a consent event; throws a NodeOperationError naming the field and the value. */
export function readEvent(
	fn: IExecuteFunctions,
	s: RecordSettings,
	item: INodeExecutionData,
	i: number,
	now: number,
): ReadEvent {
	const node = fn.getNode();
	const contact = s.readContact(item.json);
	const channel = String(s.channelOf(item.json) ?? '');
	if (!isChannel(channel)) {
		throw new NodeOperationError(node, `Unknown channel "${channel}"`, {
			itemIndex: i,
			description: 'Use one of whatsapp, messenger, instagram, sms, push, email.',
		});
	}
	const address = normalisedAddress(fn, contact, channel, i);
	const evidence = readEvidence(fn, item.json, i, s.sourceOf);
	if (!evidence.source.trim())
		throw new NodeOperationError(node, 'Source is empty', {
			itemIndex: i,
			description: 'Say where the consent came from; it is the evidence regulators ask for.',
		});
	const occurredAt = occurredAtOf(fn, s, item, i, now);
	const action = String(s.actionOf(i) ?? '').trim() as ConsentEventInput['action'];
	if (!CONSENT_ACTIONS.includes(action)) {
		throw new NodeOperationError(node, `Unknown Action "${action}"`, {
			itemIndex: i,
			description: `Action must be one of ${CONSENT_ACTIONS.join(', ')}.`,
		});
	}
	const event: ConsentEventInput = {
		contactId: contact.id,
		channel,
		purpose: s.purpose,
		address,
		action,
		evidence,
		occurredAt,
	};
	if (action !== 'request') return { event, contact };
	const token = randomBytes(24).toString('base64url');
	event.confirmTokenHash = hashToken(token);
	event.confirmExpiresAt = now + s.expiryHours * 3600_000;
	return { event, contact, token };
}

function normalisedAddress(
	fn: IExecuteFunctions,
	contact: Contact,
	channel: Channel,
	i: number,
): string | undefined {
	const n = normalisedChannelAddress(contact, channel);
	if (!n.ok)
		throw new NodeOperationError(fn.getNode(), `Invalid ${n.field} "${n.value}"`, {
			itemIndex: i,
			description: n.message,
		});
	return n.address;
}

/** The item's own time (Occurred At Field), never in the future; else now. */
function occurredAtOf(
	fn: IExecuteFunctions,
	s: RecordSettings,
	item: INodeExecutionData,
	i: number,
	now: number,
): number {
	if (!s.occurredAtOf) return now;
	const raw = s.occurredAtOf(item.json);
	const at = typeof raw === 'string' && raw.length > 64 ? undefined : toTime(raw);
	if (at === undefined || at > now + 5 * 60_000) {
		throw new NodeOperationError(
			fn.getNode(),
			`Occurred At "${String(raw).slice(0, 60)}" (field ${s.occurredAtPath}) is not a past date and time`,
			{
				itemIndex: i,
				description:
					'Use an ISO 8601 date-time such as 2026-05-01T10:00:00Z, or epoch milliseconds or seconds, not in the future.',
			},
		);
	}
	return at;
}

export function readEvidence(
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
