/**
 * Current consent = the ledger folded in event-time order (when the person acted, not when the
 * event arrived): a re-delivered START older than a later STOP changes nothing. Time is compared to
 * the second (providers' webhooks carry seconds); events in the same second apply request, then
 * grants and restores, then withdrawals: a tie resolves to withdrawn.
 *
 * - grant / confirm: granted (an explicit, worded opt-in).
 * - withdraw: withdrawn; restorable only when a keyword STOP withdrew a grant.
 * - request: pending, unless already granted (a request never downgrades a grant).
 * - restore (START, UNSTOP, YES...): granted again only when restorable; otherwise nothing. A
 *   keyword therefore never grants a purpose that was never granted.
 * Addresses: a grant covers the address it was given for. Grants add their address while the
 * status stays granted; a withdrawal clears them (a keyword STOP keeps them for a restore); a
 * pending request covers none.
 */
import type { ConsentEventInput, ConsentKey, ConsentStatus } from './types';
import { consentKeyString } from './types';

export interface FoldState {
	status?: ConsentStatus;
	restorable: boolean;
	updatedAt: number;
	addresses?: string[];
}

export interface FoldEvent {
	action: ConsentEventInput['action'];
	keyword?: string | null;
	occurredAt: number;
	address?: string | null;
	/** Ledger order, for events of the same instant and rank. */
	seq: number;
}

const RANK: Record<ConsentEventInput['action'], number> = { request: 0, grant: 1, confirm: 1, restore: 1, withdraw: 2 };

export function compareEvents(a: FoldEvent, b: FoldEvent): number {
	return Math.floor(a.occurredAt / 1000) - Math.floor(b.occurredAt / 1000) || RANK[a.action] - RANK[b.action] || a.occurredAt - b.occurredAt || a.seq - b.seq;
}

export function applyConsentEvent(s: FoldState, e: FoldEvent): FoldState {
	switch (e.action) {
		case 'grant':
		case 'confirm': {
			const kept = s.status === 'granted' ? (s.addresses ?? []) : [];
			const addresses = e.address && !kept.includes(e.address) ? [...kept, e.address] : kept;
			return { status: 'granted', restorable: false, updatedAt: e.occurredAt, addresses };
		}
		case 'withdraw': {
			const restorable = e.keyword === 'stop' && (s.status === 'granted' || (s.status === 'withdrawn' && s.restorable));
			return { status: 'withdrawn', restorable, updatedAt: e.occurredAt, addresses: restorable ? (s.addresses ?? []) : [] };
		}
		case 'request':
			return s.status === 'granted' ? s : { status: 'pending', restorable: false, updatedAt: e.occurredAt, addresses: [] };
		case 'restore':
			return s.status === 'withdrawn' && s.restorable ? { status: 'granted', restorable: false, updatedAt: e.occurredAt, addresses: s.addresses ?? [] } : s;
		default:
			return s;
	}
}

export function foldConsent(events: FoldEvent[], from: FoldState = { restorable: false, updatedAt: 0 }): FoldState {
	return [...events].sort(compareEvents).reduce(applyConsentEvent, from);
}

/** Consent ledger rows (id, contact_id, channel, purpose, action, keyword, address, occurred_at) grouped by key, as fold input. */
export function groupLedgerRows(rows: Array<Record<string, unknown>>): Map<string, { key: ConsentKey; events: FoldEvent[] }> {
	const map = new Map<string, { key: ConsentKey; events: FoldEvent[] }>();
	for (const r of rows) {
		const key = { contactId: String(r.contact_id), channel: String(r.channel) as ConsentKey['channel'], purpose: String(r.purpose) };
		const k = consentKeyString(key);
		const entry = map.get(k) ?? { key, events: [] };
		entry.events.push({
			action: r.action as ConsentEventInput['action'],
			keyword: r.keyword == null ? undefined : String(r.keyword),
			address: r.address == null ? undefined : String(r.address),
			occurredAt: Number(r.occurred_at),
			seq: Number(r.id),
		});
		map.set(k, entry);
	}
	return map;
}

/** The addresses a consent state covers, as stored (a JSON array; NULL when none). */
export function encodeAddresses(list: string[] | undefined): string | null {
	return list && list.length ? JSON.stringify(list) : null;
}

// What JSON writes escaped: a quote, a backslash, a control character.
// eslint-disable-next-line no-control-regex -- control characters are exactly what it looks for
const JSON_ESCAPED = /["\\\u0000-\u001f]/;

export function decodeAddresses(value: unknown): string[] {
	if (typeof value !== 'string' || value === '') return [];
	// Almost every consent covers one address: ["+34600111222"] needs no JSON parser when the
	// string inside has nothing JSON would escape.
	if (value.startsWith('["') && value.endsWith('"]') && value.length > 4) {
		const inner = value.slice(2, -2);
		if (!JSON_ESCAPED.test(inner)) return [inner];
	}
	try {
		const list = JSON.parse(value);
		return Array.isArray(list) ? list.map(String) : [];
	} catch {
		return [];
	}
}
