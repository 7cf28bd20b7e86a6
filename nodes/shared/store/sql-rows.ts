/**
 * What the store modules share: the chunk size, row readers, and how delivery statuses rank.
 */
import { hash } from 'node:crypto';
import type { Channel } from '../contact';
import { decodeAddresses } from './consent-fold';
import type {
	ConsentEventInput,
	ConsentEvidence,
	ConsentLedgerEntry,
	ConsentState,
	ConsentStatus,
	TouchRecord,
} from './types';

export const CHUNK = 300;

export function sha256(text: string): string {
	return hash('sha256', text, 'hex');
}

export type Row = Record<string, unknown>;

export const str = (v: unknown) => (v === null || v === undefined ? undefined : String(v));

export function toTouch(r: Row): TouchRecord {
	return {
		idempotencyKey: String(r.idempotency_key),
		contactId: String(r.contact_id),
		channel: r.channel as Channel,
		purpose: String(r.purpose),
		campaign: str(r.campaign),
		status: r.status as TouchRecord['status'],
		providerMessageId: str(r.provider_message_id),
		errorCode: str(r.error_code),
		errorMessage: str(r.error_message),
		deliveryStatus: str(r.delivery_status),
		variant: str(r.variant),
		createdAt: Number(r.created_at),
		updatedAt: Number(r.updated_at),
		...(r.sent_at != null ? { sentAt: Number(r.sent_at) } : {}),
		...(r.complained_at != null ? { complainedAt: Number(r.complained_at) } : {}),
		...(r.bounced_at != null ? { bouncedAt: Number(r.bounced_at) } : {}),
	};
}

export function toLedger(r: Row): ConsentLedgerEntry {
	const evidence: ConsentEvidence = { source: String(r.source) };
	if (r.wording != null) evidence.wording = String(r.wording);
	if (r.wording_hash != null) evidence.wordingHash = String(r.wording_hash);
	if (r.wording_version != null) evidence.wordingVersion = String(r.wording_version);
	if (r.ip_address != null) evidence.ipAddress = String(r.ip_address);
	if (r.user_agent != null) evidence.userAgent = String(r.user_agent);
	if (r.actor != null) evidence.actor = String(r.actor);
	if (r.extra != null) evidence.extra = JSON.parse(String(r.extra));
	return {
		id: Number(r.id),
		contactId: String(r.contact_id),
		channel: r.channel as Channel,
		purpose: String(r.purpose),
		address: str(r.address),
		action: r.action as ConsentEventInput['action'],
		...(r.keyword != null ? { keyword: String(r.keyword) as 'stop' | 'start' } : {}),
		evidence,
		occurredAt: Number(r.occurred_at),
		recordedAt: Number(r.recorded_at),
	};
}

/**
 * Where a delivery status stands in a message's life: a status replaces only a lower one. Unknown
 * statuses rank 1, above none (so they are kept), below everything providers report in order.
 */
export const DELIVERY_RANKS: Record<string, number> = {
	sent: 2,
	delivered: 3,
	read: 4,
	clicked: 5,
	undelivered: 6,
	failed: 6,
	bounced: 7,
	complaint: 8,
};

export function deliveryRank(status: string): number {
	return DELIVERY_RANKS[status] ?? 1;
}

export const DELIVERY_RANK_SQL = `(CASE COALESCE(delivery_status, '') ${Object.entries(
	DELIVERY_RANKS,
)
	.map(([k, v]) => `WHEN '${k}' THEN ${v}`)
	.join(' ')} WHEN '' THEN 0 ELSE 1 END)`;

/** A consent_state row: the current consent of one person, channel and purpose. */
export function toConsentState(r: Row): ConsentState {
	const state: ConsentState = {
		contactId: String(r.contact_id),
		channel: r.channel as Channel,
		purpose: String(r.purpose),
		status: r.status as ConsentStatus,
		updatedAt: Number(r.updated_at),
		addresses: decodeAddresses(r.addresses),
	};
	if (Number(r.restorable) === 1) state.restorable = true;
	return state;
}
