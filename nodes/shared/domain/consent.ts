/** Consent: what a person agreed to, per channel and purpose, with the evidence, and the addresses never to contact. */
import type { Channel, Purpose } from '../contact';

export type ConsentStatus = 'granted' | 'withdrawn' | 'pending';

/** What a person agreed to (or withdrew), and the proof. GDPR art. 7: who, when, how, what wording. */
export interface ConsentEvidence {
	/** Where consent was collected: web form URL, 'whatsapp-keyword', 'import:crm-2026-05', ... */
	source: string;
	/** The exact wording shown, or a version label of it. */
	wording?: string;
	/** sha256 of the wording (computed when wording is given). */
	wordingHash?: string;
	wordingVersion?: string;
	ipAddress?: string;
	userAgent?: string;
	/** Who recorded it: 'contact', 'agent:maria', 'workflow:123'. */
	actor?: string;
	/** Anything else the caller wants kept with the event. */
	extra?: Record<string, unknown>;
}

export interface ConsentEventInput {
	contactId: string;
	channel: Channel;
	purpose: Purpose;
	/** The address the consent is for (phone, e-mail...). Optional: kept for evidence and erase. */
	address?: string;
	/**
	 * grant / confirm: an explicit, worded opt-in. withdraw: an opt-out. request: double opt-in
	 * pending. restore: an opt-in keyword (START, UNSTOP, YES...), which only undoes a keyword STOP
	 * that withdrew a grant; it never grants a purpose that was not granted before.
	 */
	action: 'grant' | 'withdraw' | 'request' | 'confirm' | 'restore';
	/** 'stop' on a withdrawal made by an opt-out keyword (a later restore may undo it). */
	keyword?: 'stop' | 'start';
	evidence: ConsentEvidence;
	/** When the person acted (epoch ms); defaults to now. */
	occurredAt?: number;
	/** For 'request' (double opt-in): token hash and expiry. */
	confirmTokenHash?: string;
	confirmExpiresAt?: number;
}

export interface ConsentState {
	contactId: string;
	channel: Channel;
	purpose: Purpose;
	status: ConsentStatus;
	/** When the event that decided the status occurred (not when it arrived). */
	updatedAt: number;
	/** Withdrawn by a keyword STOP over a grant: an opt-in keyword may restore it. */
	restorable?: boolean;
	/**
	 * The normalised addresses the grant covers (recorded with grant/confirm events). Empty for a
	 * grant recorded without an address: it then covers the addresses the person holds in the
	 * contact book, and nothing else.
	 */
	addresses?: string[];
}

export interface ConsentLedgerEntry extends ConsentEventInput {
	id: number;
	occurredAt: number;
	recordedAt: number;
	/** Set by recordConsent when an event counted after this one decides the status (the time rule). */
	supersededBy?: { action: ConsentEventInput['action']; at: number };
}

export interface ConsentKey {
	contactId: string;
	channel: Channel;
	purpose: Purpose;
}

export function consentKeyString(key: ConsentKey): string {
	return `${key.contactId}\u0000${key.channel}\u0000${key.purpose}`;
}

export interface SuppressionEntry {
	/** Normalised address: lower-case e-mail, E.164 phone, token... */
	address: string;
	channel?: Channel; // undefined = all channels
	reason: 'bounced' | 'complained' | 'manual' | 'unsubscribed' | 'erased' | string;
	note?: string;
	createdAt?: number;
}
