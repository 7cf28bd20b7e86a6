/**
 * Quiet hours in the contact's local time. A rule allows sending between `start` and `end`
 * (HH:mm, local; a window may cross midnight), optionally never on Sundays or weekends.
 * retryAt is the next allowed instant, computed in local time with luxon, so it is right on
 * daylight-saving change days (a window opening at 08:00 opens at 08:00 local, not 24 h later).
 */
import { DateTime } from 'luxon';

import type { Channel } from '../contact';

export interface QuietHoursRule {
	/** Allowed from, local HH:mm (inclusive). */
	start: string;
	/** Allowed until, local HH:mm (exclusive). */
	end: string;
	noSunday?: boolean;
	noWeekend?: boolean;
}

/** Defaults: SMS (TCPA 8:00-21:00), WhatsApp, push, Messenger, Instagram the same; email none. */
export const DEFAULT_QUIET_HOURS: Partial<Record<Channel, QuietHoursRule>> = {
	sms: { start: '08:00', end: '21:00' },
	whatsapp: { start: '08:00', end: '21:00' },
	push: { start: '08:00', end: '21:00' },
	messenger: { start: '08:00', end: '21:00' },
	instagram: { start: '08:00', end: '21:00' },
};

export function parseHHmm(value: string, field: string): number {
	const m = /^([01]?\d|2[0-3]):([0-5]\d)$/.exec(String(value).trim());
	if (!m) throw new Error(`${field} "${value}" is not a time of day. Use HH:mm, e.g. 08:00.`);
	return Number(m[1]) * 60 + Number(m[2]);
}

function dayAllowed(dt: DateTime, rule: QuietHoursRule): boolean {
	if (rule.noWeekend && dt.weekday >= 6) return false;
	if (rule.noSunday && dt.weekday === 7) return false;
	return true;
}

function inWindow(minute: number, start: number, end: number): boolean {
	if (start === end) return true;
	return start < end ? minute >= start && minute < end : minute >= start || minute < end;
}

type QuietResult = { allowed: true } | { allowed: false; retryAt: number; localTime: string };

// A batch checks thousands of contacts at one `now` in a handful of zones: decide once per zone.
const memo = new Map<string, QuietResult>();

export function checkQuietHours(
	nowMs: number,
	zone: string,
	rule: QuietHoursRule | undefined,
): QuietResult {
	if (!rule) return { allowed: true };
	const key = `${nowMs}|${zone}|${rule.start}|${rule.end}|${rule.noSunday ? 1 : 0}${rule.noWeekend ? 1 : 0}`;
	let result = memo.get(key);
	if (!result) {
		result = computeQuietHours(nowMs, zone, rule);
		if (memo.size > 10_000) memo.clear();
		memo.set(key, result);
	}
	return result;
}

function computeQuietHours(nowMs: number, zone: string, rule: QuietHoursRule): QuietResult {
	const start = parseHHmm(rule.start, 'Quiet hours start');
	const end = parseHHmm(rule.end, 'Quiet hours end');
	const local = DateTime.fromMillis(nowMs, { zone });
	const minute = local.hour * 60 + local.minute;
	if (dayAllowed(local, rule) && inWindow(minute, start, end)) return { allowed: true };
	// The next opening: today's or a following day's start, on an allowed day, in local time.
	for (let d = 0; d <= 8; d++) {
		const day = local.startOf('day').plus({ days: d });
		const opening = day.set({ hour: Math.floor(start / 60), minute: start % 60 });
		if (opening.toMillis() <= nowMs) continue;
		if (!dayAllowed(opening, rule)) continue;
		return { allowed: false, retryAt: opening.toMillis(), localTime: local.toFormat('HH:mm') };
	}
	return { allowed: false, retryAt: nowMs + 7 * 86400_000, localTime: local.toFormat('HH:mm') };
}

/**
 * Quiet hours that must hold in every one of `zones` (a phone country with several zones and no
 * zone known for the person). retryAt is the first instant allowed everywhere; when the allowed
 * hours never overlap across the zones, there is none and the result says so.
 */
export function checkQuietHoursAll(
	nowMs: number,
	zones: string[],
	rule: QuietHoursRule | undefined,
): QuietResult | { allowed: false; retryAt?: undefined; localTime: string } {
	if (!rule || zones.length === 0) return { allowed: true };
	const first = checkQuietHours(nowMs, zones[0], rule);
	let t = nowMs;
	for (let round = 0; round < 24; round++) {
		const results = zones.map((z) => checkQuietHours(t, z, rule));
		const waiting = results.filter(
			(r): r is Extract<QuietResult, { allowed: false }> => !r.allowed,
		);
		if (waiting.length === 0) {
			return t === nowMs
				? { allowed: true }
				: { allowed: false, retryAt: t, localTime: first.allowed ? '' : first.localTime };
		}
		t = Math.max(...waiting.map((r) => r.retryAt));
	}
	return { allowed: false, localTime: first.allowed ? '' : first.localTime };
}
