/**
 * A/B core: assignment is the same every time and close to the shares asked for; the winner rule
 * against figures computed by hand.
 */
import {
	armProblems,
	assignArm,
	normalCdf,
	pickWinner,
	twoProportionZTest,
} from '../../../nodes/shared/insights/ab';

describe('A/B assignment', () => {
	const arms = [
		{ name: 'A', percent: 10 },
		{ name: 'B', percent: 10 },
	];
	it('the same person lands in the same arm of an experiment, every time; another experiment draws again', () => {
		const first = Array.from({ length: 200 }, (_, i) => assignArm('spring', `c${i}`, arms));
		expect(Array.from({ length: 200 }, (_, i) => assignArm('spring', `c${i}`, arms))).toEqual(
			first,
		);
		const other = Array.from({ length: 200 }, (_, i) => assignArm('autumn', `c${i}`, arms));
		expect(other).not.toEqual(first);
	});
	it('20,000 people: each arm within 1 point of its 10 %, the rest about 80 %', () => {
		const counts: Record<string, number> = { A: 0, B: 0, rest: 0 };
		for (let i = 0; i < 20_000; i++) counts[assignArm('spring', `person-${i}`, arms) ?? 'rest']++;
		expect(Math.abs(counts.A / 20_000 - 0.1)).toBeLessThan(0.01);
		expect(Math.abs(counts.B / 20_000 - 0.1)).toBeLessThan(0.01);
		expect(Math.abs(counts.rest / 20_000 - 0.8)).toBeLessThan(0.015);
	});
	it('arms that do not add up are named', () => {
		expect(
			armProblems([
				{ name: 'A', percent: 60 },
				{ name: 'A', percent: 50 },
			]),
		).toEqual([
			'Two arms are called "A"',
			'The arms add up to 110 %: at most 100 (the rest is held out)',
		]);
		expect(armProblems([{ name: 'A', percent: 0 }])).toEqual([
			'Arm "A" has 0 %: give a share above 0 and at most 100',
		]);
	});
});

describe('A/B winner (two-sided two-proportion z-test, pooled)', () => {
	it('the normal distribution at known points', () => {
		expect(normalCdf(0)).toBeCloseTo(0.5, 7);
		expect(normalCdf(1.959964)).toBeCloseTo(0.975, 6);
		expect(normalCdf(-2.575829)).toBeCloseTo(0.005, 6);
	});
	it('A 40/200 against B 20/200: pooled p = 0.15, se = 0.035707, z = 2.8006, p = 0.0051 -> A wins at 95 % (and at 99 %)', () => {
		const t = twoProportionZTest(
			{ variant: 'A', sent: 200, successes: 40 },
			{ variant: 'B', sent: 200, successes: 20 },
		);
		expect(t.z).toBeCloseTo(2.8006, 4);
		expect(t.pValue).toBeCloseTo(0.0051, 4);
		const d = pickWinner(
			[
				{ variant: 'B', sent: 200, successes: 20 },
				{ variant: 'A', sent: 200, successes: 40 },
			],
			{ confidence: 0.95, minPerArm: 100 },
		);
		expect(d).toMatchObject({
			decision: 'winner',
			winner: 'A',
			comparisons: [{ against: 'B', z: 2.8006, pValue: 0.0051 }],
		});
		expect(d.message).toBe('A wins: 20.0 % against B 10.0 % (p = 0.0051; below 0.05)');
		expect(
			pickWinner(
				[
					{ variant: 'A', sent: 200, successes: 40 },
					{ variant: 'B', sent: 200, successes: 20 },
				],
				{ confidence: 0.99, minPerArm: 100 },
			).winner,
		).toBe('A');
	});
	it('decided on the exact p-value, never on the rounded one: 6/50 vs 1/50 at 95 % (p 0.05004) is no winner, 38/75 vs 28/75 at 90 % (p 0.09999) is', () => {
		const close = pickWinner(
			[
				{ variant: 'A', sent: 50, successes: 6 },
				{ variant: 'B', sent: 50, successes: 1 },
			],
			{ confidence: 0.95, minPerArm: 50 },
		);
		expect(
			twoProportionZTest(
				{ variant: 'A', sent: 50, successes: 6 },
				{ variant: 'B', sent: 50, successes: 1 },
			).pValue,
		).toBeGreaterThan(0.05);
		// Before, 0.05004 was rounded to 0.05 and the rounded value decided.
		expect(close).toMatchObject({
			decision: 'no_significant_difference',
			winner: null,
			comparisons: [{ against: 'B', pValue: 0.050036 }],
		});
		const under = pickWinner(
			[
				{ variant: 'A', sent: 75, successes: 38 },
				{ variant: 'B', sent: 75, successes: 28 },
			],
			{ confidence: 0.9, minPerArm: 50 },
		);
		expect(
			twoProportionZTest(
				{ variant: 'A', sent: 75, successes: 38 },
				{ variant: 'B', sent: 75, successes: 28 },
			).pValue,
		).toBeLessThan(0.1);
		expect(under).toMatchObject({
			decision: 'winner',
			winner: 'A',
			comparisons: [{ against: 'B', pValue: 0.099995 }],
		});
	});
	it('A 24/200 against B 20/200: pooled p = 0.11, se = 0.031289, z = 0.6392, p = 0.5227 -> no significant difference', () => {
		const d = pickWinner(
			[
				{ variant: 'A', sent: 200, successes: 24 },
				{ variant: 'B', sent: 200, successes: 20 },
			],
			{ confidence: 0.95, minPerArm: 100 },
		);
		expect(d).toMatchObject({
			decision: 'no_significant_difference',
			winner: null,
			comparisons: [{ against: 'B', z: 0.6392, pValue: 0.5227 }],
		});
	});
	it('a clear lead with too few sends is not a winner yet, and says how many are missing', () => {
		const d = pickWinner(
			[
				{ variant: 'A', sent: 50, successes: 30 },
				{ variant: 'B', sent: 200, successes: 20 },
			],
			{ confidence: 0.95, minPerArm: 100 },
		);
		expect(d).toMatchObject({
			decision: 'not_enough_data',
			winner: null,
			message: 'Not enough data yet: A has 50 sends; each arm needs at least 100',
		});
	});
	it('three arms: the best must beat every other one', () => {
		const arms = [
			{ variant: 'A', sent: 300, successes: 60 },
			{ variant: 'B', sent: 300, successes: 54 },
			{ variant: 'C', sent: 300, successes: 30 },
		];
		const d = pickWinner(arms, { confidence: 0.95, minPerArm: 100 });
		expect(d.decision).toBe('no_significant_difference');
		expect(d.message).toMatch(/^A leads, but not at 95 % confidence against B \(p = 0\.5/);
	});
});

describe('pickWinner in plain words when there is nothing to compare', () => {
	it('no arm, or a single arm, says what is missing and that previews do not count', () => {
		const none = pickWinner([], { confidence: 0.95, minPerArm: 100 });
		expect(none.message).toBe('Not enough data yet: no arm has sends (previews do not count)');
		const one = pickWinner([{ variant: 'B', sent: 3, successes: 1 }], {
			confidence: 0.95,
			minPerArm: 100,
		});
		expect(one.message).toBe(
			'Not enough data yet: only arm B has sends; a test needs two (previews do not count)',
		);
	});
});
