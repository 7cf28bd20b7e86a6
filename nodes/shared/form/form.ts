/**
 * Conversational form core (pure): questions with types, validation and normalisation of answers,
 * skip logic, and the step a session moves to after each inbound message.
 */
import { DateTime } from 'luxon';

import { normalizeEmail, normalizePhone } from '../address';
import { numberedChoices } from '../channels/choices';

export const QUESTION_TYPES = [
	'text',
	'email',
	'phone',
	'singleChoice',
	'multipleChoice',
	'number',
	'yesNo',
	'date',
	'time',
	'dateTime',
] as const;
export type QuestionType = (typeof QUESTION_TYPES)[number];

export interface Choice {
	id: string;
	label: string;
}

export interface Question {
	key: string;
	text: string;
	type: QuestionType;
	choices: Choice[];
	required: boolean;
	reAsk: string;
	/** Ask only if the answer to `askIfKey` equals `askIfValue` (choice id, yes/no, text). */
	askIfKey?: string;
	askIfValue?: string;
	/** The answer is the person's consent (yes/no) to marketing on this channel. */
	consent: boolean;
	/** What a consent answer is recorded for (default marketing). */
	consentPurpose?: 'marketing' | 'service';
}

/** "Lunes, Martes" or "mon:Monday, tue:Tuesday" -> choices with stable ids. */
export function parseChoices(spec: string): Choice[] {
	return spec
		.split(',')
		.map((s) => s.trim())
		.filter(Boolean)
		.map((s) => {
			const i = s.indexOf(':');
			if (i > 0) return { id: s.slice(0, i).trim(), label: s.slice(i + 1).trim() };
			return {
				id: s
					.toLowerCase()
					.normalize('NFD')
					.replace(/[\u0300-\u036f]/g, '')
					.replace(/[^a-z0-9]+/g, '_')
					.replace(/^_|_$/g, ''),
				label: s,
			};
		});
}

const YES = ['yes', 'y', 'si', 'sí', 's', 'oui', 'ja', 'sim', '1', 'true', 'ok', 'vale', 'claro'];
const NO = ['no', 'n', 'non', 'nein', 'nao', 'não', '0', 'false'];
const fold = (s: string) =>
	s
		.trim()
		.toLowerCase()
		.normalize('NFD')
		.replace(/[\u0300-\u036f]/g, '')
		.replace(/[.!¡¿?]+$/g, '');

export type Normalised =
	| { ok: true; value: unknown; display: string }
	| { ok: false; problem: string };

export function normaliseAnswer(
	q: Question,
	text: string,
	payload: string | undefined,
	ctx: { zone: string; now: number; defaultCountry?: string },
): Normalised {
	const raw = (payload || text || '').trim();
	if (!raw) return { ok: false, problem: 'empty' };
	switch (q.type) {
		case 'text':
			return { ok: true, value: raw, display: raw };
		case 'email': {
			const e = normalizeEmail(raw);
			return e.ok
				? { ok: true, value: e.email, display: e.email }
				: { ok: false, problem: e.message };
		}
		case 'phone': {
			const p = normalizePhone(raw, ctx.defaultCountry);
			return p.ok
				? { ok: true, value: p.e164, display: p.e164 }
				: { ok: false, problem: p.message };
		}
		case 'number': {
			const n = Number(raw.replace(',', '.'));
			return Number.isFinite(n)
				? { ok: true, value: n, display: String(n) }
				: { ok: false, problem: `"${raw}" is not a number` };
		}
		case 'yesNo': {
			const f = fold(raw);
			if (YES.includes(f)) return { ok: true, value: true, display: 'yes' };
			if (NO.includes(f)) return { ok: true, value: false, display: 'no' };
			return { ok: false, problem: `"${raw}" is not yes or no` };
		}
		case 'singleChoice': {
			const c = matchChoice(q.choices, raw);
			return c
				? { ok: true, value: c.id, display: c.label }
				: {
						ok: false,
						problem: `"${raw}" is not one of ${q.choices.map((x) => x.label).join(', ')}`,
					};
		}
		case 'multipleChoice': {
			const picked = raw.split(/[,;]| y | and /i).map((s) => matchChoice(q.choices, s.trim()));
			if (picked.length === 0 || picked.some((c) => !c))
				return {
					ok: false,
					problem: `"${raw}" does not name choices from ${q.choices.map((x) => x.label).join(', ')}`,
				};
			const ids = [...new Set(picked.map((c) => c!.id))];
			return { ok: true, value: ids, display: ids.join(', ') };
		}
		case 'date':
		case 'time':
		case 'dateTime':
			return normaliseWhen(q.type, raw, ctx);
	}
	return { ok: false, problem: 'unknown question type' };
}

