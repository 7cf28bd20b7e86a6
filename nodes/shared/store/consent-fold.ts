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
	/** The event that last changed the status. */
	by?: ConsentEventInput['action'];
}

/**
 * The time rule, the one place where the time a consent event counts from is decided (every
 * surface that records consent goes through the store, which applies it). A time from outside (an
 * item field, a payload nobody signed, a device's clock) orders events only within bounds:
 * - nothing counts from after it was recorded: a time in the future counts as the time it reached
 *   the store, so a grant stamped ahead never beats a withdrawal made after it, and an unsubscribe
 *   dated 2100 never locks out a real re-grant;
 * - a withdrawal wins over everything recorded before it, whatever time it carries (FCC: revoked
 *   by any reasonable means; GDPR: as easy to withdraw as to give): it counts from its own time or
 *   from the latest time any event recorded before it counts from, whichever is later (an
 *   old-dated STOP arriving after a grant withdraws it);
 * - a grant, confirmation, restore or request counts from its own time, so a re-delivered old
 *   START never undoes a later STOP, and a backdated grant never beats a withdrawal.
 * `events` are one key's, each with the time it carried (`occurredAt`) and `recordedAt`; `seq`
 * is ledger order (arrival). Returns them as fold input, `occurredAt` now the time each counts from.
 */
export function countedFrom(events: Array<FoldEvent & { recordedAt: number }>): FoldEvent[] {
	let latest = -Infinity;
	return [...events]
		.sort((a, b) => a.seq - b.seq)
		.map(({ recordedAt, ...e }) => {
			const own = Number.isFinite(e.occurredAt) ? Math.min(e.occurredAt, recordedAt) : recordedAt;
			const at = e.action === 'withdraw' ? Math.max(own, latest) : own;
			latest = Math.max(latest, at);
			return { ...e, occurredAt: at };
		});
}

/** What the event would make the status if nothing counted after it (undefined: it decides nothing alone). */
const MEANS: Partial<Record<ConsentEventInput['action'], ConsentStatus>> = {
	grant: 'granted',
	confirm: 'granted',
	restore: 'granted',
	withdraw: 'withdrawn',
};

/**
 * An event that changes nothing because an event counted after it decided the status: which one,
 * and from when. Undefined when the event stands (or meant nothing on its own).
 */
export function supersededBy(
	e: Pick<FoldEvent, 'action' | 'occurredAt'>,
	state: FoldState,
): { action: ConsentEventInput['action']; at: number } | undefined {
	const means = MEANS[e.action];
	if (!means || state.status === means || !state.by) return undefined;
	// Decided after it: a later second, or the same second by an event that wins the tie.
	const later =
		Math.floor(state.updatedAt / 1000) - Math.floor(e.occurredAt / 1000) ||
		RANK[state.by] - RANK[e.action];
	return later > 0 ? { action: state.by, at: state.updatedAt } : undefined;
}

export interface FoldEvent {
	action: ConsentEventInput['action'];
	keyword?: string | null;
	/** When the event counts from (countedFrom), not the time it carried. */
	occurredAt: number;
	address?: string | null;
	/** Ledger order, for events of the same instant and rank. */
	seq: number;
}

const RANK: Record<ConsentEventInput['action'], number> = {
	request: 0,
	grant: 1,
	confirm: 1,
	restore: 1,
	withdraw: 2,
};

export function compareEvents(a: FoldEvent, b: FoldEvent): number {
	return (
		Math.floor(a.occurredAt / 1000) - Math.floor(b.occurredAt / 1000) ||
		RANK[a.action] - RANK[b.action] ||
		a.occurredAt - b.occurredAt ||
		a.seq - b.seq
	);
}

export function applyConsentEvent(s: FoldState, e: FoldEvent): FoldState {
	switch (e.action) {
		case 'grant':
		case 'confirm': {
			const kept = s.status === 'granted' ? (s.addresses ?? []) : [];
			const addresses = e.address && !kept.includes(e.address) ? [...kept, e.address] : kept;
			return {
				status: 'granted',
				restorable: false,
				updatedAt: e.occurredAt,
				addresses,
				by: e.action,
			};
		}
		case 'withdraw': {
			const restorable =
				e.keyword === 'stop' &&
				(s.status === 'granted' || (s.status === 'withdrawn' && s.restorable));
			return {
				status: 'withdrawn',
				restorable,
				updatedAt: e.occurredAt,
				addresses: restorable ? (s.addresses ?? []) : [],
				by: e.action,
			};
		}
		case 'request':
			return s.status === 'granted'
				? s
				: {
						status: 'pending',
						restorable: false,
						updatedAt: e.occurredAt,
						addresses: [],
						by: e.action,
					};
		case 'restore':
			return s.status === 'withdrawn' && s.restorable
				? {
						status: 'granted',
						restorable: false,
						updatedAt: e.occurredAt,
						addresses: s.addresses ?? [],
						by: e.action,
					}
				: s;
		default:
			return s;
	}
}

export function foldConsent(
	events: FoldEvent[],
	from: FoldState = { restorable: false, updatedAt: 0 },
): FoldState {
	return [...events].sort(compareEvents).reduce(applyConsentEvent, from);
}

/** The ledger's columns the fold reads. */
export const LEDGER_FOLD_COLUMNS =
	'id, contact_id, channel, purpose, action, keyword, address, occurred_at, recorded_at';

/** Consent ledger rows (LEDGER_FOLD_COLUMNS) grouped by key, as fold input, each counted from the time rule (countedFrom). */
export function groupLedgerRows(
	rows: Array<Record<string, unknown>>,
): Map<string, { key: ConsentKey; events: FoldEvent[] }> {
	const map = new Map<string, { key: ConsentKey; events: FoldEvent[] }>();
	for (const r of rows) {
		const key = {
			contactId: String(r.contact_id),
			channel: String(r.channel) as ConsentKey['channel'],
			purpose: String(r.purpose),
		};
		const k = consentKeyString(key);
		const entry = map.get(k) ?? { key, events: [] };
		entry.events.push({
			action: r.action as ConsentEventInput['action'],
			keyword: r.keyword == null ? undefined : String(r.keyword),
			address: r.address == null ? undefined : String(r.address),
			occurredAt: Number(r.occurred_at),
			recordedAt: r.recorded_at == null ? Number(r.occurred_at) : Number(r.recorded_at),
			seq: Number(r.id),
		} as FoldEvent);
		map.set(k, entry);
	}
	for (const entry of map.values())
		entry.events = countedFrom(entry.events as Array<FoldEvent & { recordedAt: number }>);
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

/**
 * What an item says when its consent event changed nothing because of its time (the same words
 * on Record Consent, the trigger and Touchpoint Inbox): the event that decides, and from when.
 */
export function supersededJson(by: { action: string; at: number } | undefined): {
	supersededBy?: { action: string; at: string; note: string };
} {
	if (!by) return {};
	const at = new Date(by.at).toISOString();
	return {
		supersededBy: {
			action: by.action,
			at,
			note: `This event changed nothing: a ${by.action} counted from ${at}, after this event's time, decides the consent.`,
		},
	};
}
