/**
 * The consent policy for one intended touch, from facts already loaded from the store.
 * Pure: no I/O. Order of checks (the first that fails decides):
 *   1. address valid for the channel            -> INVALID_ADDRESS
 *   2. address suppressed or erased             -> SUPPRESSED
 *   3. consent (not for exempt transactional)   -> NO_CONSENT | WITHDRAWN | PENDING_CONFIRMATION
 *      and the address is one the consent covers -> ADDRESS_NOT_CONSENTED
 *      (exempt transactional: the address is the person's -> ADDRESS_NOT_LINKED, unless allowed)
 *   4. 24 h service window (free-form, WhatsApp/Messenger/Instagram) -> WINDOW_CLOSED
 *   5. quiet hours in the contact's zone (not for exempt transactional) -> QUIET_HOURS
 * Frequency caps are enforced atomically by the store's reservation (see gate.ts).
 * Transactional messages (order updates, password codes) need no marketing consent, but a
 * suppressed or invalid address still blocks them, and they still respect the service window.
 */
import { normalizeEmail, normalizePhone } from '../address';
import type { Channel, Contact, Purpose } from '../contact';
import { WINDOWED_CHANNELS, channelAddress } from '../contact';
import type { ConsentState, FrequencyCapRule, SuppressionEntry } from '../domain';
import { checkQuietHours, checkQuietHoursAll, type QuietHoursRule } from './quiet-hours';
import { blocked, type BlockedResult } from './reasons';
import { resolveZone, type ZoneSource } from './timezone';

export interface PolicyInput {
	contact: Contact;
	channel: Channel;
	purpose: Purpose;
	/** For WhatsApp/Messenger/Instagram: free-form text, an approved template, or a tagged message. */
	messageKind: 'free-form' | 'template' | 'tagged';
}

export interface PolicyFacts {
	consent?: ConsentState;
	suppressed?: SuppressionEntry[];
	erased?: boolean;
	lastInboundAt?: number;
	/** Whether the address is held by this person in the contact book. */
	addressOwned?: boolean;
}

export interface PolicySettings {
	now: number;
	/** Purposes treated as transactional (default ['transactional']). */
	transactionalPurposes?: string[];
	/** Whether transactional purposes skip consent, caps and quiet hours (default true). */
	transactionalExempt?: boolean;
	/** Quiet hours per channel; a channel without a rule has none. */
	quietHours?: Partial<Record<Channel, QuietHoursRule>>;
	/** Used when neither the contact nor the phone's country gives one zone; unset = every zone of the country. */
	defaultZone?: string;
	windowHours?: number;
	humanAgentDays?: number;
	/** Exempt transactional sends only: allow an address the contact book does not link to the person. */
	allowUnlinkedAddress?: boolean;
}

export type PolicyResult =
	| { allowed: true; zone?: string; zoneSource?: ZoneSource; address: string }
	| (BlockedResult & { allowed: false });

export function isExemptTransactional(purpose: string, settings: PolicySettings): boolean {
	if (settings.transactionalExempt === false) return false;
	return (settings.transactionalPurposes ?? ['transactional']).includes(purpose);
}

/** Normalises and validates the channel address; undefined problem = valid. */
export function checkAddress(
	contact: Contact,
	channel: Channel,
): { address?: string; problem?: string } {
	const raw = channelAddress(contact, channel);
	if (!raw)
		return {
			problem: `Contact ${contact.id} has no ${channel} address. Map it in "Contact Fields".`,
		};
	if (channel === 'sms' || (channel === 'whatsapp' && contact.phone)) {
		const phone = normalizePhone(raw);
		return phone.ok ? { address: phone.e164 } : { problem: `Phone ${phone.message}` };
	}
	if (channel === 'email') {
		const email = normalizeEmail(raw);
		return email.ok ? { address: email.email } : { problem: `Email ${email.message}` };
	}
	return { address: raw };
}

/**
 * The part of the policy a person changes by what they do: address, suppression, erasure and
 * consent (checks 1 to 3). Touchpoint re-checks it at send time for touches a Consent Guard
 * reserved earlier (a STOP during a 3-day Wait must still stop the send).
 */
export function evaluateStanding(
	input: Omit<PolicyInput, 'messageKind'>,
	facts: PolicyFacts,
	settings: PolicySettings,
): PolicyResult {
	const { contact, channel, purpose } = input;
	const ctx = { contactId: contact.id, channel, purpose };
	const fail = (b: BlockedResult): PolicyResult => ({ ...b, allowed: false });

	const { address, problem } = checkAddress(contact, channel);
	if (problem || !address) return fail(blocked('INVALID_ADDRESS', { ...ctx, problem }));

	const suppression = (facts.suppressed ?? []).find((s) => !s.channel || s.channel === channel);
	if (suppression)
		return fail(blocked('SUPPRESSED', { ...ctx, address, suppressionReason: suppression.reason }));
	if (facts.erased)
		return fail(blocked('SUPPRESSED', { ...ctx, address, suppressionReason: 'erased on request' }));

	if (!isExemptTransactional(purpose, settings)) {
		const status = facts.consent?.status;
		if (!status) return fail(blocked('NO_CONSENT', ctx));
		if (status === 'withdrawn') return fail(blocked('WITHDRAWN', ctx));
		if (status === 'pending') return fail(blocked('PENDING_CONFIRMATION', ctx));
		// Consent covers the address it was given for; a grant recorded without one covers the
		// addresses the person holds in the contact book, and nothing else.
		const covered = facts.consent?.addresses ?? [];
		if (covered.length ? !covered.includes(address) : !facts.addressOwned)
			return fail(blocked('ADDRESS_NOT_CONSENTED', { ...ctx, address }));
	} else if (!facts.addressOwned && !settings.allowUnlinkedAddress) {
		return fail(blocked('ADDRESS_NOT_LINKED', { ...ctx, address }));
	}
	return { allowed: true, address };
}