/** A date, a time of day, or both, read in the form's zone. */
function normaliseWhen(
	type: 'date' | 'time' | 'dateTime',
	raw: string,
	ctx: { zone: string; now: number },
): Normalised {
	switch (type) {
		case 'date': {
			const d = parseDate(raw, ctx);
			return d
				? { ok: true, value: d.toISODate(), display: d.toISODate()! }
				: {
						ok: false,
						problem: `"${raw}" is not a date (e.g. 2026-12-24, 24/12/2026, today, tomorrow)`,
					};
		}
		case 'time': {
			const m = /^(\d{1,2})(?:[:.h](\d{2}))?\s*(am|pm)?$/i.exec(raw);
			if (!m) return { ok: false, problem: `"${raw}" is not a time (e.g. 17:30)` };
			let h = Number(m[1]);
			if (m[3]?.toLowerCase() === 'pm' && h < 12) h += 12;
			if (m[3]?.toLowerCase() === 'am' && h === 12) h = 0;
			const min = Number(m[2] ?? 0);
			if (h > 23 || min > 59) return { ok: false, problem: `"${raw}" is not a time of day` };
			const v = `${String(h).padStart(2, '0')}:${String(min).padStart(2, '0')}`;
			return { ok: true, value: v, display: v };
		}
		case 'dateTime': {
			const m = /^(.+?)[ T,]+(\d{1,2}[:.h]\d{2})$/.exec(raw);
			const d = m ? parseDate(m[1], ctx) : undefined;
			const t = m ? /^(\d{1,2})[:.h](\d{2})$/.exec(m[2]) : null;
			if (!d || !t)
				return { ok: false, problem: `"${raw}" is not a date and time (e.g. 2026-12-24 17:30)` };
			const dt = d.set({ hour: Number(t[1]), minute: Number(t[2]) });
			if (!dt.isValid) return { ok: false, problem: `"${raw}" is not a valid date and time` };
			return {
				ok: true,
				value: dt.toISO({ suppressMilliseconds: true, suppressSeconds: true }),
				display: dt.toFormat('yyyy-MM-dd HH:mm'),
			};
		}
	}
}

function matchChoice(choices: Choice[], raw: string): Choice | undefined {
	const f = fold(raw);
	const n = Number(f);
	if (Number.isInteger(n) && n >= 1 && n <= choices.length) return choices[n - 1];
	return choices.find((c) => fold(c.id) === f || fold(c.label) === f);
}

function parseDate(raw: string, ctx: { zone: string; now: number }): DateTime | undefined {
	const today = DateTime.fromMillis(ctx.now, { zone: ctx.zone }).startOf('day');
	const f = fold(raw);
	if (['today', 'hoy', 'aujourdhui'].includes(f)) return today;
	if (['tomorrow', 'manana', 'demain'].includes(f)) return today.plus({ days: 1 });
	let d = DateTime.fromISO(raw.trim(), { zone: ctx.zone });
	if (!d.isValid) d = DateTime.fromFormat(raw.trim(), 'd/M/yyyy', { zone: ctx.zone });
	if (!d.isValid) d = DateTime.fromFormat(raw.trim(), 'd-M-yyyy', { zone: ctx.zone });
	return d.isValid ? d.startOf('day') : undefined;
}

