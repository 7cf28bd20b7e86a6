/**
 * Segment core: every operator with its coercion rules, both modes, RFM on a fixture with
 * known answers, and the decay maths.
 */
import { decayedScore, decayForward, tierOf } from '../../../nodes/shared/segment/engagement';
import { quintiles, rfmSegment, scoreRfm, RFM_SEGMENTS } from '../../../nodes/shared/segment/rfm';
import { compileSegments, type Condition } from '../../../nodes/shared/segment/rules';

const NOW = Date.UTC(2026, 10, 24, 12, 0);
const test1 = (c: Condition, json: unknown) =>
	compileSegments([{ name: 'S', combine: 'and', conditions: [c] }], {
		mode: 'firstMatch',
		now: NOW,
	})(json).length === 1;

describe('operators and coercion', () => {
	it.each([
		[
			'equals: "10" equals 10 (numeric strings compare as numbers)',
			{ field: 'a', operator: 'equals', value: '10' },
			{ a: 10 },
			true,
		],
		[
			'equals: "10.0" equals 10',
			{ field: 'a', operator: 'equals', value: '10.0' },
			{ a: '10' },
			true,
		],
		[
			'equals: text is case-insensitive by default',
			{ field: 'a', operator: 'equals', value: 'spain' },
			{ a: 'Spain' },
			true,
		],
		[
			'equals: booleans compare with "true"',
			{ field: 'a', operator: 'equals', value: 'true' },
			{ a: true },
			true,
		],
		[
			'equals: a missing field never equals',
			{ field: 'a', operator: 'equals', value: '' },
			{},
			false,
		],
		[
			'notEquals: a missing field is not equal',
			{ field: 'a', operator: 'notEquals', value: 'x' },
			{},
			true,
		],
		[
			'contains: substring',
			{ field: 'a.b', operator: 'contains', value: 'vip' },
			{ a: { b: 'Gold VIP' } },
			true,
		],
		[
			'contains: array element',
			{ field: 'tags', operator: 'contains', value: 'vip' },
			{ tags: ['new', 'VIP'] },
			true,
		],
		['startsWith', { field: 'p', operator: 'startsWith', value: '+34' }, { p: '+34600' }, true],
		['inList', { field: 'c', operator: 'inList', value: 'ES, PT ,FR' }, { c: 'pt' }, true],
		[
			'gt with a numeric string field',
			{ field: 'n', operator: 'gt', value: '5' },
			{ n: '6' },
			true,
		],
		[
			'gt with a non-number field is false, not an error',
			{ field: 'n', operator: 'gt', value: '5' },
			{ n: 'six' },
			false,
		],
		['gte', { field: 'n', operator: 'gte', value: '5' }, { n: 5 }, true],
		['lt', { field: 'n', operator: 'lt', value: '5' }, { n: 4.9 }, true],
		['lte', { field: 'n', operator: 'lte', value: '5' }, { n: 6 }, false],
		[
			'between is inclusive',
			{ field: 'n', operator: 'between', value: '1', value2: '3' },
			{ n: 3 },
			true,
		],
		['exists: 0 exists', { field: 'n', operator: 'exists' }, { n: 0 }, true],
		['exists: null does not', { field: 'n', operator: 'exists' }, { n: null }, false],
		['notExists', { field: 'n', operator: 'notExists' }, {}, true],
		['isEmpty: blank string', { field: 's', operator: 'isEmpty' }, { s: '  ' }, true],
		['isEmpty: empty list', { field: 's', operator: 'isEmpty' }, { s: [] }, true],
		['isEmpty: 0 is not empty', { field: 's', operator: 'isEmpty' }, { s: 0 }, false],
		[
			'dateBefore with ISO strings',
			{ field: 'd', operator: 'dateBefore', value: '2026-01-01' },
			{ d: '2025-12-31T23:00:00Z' },
			true,
		],
		[
			'dateAfter with epoch ms',
			{ field: 'd', operator: 'dateAfter', value: '2026-01-01' },
			{ d: Date.UTC(2026, 0, 2) },
			true,
		],
		[
			'dateAfter with epoch seconds',
			{ field: 'd', operator: 'dateAfter', value: '2026-01-01' },
			{ d: Date.UTC(2026, 0, 2) / 1000 },
			true,
		],
		[
			'withinLastDays',
			{ field: 'd', operator: 'withinLastDays', value: '7' },
			{ d: new Date(NOW - 6 * 86400_000).toISOString() },
			true,
		],
		[
			'withinLastDays excludes older',
			{ field: 'd', operator: 'withinLastDays', value: '7' },
			{ d: new Date(NOW - 8 * 86400_000).toISOString() },
			false,
		],
		[
			'olderThanDays',
			{ field: 'd', operator: 'olderThanDays', value: '30' },
			{ d: NOW - 31 * 86400_000 },
			true,
		],
		[
			'regex (case-insensitive)',
			{ field: 'e', operator: 'regex', value: '@example\\.com$' },
			{ e: 'Ana@EXAMPLE.com' },
			true,
		],
	] as Array<[string, Condition, unknown, boolean]>)('%s', (_t, c, json, expected) => {
		expect(test1(c, json)).toBe(expected);
	});

	it('bad rules fail at compile time naming the segment, condition and value', () => {
		expect(() => test1({ field: 'n', operator: 'gt', value: 'ten' }, {})).toThrow(
			'Segment "S", condition 1: Value "ten" is not a number',
		);
		expect(() => test1({ field: 'e', operator: 'regex', value: '(' }, {})).toThrow(
			/Regex "\(" is invalid/,
		);
		expect(() => test1({ field: ' ', operator: 'exists' }, {})).toThrow(/Field is empty/);
	});

	it('regex runs in linear time: a pattern that backtracks exponentially in JavaScript answers at once on hostile data', () => {
		// ^(\w+\s?)*$ on 40 word characters and a "!" takes 2^40 steps with backtracking (hours).
		const c = { field: 'name', operator: 'regex' as const, value: '^(\\w+\\s?)*$' };
		expect(test1(c, { name: `${'a'.repeat(40)}!` })).toBe(false);
		expect(test1(c, { name: 'Ana Maria Lopez' })).toBe(true);
		expect(test1(c, { name: `${'ab '.repeat(100_000)}!` })).toBe(false);
	});

	it('regex uses RE2 syntax: lookaround and backreferences are refused with a sentence that says so', () => {
		expect(() => test1({ field: 'e', operator: 'regex', value: '^(?=.*@)' }, {})).toThrow(
			/RE2 syntax/,
		);
		expect(() => test1({ field: 'e', operator: 'regex', value: '(a)\\1' }, {})).toThrow(
			/RE2 syntax/,
		);
	});

	it('first match vs all matches, AND vs OR', () => {
		const segments = [
			{
				name: 'VIP',
				combine: 'and' as const,
				conditions: [
					{ field: 'spent', operator: 'gte' as const, value: '1000' },
					{ field: 'country', operator: 'equals' as const, value: 'ES' },
				],
			},
			{
				name: 'Iberia',
				combine: 'or' as const,
				conditions: [
					{ field: 'country', operator: 'equals' as const, value: 'ES' },
					{ field: 'country', operator: 'equals' as const, value: 'PT' },
				],
			},
		];
		const first = compileSegments(segments, { mode: 'firstMatch', now: NOW });
		const all = compileSegments(segments, { mode: 'allMatches', now: NOW });
		expect(first({ spent: 2000, country: 'ES' })).toEqual([0]);
		expect(all({ spent: 2000, country: 'ES' })).toEqual([0, 1]);
		expect(all({ spent: 10, country: 'PT' })).toEqual([1]);
		expect(all({ spent: 10, country: 'FR' })).toEqual([]);
	});
});

