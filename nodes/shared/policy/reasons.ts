/**
 * Why a touch is blocked: a stable code for branching and a sentence a marketer can act on.
 */
import { DateTime } from 'luxon';

import type { FrequencyCapRule } from '../domain';
import { isValidZone } from './timezone';

export const REASON_CODES = [
	'NO_CONSENT',
	'WITHDRAWN',
	'PENDING_CONFIRMATION',
	'SUPPRESSED',
	'FREQUENCY_CAP',
	'QUIET_HOURS',
	'WINDOW_CLOSED',
	'INVALID_ADDRESS',
	'ADDRESS_NOT_CONSENTED',
	'ADDRESS_NOT_LINKED',
] as const;
export type ReasonCode = (typeof REASON_CODES)[number];

export interface BlockedResult {
	reason: ReasonCode;
	message: string;
	/** ISO 8601: when trying again can succeed (caps, quiet hours). */
	retryAt?: string;
	details?: Record<string, unknown>;
}

export interface ReasonContext {
	contactId: string;
	channel: string;
	purpose: string;
	address?: string;
	zone?: string;
	retryAt?: number;
	cap?: FrequencyCapRule;
	suppressionReason?: string;
	problem?: string;
	hours?: number;
}

const label = (channel: string) =>
	({
		sms: 'SMS',
		whatsapp: 'WhatsApp',
		messenger: 'Messenger',
		instagram: 'Instagram',
		push: 'push',
		email: 'email',
	})[channel] ?? channel;

function describeWindow(ms: number): string {
	const days = ms / 86400_000;
	if (Number.isInteger(days)) return days === 1 ? 'day' : `${days} days`;
	const hours = ms / 3600_000;
	return hours === 1 ? 'hour' : `${hours} hours`;
}

/** "+5:30", "-12", "+0" from minutes east of UTC. */
function offsetText(minutes: number): string {
	const sign = minutes < 0 ? '-' : '+';
	const abs = Math.abs(minutes);
	const mm = abs % 60;
	return `${sign}${Math.floor(abs / 60)}${mm ? `:${String(mm).padStart(2, '0')}` : ''}`;
}

/**
 * An instant as a marketer reads it: the person's own clock and zone when the zone is known, then
 * UTC with the day ("09:00 their time (UTC-12, Etc/GMT+12), 21:00 UTC on 7 Dec 2026").
 */
export function readableInstant(ms: number, zone?: string): string {
	const utc = DateTime.fromMillis(ms, { zone: 'utc' });
	const inUtc = `${utc.toFormat('HH:mm')} UTC on ${utc.toFormat('d LLL yyyy')}`;
	if (!zone || zone === 'UTC' || !isValidZone(zone)) return inUtc;
	const local = DateTime.fromMillis(ms, { zone });
	const day = local.toISODate() === utc.toISODate() ? '' : ` on ${local.toFormat('d LLL')}`;
	return `${local.toFormat('HH:mm')}${day} their time (UTC${offsetText(local.offset)}, ${zone}), ${inUtc}`;
}

export function blocked(reason: ReasonCode, ctx: ReasonContext): BlockedResult {
	const ch = label(ctx.channel);
	const retryAt = ctx.retryAt !== undefined ? new Date(ctx.retryAt).toISOString() : undefined;
	const when = ctx.retryAt !== undefined ? readableInstant(ctx.retryAt, ctx.zone) : undefined;
	let message: string;
	switch (reason) {
		case 'NO_CONSENT':
			message = `No ${ctx.purpose} consent on ${ch} for contact ${ctx.contactId}. Record consent first (Consent Guard > Record Consent).`;
			break;
		case 'WITHDRAWN':
			message = `Contact ${ctx.contactId} withdrew ${ctx.purpose} consent on ${ch}. Do not contact them on ${ch} for ${ctx.purpose} unless they opt in again.`;
			break;
		case 'PENDING_CONFIRMATION':
			message = `Contact ${ctx.contactId} has not confirmed their ${ch} subscription yet (double opt-in). Wait for the confirmation.`;
			break;
		case 'SUPPRESSED':
			message = `${ctx.address ?? 'The address'} is on the suppression list (${ctx.suppressionReason ?? 'suppressed'}). Remove it from the list only if the person asked to be contacted again.`;
			break;
		case 'FREQUENCY_CAP':
			message = ctx.cap
				? `Frequency cap "${ctx.cap.id}" reached: at most ${ctx.cap.max} ${ctx.cap.purpose ?? ''} message(s)${ctx.cap.channel ? ` on ${label(ctx.cap.channel)}` : ''} per ${describeWindow(ctx.cap.windowMs)} for contact ${ctx.contactId}. Next allowed ${when}.`.replace(
						/\s+/g,
						' ',
					)
				: `Frequency cap reached for contact ${ctx.contactId}. Next allowed ${when}.`;
			break;
		case 'QUIET_HOURS':
			message =
				ctx.problem ??
				(isValidZone(ctx.zone ?? '')
					? `Quiet hours on ${ch} for contact ${ctx.contactId}: next allowed ${when}.`
					: `Quiet hours on ${ch} in ${ctx.zone}: next allowed ${when}.`);
			break;
		case 'WINDOW_CLOSED':
			message =
				ctx.channel === 'whatsapp'
					? `More than ${ctx.hours ?? 24} h since contact ${ctx.contactId} last wrote on WhatsApp: free-form messages are not allowed. Use an approved template.`
					: `Outside the ${ctx.hours ?? 24} h messaging window for contact ${ctx.contactId} on ${ch}. Use the HUMAN_AGENT tag for a human reply (up to 7 days); promotions are not allowed outside the window.`;
			break;
		case 'ADDRESS_NOT_CONSENTED':
			message = `${ctx.address ?? 'This address'} is not an address contact ${ctx.contactId} gave ${ctx.purpose} consent for on ${ch}: consent covers the address it was given with. Send to the address the person consented with, or record their consent for this one.`;
			break;
		case 'ADDRESS_NOT_LINKED':
			message = `${ctx.address ?? 'This address'} is not one of contact ${ctx.contactId}'s addresses. Link it first (Consent Guard > Upsert Contact), or turn on "Allow Address Not Linked to the Contact" for this transactional send.`;
			break;
		case 'INVALID_ADDRESS':
			message = ctx.problem ?? `Contact ${ctx.contactId} has no usable ${ch} address.`;
			break;
	}
	const result: BlockedResult = { reason, message };
	if (retryAt) result.retryAt = retryAt;
	return result;
}
