/**
 * A/B tests: deterministic assignment of a person to an arm, and the decision which arm won.
 *
 * Assignment: SHA-256 of experiment and contact id gives a bucket in [0, 10000); arms take
 * consecutive ranges by their percentages, the rest is held out. The same person always lands in
 * the same arm of an experiment, whatever the run, worker or order.
 *
 * Decision (the stated rule): a two-sided two-proportion z-test (pooled) of the best arm against
 * every other arm; the best arm wins when every comparison has p < 1 - confidence and every arm has
 * at least the minimum sample. Otherwise no winner yet (too few) or none (no significant difference).
 */
import { createHash } from 'node:crypto';

export interface Arm {
	name: string;
	/** Share of people, 0-100. */
	percent: number;
}

/** The arm of `contactId` in `experiment`, or undefined for the held-out rest. */
export function assignArm(experiment: string, contactId: string, arms: Arm[]): string | undefined {
	const bucket =
		createHash('sha256').update(`${experiment}\u0000${contactId}`).digest().readUInt32BE(0) %
		10_000;
	let upTo = 0;
	for (const arm of arms) {
		upTo += Math.round(arm.percent * 100);
		if (bucket < upTo) return arm.name;
	}
	return undefined;
}

/** Arms must have names and shares that add up to at most 100 %. Returns a sentence per problem. */
export function armProblems(arms: Arm[]): string[] {
	const out: string[] = [];
	if (arms.length < 1) out.push('Add at least one arm');
	const names = new Set<string>();
	for (const a of arms) {
		if (!a.name.trim()) out.push('Every arm needs a name');
		if (names.has(a.name)) out.push(`Two arms are called "${a.name}"`);
		names.add(a.name);
		if (!(a.percent > 0 && a.percent <= 100))
			out.push(`Arm "${a.name}" has ${a.percent} %: give a share above 0 and at most 100`);
	}
	const total = arms.reduce((n, a) => n + a.percent, 0);
	if (total > 100 + 1e-9)
		out.push(`The arms add up to ${total} %: at most 100 (the rest is held out)`);
	return out;
}

export interface ArmResult {
	variant: string;
	sent: number;
	successes: number;
}

export interface Comparison {
	against: string;
	z: number;
	pValue: number;
}

export interface WinnerDecision {
	decision: 'winner' | 'not_enough_data' | 'no_significant_difference';
	winner: string | null;
	/** Why, in a sentence. */
	message: string;
	arms: Array<ArmResult & { rate: number }>;
	comparisons: Comparison[];
	rule: { test: 'two-proportion z-test, two-sided, pooled'; confidence: number; minPerArm: number };
}

/** The standard normal cumulative distribution (Abramowitz & Stegun 7.1.26 for erf; error < 1.5e-7). */
export function normalCdf(z: number): number {
	const x = Math.abs(z) / Math.SQRT2;
	const t = 1 / (1 + 0.3275911 * x);
	const erf =
		1 -
		((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) *
			t *
			Math.exp(-x * x);
	return z >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}

/** Two-sided two-proportion z-test with the pooled proportion. */
export function twoProportionZTest(a: ArmResult, b: ArmResult): { z: number; pValue: number } {
	const p1 = a.successes / a.sent;
	const p2 = b.successes / b.sent;
	const pooled = (a.successes + b.successes) / (a.sent + b.sent);
	const se = Math.sqrt(pooled * (1 - pooled) * (1 / a.sent + 1 / b.sent));
	if (!(se > 0)) return { z: 0, pValue: 1 };
	const z = (p1 - p2) / se;
	return { z, pValue: 2 * (1 - normalCdf(Math.abs(z))) };
}

export function pickWinner(
	results: ArmResult[],
	options: { confidence: number; minPerArm: number },
): WinnerDecision {
	const arms = results
		.map((r) => ({ ...r, rate: r.sent ? r.successes / r.sent : 0 }))
		.sort((x, y) => y.rate - x.rate || x.variant.localeCompare(y.variant));
	const rule = {
		test: 'two-proportion z-test, two-sided, pooled' as const,
		confidence: options.confidence,
		minPerArm: options.minPerArm,
	};
	const round = (n: number) => Math.round(n * 10_000) / 10_000;
	// 1 - 0.95 is 0.050000000000000044 in floating point: the threshold as the marketer wrote it.
	const alpha = Number((1 - options.confidence).toFixed(12));
	// Shown to 4 decimals, or 6 where 4 would read as the threshold itself (0.05004 is not "0.05").
	const shown = (p: number) =>
		round(p) === round(alpha) ? Math.round(p * 1_000_000) / 1_000_000 : round(p);
	if (arms.length < 2)
		return {
			decision: 'not_enough_data',
			winner: null,
			message: arms.length
				? `Not enough data yet: only arm ${arms[0].variant} has sends; a test needs two (previews do not count)`
				: 'Not enough data yet: no arm has sends (previews do not count)',
			arms,
			comparisons: [],
			rule,
		};
	const short = arms.filter((a) => a.sent < options.minPerArm);
	const [best, ...others] = arms;
	const tests = others.map((o) => ({ against: o.variant, ...twoProportionZTest(best, o) }));
	const comparisons = tests.map((t) => ({
		against: t.against,
		z: round(t.z),
		pValue: shown(t.pValue),
	}));
	if (short.length) {
		return {
			decision: 'not_enough_data',
			winner: null,
			message: `Not enough data yet: ${short.map((a) => `${a.variant} has ${a.sent} sends`).join(', ')}; each arm needs at least ${options.minPerArm}`,
			arms,
			comparisons,
			rule,
		};
	}
	// Decided on the exact p-value, never on the rounded one shown.
	const weak = comparisons.filter((_, k) => !(tests[k].pValue < alpha));
	if (weak.length) {
		return {
			decision: 'no_significant_difference',
			winner: null,
			message: `${best.variant} leads, but not at ${Math.round(options.confidence * 100)} % confidence against ${weak.map((c) => `${c.against} (p = ${c.pValue})`).join(', ')}`,
			arms,
			comparisons,
			rule,
		};
	}
	return {
		decision: 'winner',
		winner: best.variant,
		message: `${best.variant} wins: ${(best.rate * 100).toFixed(1)} % against ${others.map((o) => `${o.variant} ${(o.rate * 100).toFixed(1)} %`).join(', ')} (p ${comparisons.map((c) => `= ${c.pValue}`).join(', ')}; below ${round(alpha)})`,
		arms,
		comparisons,
		rule,
	};
}