/** The next question to ask after `afterKey` (or the first), honouring skip logic. */
export function nextQuestion(
	questions: Question[],
	answers: Record<string, unknown>,
	afterKey?: string,
): Question | undefined {
	const start = afterKey === undefined ? 0 : questions.findIndex((q) => q.key === afterKey) + 1;
	for (let i = start; i < questions.length; i++) {
		const q = questions[i];
		if (!q.askIfKey) return q;
		const a = answers[q.askIfKey];
		const want = fold(q.askIfValue ?? '');
		const has = Array.isArray(a)
			? a.map((x) => fold(String(x))).includes(want)
			: typeof a === 'boolean'
				? (a ? YES : NO).includes(want)
				: fold(String(a ?? '')) === want;
		if (has) return q;
	}
	return undefined;
}

/**
 * How to ask a question. `text` works with any Touchpoint setup (choices numbered where the channel
 * has no quick replies); `question` and `choices` are for Touchpoint's Choices parameter, which
 * shows them as the channel can (WhatsApp buttons or a list, quick replies, numbered SMS lines).
 */
export function askText(
	q: Question,
	channelSupportsQuickReplies: boolean,
): {
	text: string;
	quickReplies: string[];
	question: string;
	choices: Array<{ id: string; title: string }>;
} {
	const options =
		q.type === 'singleChoice' || q.type === 'multipleChoice'
			? q.choices
			: q.type === 'yesNo'
				? [
						{ id: 'yes', label: 'Yes' },
						{ id: 'no', label: 'No' },
					]
				: [];
	const choices = options.map((c) => ({ id: c.id, title: c.label }));
	if (!options.length) return { text: q.text, quickReplies: [], question: q.text, choices };
	if (channelSupportsQuickReplies && q.type !== 'multipleChoice' && options.length <= 13)
		return { text: q.text, quickReplies: options.map((c) => c.label), question: q.text, choices };
	return { text: numberedChoices(q.text, choices), quickReplies: [], question: q.text, choices };
}

/** What a model is asked to give for each question type: the form a typed answer would take. */
const EXTRACT_FORMAT: Record<QuestionType, string> = {
	text: 'the answer as text',
	email: 'the email address, e.g. ana@example.com (spelled-out "at" and "dot" written as @ and .)',
	phone: 'the phone number in international format, e.g. +34600111222',
	singleChoice: 'the id of one choice',
	multipleChoice: 'the ids of the choices, comma-separated',
	number: 'the number, e.g. 3 or 12.5',
	yesNo: 'yes or no',
	date: 'the date as YYYY-MM-DD',
	time: 'the time as HH:MM (24-hour)',
	dateTime: 'the date and time as YYYY-MM-DD HH:MM (24-hour)',
};

/**
 * Whether a free-text answer to this question may be read by a model. Never a consent question:
 * a model's reading of a chat is not consent, only the person's own yes is.
 */
export function understandable(q: Question): boolean {
	return !q.consent && q.type !== 'text';
}

/** The messages asking a model to read one answer: one call, JSON `{ value }` (null when it does not answer). */
export function extractionMessages(
	q: Question,
	text: string,
	ctx: { zone: string; now: number },
): Array<{ role: 'system' | 'user'; content: string }> {
	const today = DateTime.fromMillis(ctx.now, { zone: ctx.zone });
	const choices = q.choices.length
		? ` Choices (id: label): ${q.choices.map((c) => `${c.id}: ${c.label}`).join('; ')}.`
		: '';
	return [
		{
			role: 'system',
			content: `You read a person's chat answer to one form question and return the answer in a fixed format, or null when the message does not answer the question. Never guess: if the message is unclear, return null. Today is ${today.toFormat('cccc yyyy-MM-dd HH:mm')} (${ctx.zone}).`,
		},
		{
			role: 'user',
			content: `Question: ${JSON.stringify(q.text)}\nExpected: ${EXTRACT_FORMAT[q.type]}.${choices}\nThe person wrote: ${JSON.stringify(text)}`,
		},
	];
}

export const EXTRACTION_SCHEMA = {
	type: 'object',
	additionalProperties: false,
	required: ['value'],
	properties: { value: { type: ['string', 'null'] } },
} as const;
