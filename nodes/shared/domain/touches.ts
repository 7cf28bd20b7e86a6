/** Touches: a message to a person on a channel, from reservation under the caps to its outcome; in-app messages and tracked links. */
import type { Channel, Purpose } from '../contact';

/**
 * reserved (cap slot taken) -> sending (one execution claimed it) -> sent | failed | unknown.
 * failed: the provider refused it or the connection was refused, so it provably never arrived:
 * a later reservation with the same key takes it again (under the caps, like a new touch).
 * unknown: the request may have reached the provider (a 502/504, a reset after sending, a 200
 * without a message id): never sent again automatically, and counted by the caps.
 */
export type TouchStatus = 'reserved' | 'sending' | 'sent' | 'failed' | 'unknown';

export type ClaimResult = 'claimed' | 'sending' | 'sent' | 'failed' | 'unknown' | 'missing';

/** What became of a claimed touch: sent, or failed / unknown with the provider's error. */
export type TouchOutcome =
	| { status: 'sent'; providerMessageId?: string; variant?: string }
	| {
			status: 'failed' | 'unknown';
			errorCode?: string;
			errorMessage?: string;
			variant?: string;
	  };

export interface TouchRecord {
	idempotencyKey: string;
	contactId: string;
	channel: Channel;
	purpose: Purpose;
	campaign?: string;
	status: TouchStatus;
	providerMessageId?: string;
	errorCode?: string;
	errorMessage?: string;
	deliveryStatus?: string;
	/** The A/B arm the message belonged to. */
	variant?: string;
	createdAt: number;
	updatedAt: number;
	/** When it left (claimed just before its request); reply, conversion and opt-out windows start here. */
	sentAt?: number;
	/** Marked as spam (kept beside deliveryStatus, never over it). */
	complainedAt?: number;
	bouncedAt?: number;
}

/** A rolling-window frequency cap, e.g. max 2 marketing messages per 7 days on all channels. */
export interface FrequencyCapRule {
	/** Stable id shown in blocked reasons, e.g. 'marketing-2-per-7d'. */
	id: string;
	max: number;
	windowMs: number;
	/** undefined = all channels */
	channel?: Channel;
	/** undefined = all purposes */
	purpose?: Purpose;
}

export interface ReservationRequest {
	idempotencyKey: string;
	contactId: string;
	channel: Channel;
	purpose: Purpose;
	campaign?: string;
	/** Caps that apply to this touch (already filtered: transactional exemption is the caller's). */
	caps: FrequencyCapRule[];
}

export type ReservationResult =
	| { idempotencyKey: string; outcome: 'reserved' }
	/** The key exists already: nothing new reserved. `existing` says what happened to it. */
	| { idempotencyKey: string; outcome: 'duplicate'; existing: TouchRecord }
	/** A cap is full. retryAt = when the oldest counted touch leaves the window. */
	| { idempotencyKey: string; outcome: 'capped'; capId: string; retryAt: number };

export interface InAppMessage {
	id: string;
	contactId: string;
	campaign?: string;
	title: string;
	body: string;
	imageUrl?: string;
	ctaLabel?: string;
	ctaUrl?: string;
	createdAt: number;
	expiresAt: number;
	readAt?: number;
}

export interface TrackedLink {
	code: string;
	contactId: string;
	channel: Channel;
	campaign: string;
	url: string;
}