export function evaluatePolicy(
	input: PolicyInput,
	facts: PolicyFacts,
	settings: PolicySettings,
): PolicyResult {
	const { contact, channel, purpose } = input;
	const ctx = { contactId: contact.id, channel, purpose };
	const fail = (b: BlockedResult): PolicyResult => ({ ...b, allowed: false });

	const standing = evaluateStanding(input, facts, settings);
	if (!standing.allowed) return standing;
	const { address } = standing;
	const exempt = isExemptTransactional(purpose, settings);

	if (WINDOWED_CHANNELS.includes(channel) && input.messageKind !== 'template') {
		const hours =
			input.messageKind === 'tagged'
				? (settings.humanAgentDays ?? 7) * 24
				: (settings.windowHours ?? 24);
		const last = facts.lastInboundAt;
		if (channel === 'whatsapp' && input.messageKind === 'tagged') {
			// WhatsApp has no tags: outside the window only a template may be sent.
			if (last === undefined || settings.now - last > (settings.windowHours ?? 24) * 3600_000) {
				return fail(blocked('WINDOW_CLOSED', { ...ctx, hours: settings.windowHours ?? 24 }));
			}
		} else if (last === undefined || settings.now - last > hours * 3600_000) {
			return fail(blocked('WINDOW_CLOSED', { ...ctx, hours }));
		}
	}

	let zone: string | undefined;
	let zoneSource: ZoneSource | undefined;
	const rule = settings.quietHours?.[channel];
	if (rule && !exempt) {
		// An invalid zone on the contact throws InvalidZoneError: bad input, not a policy decision.
		const resolved = resolveZone(contact, settings.defaultZone);
		({ zone, source: zoneSource } = resolved);
		if (resolved.zones) {
			const quiet = checkQuietHoursAll(settings.now, resolved.zones, rule);
			if (!quiet.allowed) {
				const zoneText = `every zone of the phone's country (${resolved.zones.join(', ')})`;
				return fail(
					blocked('QUIET_HOURS', {
						...ctx,
						zone: zoneText,
						retryAt: quiet.retryAt,
						problem:
							quiet.retryAt === undefined
								? `The allowed hours never overlap in ${zoneText}: set the contact's time zone or a Default Time Zone.`
								: undefined,
					}),
				);
			}
			zone = resolved.zones.join(',');
		} else {
			const quiet = checkQuietHours(settings.now, zone, rule);
			if (!quiet.allowed)
				return fail(blocked('QUIET_HOURS', { ...ctx, zone, retryAt: quiet.retryAt }));
		}
	}
	return { allowed: true, zone, zoneSource, address };
}

/** The caps that apply to a touch; none for an exempt transactional purpose. */
export function capsFor(
	channel: Channel,
	purpose: Purpose,
	rules: FrequencyCapRule[],
	settings: PolicySettings,
): FrequencyCapRule[] {
	if (isExemptTransactional(purpose, settings)) return [];
	return rules.filter(
		(r) =>
			(r.channel === undefined || r.channel === channel) &&
			(r.purpose === undefined || r.purpose === purpose),
	);
}

const UNIT_MS = { hours: 3600_000, days: 86400_000, weeks: 7 * 86400_000 } as const;

/** A cap rule from the node's fields, with errors that name the field and value. */
export function parseCapRule(fields: {
	maxMessages: unknown;
	per: unknown;
	unit: unknown;
	channel?: unknown;
	purpose?: unknown;
}): FrequencyCapRule {
	const max = Number(fields.maxMessages);
	if (!Number.isInteger(max) || max < 1) {
		throw new Error(
			`Max Messages "${String(fields.maxMessages)}" must be a whole number of at least 1.`,
		);
	}
	const per = Number(fields.per);
	if (!Number.isFinite(per) || per <= 0)
		throw new Error(`Per "${String(fields.per)}" must be a number above 0.`);
	const unit = String(fields.unit) as keyof typeof UNIT_MS;
	if (!(unit in UNIT_MS))
		throw new Error(`Unit "${String(fields.unit)}" must be hours, days or weeks.`);
	const channel =
		fields.channel && fields.channel !== 'all' ? (String(fields.channel) as Channel) : undefined;
	const purpose = fields.purpose && fields.purpose !== 'all' ? String(fields.purpose) : undefined;
	return {
		id: `${purpose ?? 'all'}-${channel ?? 'all'}-${max}-per-${per}${unit[0]}`,
		max,
		windowMs: per * UNIT_MS[unit],
		channel,
		purpose,
	};
}
