/**
 * Segment rules compiled once per execution into plain functions: no expression evaluation per
 * item (n8n's Switch node evaluates each condition as an expression in an isolated VM).
 *
 * Coercion rules (documented in the README):
 * - Numbers: a number, or a string that is a finite number ("10" == 10); anything else fails a
 *   numeric comparison (never throws per item).
 * - Dates: ISO 8601 strings, epoch milliseconds (numbers > 1e11) or epoch seconds (numbers <= 1e11).
 * - Text: equals / contains / starts with compare strings; case-insensitive unless asked.
 * - Missing fields (undefined or null) fail every operator except "not exists" and "is empty"
 *   (and "not equals", which is true for a missing field).
 */
import { RE2JS } from 're2js';

import { compileFieldPath } from '../field-path';

export const OPERATORS = [
	'equals',
	'notEquals',
	'contains',
	'startsWith',
	'inList',
	'gt',
	'gte',
	'lt',
	'lte',
	'between',
	'exists',
	'notExists',
	'isEmpty',
	'dateBefore',
	'dateAfter',
	'withinLastDays',
	'olderThanDays',
	'regex',
] as const;
export type Operator = (typeof OPERATORS)[number];

export interface Condition {
	field: string;
	operator: Operator;
	value?: string;
	/** For between: the upper bound. */
	value2?: string;
}

export interface SegmentRule {
	name: string;
	combine: 'and' | 'or';
	conditions: Condition[];
}

export class RuleError extends Error {
	constructor(
		readonly segment: string,
		readonly conditionIndex: number,
		message: string,
	) {
		super(`Segment "${segment}", condition ${conditionIndex + 1}: ${message}`);
	}
}

export function toNumber(v: unknown): number | undefined {
	if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
	if (typeof v === 'string' && v.trim() !== '') {
		const n = Number(v);
		return Number.isFinite(n) ? n : undefined;
	}
	return undefined;
}

export function toTime(v: unknown): number | undefined {
	if (typeof v === 'number' && Number.isFinite(v)) return v > 1e11 ? v : v * 1000;
	if (typeof v === 'string' && v.trim() !== '') {
		const n = Number(v);
		if (Number.isFinite(n)) return n > 1e11 ? n : n * 1000;
		const t = Date.parse(v);
		return Number.isNaN(t) ? undefined : t;
	}
	if (v instanceof Date) return v.getTime();
	return undefined;
}

const isMissing = (v: unknown) => v === undefined || v === null;
const text = (v: unknown) =>
	typeof v === 'string'
		? v
		: typeof v === 'number' || typeof v === 'boolean'
			? String(v)
			: JSON.stringify(v);

type Predicate = (json: unknown) => boolean;

/** A condition being compiled: its field reader, case folding, and errors that name the rule. */
interface Compile {
	c: Condition;
	segment: string;
	index: number;
	now: number;
	caseSensitive: boolean;
	value: string;
	get: (json: unknown) => unknown;
	fold: (s: string) => string;
	needNumber: (raw: string | undefined, label: string) => number;
	needTime: (raw: string | undefined) => number;
}

function compileCondition(
	c: Condition,
	segment: string,
	index: number,
	now: number,
	caseSensitive: boolean,
): Predicate {
	if (!c.field || !c.field.trim())
		throw new RuleError(
			segment,
			index,
			'Field is empty: give the path to a field, e.g. contact.country',
		);
	const k: Compile = {
		c,
		segment,
		index,
		now,
		caseSensitive,
		value: c.value ?? '',
		get: compileFieldPath(c.field),
		fold: (s: string) => (caseSensitive ? s : s.toLowerCase()),
		needNumber: (raw, label) => {
			const n = toNumber(raw);
			if (n === undefined)
				throw new RuleError(segment, index, `${label} "${raw ?? ''}" is not a number`);
			return n;
		},
		needTime: (raw) => {
			const t = toTime(raw);
			if (t === undefined)
				throw new RuleError(
					segment,
					index,
					`Value "${raw ?? ''}" is not a date (use ISO 8601, e.g. 2026-01-31)`,
				);
			return t;
		},
	};
	const predicate =
		textPredicate(k) ??
		numberPredicate(k) ??
		presencePredicate(k) ??
		timePredicate(k) ??
		regexPredicate(k);
	if (!predicate) throw new RuleError(segment, index, `Unknown operator "${String(c.operator)}"`);
	return predicate;
}

