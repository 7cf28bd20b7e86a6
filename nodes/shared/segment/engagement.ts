/**
 * Engagement score: each event weighs by its type and decays exponentially with its age,
 *   score = sum(weight(type) * 0.5 ^ (ageDays / halfLifeDays))
 * so an event half a half-life old counts ~71 %, one half-life old 50 %, two 25 %.
 */
export const DEFAULT_WEIGHTS: Record<string, number> = {
	open: 1,
	click: 3,
	reply: 5,
	visit: 2,
	purchase: 10,
};

export interface EngagementEvent {
	type: string;
	at: number;
}

export function decayedScore(
	events: EngagementEvent[],
	weights: ReadonlyMap<string, number>,
	halfLifeDays: number,
	now: number,
): number {
	let score = 0;
	for (const e of events) {
		// Event types are item data: a Map, so "constructor" or "__proto__" weigh nothing.
		const w = weights.get(e.type);
		if (!w) continue;
		const ageDays = Math.max(0, (now - e.at) / 86400_000);
		score += w * Math.pow(0.5, ageDays / halfLifeDays);
	}
	return Math.round(score * 1000) / 1000;
}

/** A stored score carried forward to `now` (same half-life). */
export function decayForward(
	score: number,
	fromMs: number,
	now: number,
	halfLifeDays: number,
): number {
	const ageDays = Math.max(0, (now - fromMs) / 86400_000);
	return score * Math.pow(0.5, ageDays / halfLifeDays);
}

export function tierOf(score: number, warmFrom: number, hotFrom: number): 'cold' | 'warm' | 'hot' {
	if (score >= hotFrom) return 'hot';
	if (score >= warmFrom) return 'warm';
	return 'cold';
}