describe('RFM', () => {
	it('quintiles: ties share the score of their first rank; recency reversed', () => {
		expect(quintiles([10, 20, 30, 40, 50])).toEqual([1, 2, 3, 4, 5]);
		expect(quintiles([10, 10, 30, 40, 50])).toEqual([1, 1, 3, 4, 5]);
		expect(quintiles([1, 5, 100, 365, 30], false)).toEqual([5, 4, 2, 1, 3]);
	});

	it('the named-segment table is total and hand-checked', () => {
		const grid = [5, 4, 3, 2, 1].map((r) => [1, 2, 3, 4, 5].map((fm) => rfmSegment(r, fm)));
		expect(grid).toEqual([
			['New', 'Potential loyalist', 'Loyal', 'Champions', 'Champions'],
			['Promising', 'Potential loyalist', 'Loyal', 'Champions', 'Champions'],
			['About to sleep', 'Need attention', 'Loyal', 'Loyal', 'Loyal'],
			['Hibernating', 'Hibernating', 'At risk', 'At risk', 'At risk'],
			['Lost', 'Lost', 'At risk', 'Cannot lose them', 'Cannot lose them'],
		]);
		expect(new Set(grid.flat())).toEqual(new Set(RFM_SEGMENTS));
	});

	it('scores a 5-customer fixture with known answers', () => {
		const out = scoreRfm([
			{ recencyDays: 2, frequency: 20, monetary: 2000 }, // best at everything
			{ recencyDays: 300, frequency: 18, monetary: 1800 }, // was great, gone
			{ recencyDays: 5, frequency: 1, monetary: 20 }, // brand new
			{ recencyDays: 400, frequency: 2, monetary: 50 }, // gone, was small
			{ recencyDays: 60, frequency: 8, monetary: 500 },
		]);
		expect(out.map((o) => [o.score, o.segment])).toEqual([
			['555', 'Champions'],
			['244', 'At risk'],
			['411', 'Promising'],
			['122', 'Lost'],
			['333', 'Loyal'],
		]);
	});
});

describe('engagement decay', () => {
	it('halves per half-life and weights by type', () => {
		const day = 86400_000;
		expect(decayedScore([{ type: 'click', at: NOW }], new Map([['click', 3]]), 14, NOW)).toBe(3);
		expect(
			decayedScore([{ type: 'click', at: NOW - 14 * day }], new Map([['click', 3]]), 14, NOW),
		).toBe(1.5);
		expect(
			decayedScore(
				[
					{ type: 'purchase', at: NOW - 28 * day },
					{ type: 'open', at: NOW },
					{ type: 'unknown', at: NOW },
				],
				new Map([
					['purchase', 10],
					['open', 1],
				]),
				14,
				NOW,
			),
		).toBe(3.5);
		// Event types are item data: names of Object.prototype members weigh nothing.
		expect(
			decayedScore(
				['constructor', 'toString', '__proto__', 'hasOwnProperty'].map((type) => ({
					type,
					at: NOW,
				})),
				new Map([['click', 3]]),
				14,
				NOW,
			),
		).toBe(0);
		expect(decayForward(8, NOW - 7 * day, NOW, 7)).toBe(4);
		expect([tierOf(1, 5, 20), tierOf(5, 5, 20), tierOf(25, 5, 20)]).toEqual([
			'cold',
			'warm',
			'hot',
		]);
	});
});