function textPredicate(k: Compile): Predicate | undefined {
	const { c, value } = k;
	switch (c.operator) {
		case 'equals': {
			const n = toNumber(value);
			const s = k.fold(value);
			return (j) => {
				const v = k.get(j);
				if (isMissing(v)) return false;
				if (n !== undefined && toNumber(v) !== undefined) return toNumber(v) === n;
				if (typeof v === 'boolean') return String(v) === value.trim().toLowerCase();
				return k.fold(text(v)) === s;
			};
		}
		case 'notEquals': {
			const eq = compileCondition(
				{ ...c, operator: 'equals' },
				k.segment,
				k.index,
				k.now,
				k.caseSensitive,
			);
			return (j) => !eq(j);
		}
		case 'contains': {
			const s = k.fold(value);
			return (j) => {
				const v = k.get(j);
				if (isMissing(v)) return false;
				if (Array.isArray(v)) return v.some((x) => k.fold(text(x)) === s);
				return k.fold(text(v)).includes(s);
			};
		}
		case 'startsWith': {
			const s = k.fold(value);
			return (j) => {
				const v = k.get(j);
				return !isMissing(v) && k.fold(text(v)).startsWith(s);
			};
		}
		case 'inList': {
			const list = new Set(
				value
					.split(',')
					.map((x) => k.fold(x.trim()))
					.filter((x) => x !== ''),
			);
			return (j) => {
				const v = k.get(j);
				return !isMissing(v) && list.has(k.fold(text(v)));
			};
		}
	}
	return undefined;
}

function numberPredicate(k: Compile): Predicate | undefined {
	const { c } = k;
	switch (c.operator) {
		case 'gt':
		case 'gte':
		case 'lt':
		case 'lte': {
			const n = k.needNumber(c.value, 'Value');
			const op = c.operator;
			return (j) => {
				const v = toNumber(k.get(j));
				if (v === undefined) return false;
				return op === 'gt' ? v > n : op === 'gte' ? v >= n : op === 'lt' ? v < n : v <= n;
			};
		}
		case 'between': {
			const lo = k.needNumber(c.value, 'Value');
			const hi = k.needNumber(c.value2, 'Upper Value');
			return (j) => {
				const v = toNumber(k.get(j));
				return v !== undefined && v >= lo && v <= hi;
			};
		}
	}
	return undefined;
}

function presencePredicate(k: Compile): Predicate | undefined {
	switch (k.c.operator) {
		case 'exists':
			return (j) => !isMissing(k.get(j));
		case 'notExists':
			return (j) => isMissing(k.get(j));
		case 'isEmpty':
			return (j) => {
				const v = k.get(j);
				if (isMissing(v)) return true;
				if (typeof v === 'string') return v.trim() === '';
				if (Array.isArray(v)) return v.length === 0;
				if (typeof v === 'object') return Object.keys(v as object).length === 0;
				return false;
			};
	}
	return undefined;
}

function timePredicate(k: Compile): Predicate | undefined {
	const { c, now } = k;
	switch (c.operator) {
		case 'dateBefore':
		case 'dateAfter': {
			const t = k.needTime(c.value);
			const before = c.operator === 'dateBefore';
			return (j) => {
				const v = toTime(k.get(j));
				return v !== undefined && (before ? v < t : v > t);
			};
		}
		case 'withinLastDays':
		case 'olderThanDays': {
			const days = k.needNumber(c.value, 'Days');
			const limit = now - days * 86400_000;
			const within = c.operator === 'withinLastDays';
			return (j) => {
				const v = toTime(k.get(j));
				return v !== undefined && (within ? v >= limit && v <= now : v < limit);
			};
		}
	}
	return undefined;
}

function regexPredicate(k: Compile): Predicate | undefined {
	const { value, caseSensitive, segment, index } = k;
	if (k.c.operator !== 'regex') return undefined;
	// RE2 (re2js, pure JavaScript): matching time is linear in the value's length, so a
	// pattern such as ^(\w+\s?)*$ cannot stall n8n on hostile item data, as JavaScript's
	// backtracking engine does. RE2 has no lookaround and no backreferences.
	let re: RE2JS;
	try {
		re = RE2JS.compile(value, caseSensitive ? 0 : RE2JS.CASE_INSENSITIVE);
	} catch (error) {
		throw new RuleError(
			segment,
			index,
			`Regex "${value}" is invalid: ${(error as Error).message}. Patterns use RE2 syntax (no lookahead, lookbehind or backreferences).`,
		);
	}
	return (j) => {
		const v = k.get(j);
		return !isMissing(v) && re.matcher(text(v)).find();
	};
}

/**
 * Compiles ordered segments into one function returning the indexes of matching segments
 * (first match only, or all matches).
 */
export function compileSegments(
	segments: SegmentRule[],
	options: { mode: 'firstMatch' | 'allMatches'; now?: number; caseSensitive?: boolean },
): (json: unknown) => number[] {
	const now = options.now ?? Date.now();
	const compiled = segments.map((s) => {
		if (!s.name.trim()) throw new RuleError('(unnamed)', 0, 'Every segment needs a name');
		const preds = s.conditions.map((c, i) =>
			compileCondition(c, s.name, i, now, options.caseSensitive === true),
		);
		if (preds.length === 0) return () => true;
		return s.combine === 'or'
			? (j: unknown) => preds.some((p) => p(j))
			: (j: unknown) => preds.every((p) => p(j));
	});
	const NONE: number[] = [];
	if (options.mode === 'firstMatch') {
		const hits = compiled.map((_, i) => [i]);
		return (json) => {
			for (let i = 0; i < compiled.length; i++) if (compiled[i](json)) return hits[i];
			return NONE;
		};
	}
	return (json) => {
		const out: number[] = [];
		for (let i = 0; i < compiled.length; i++) if (compiled[i](json)) out.push(i);
		return out;
	};
}
