/**
 * The form's answer parsing on its own (no n8n, no store): what each question type accepts and
 * what it stores, the skip logic, and how a question is asked on each kind of channel.
 */
import {
	askText,
	nextQuestion,
	normaliseAnswer,
	parseChoices,
	understandable,
	type Question,
} from '../../../nodes/shared/form/form';

const question = (over: Partial<Question>): Question => ({
	key: 'q',
	text: 'Question?',
	type: 'text',
	choices: [],
	required: true,
	reAsk: '',
	consent: false,
	...over,
});
// 2026-12-07 10:00 UTC
const ctx = { zone: 'Europe/Madrid', now: Date.UTC(2026, 11, 7, 10), defaultCountry: 'ES' };
const answer = (q: Question, text: string, payload?: string) =>
	normaliseAnswer(q, text, payload, ctx);

describe('choices', () => {
	it('gives each choice a stable id, or the one written before a colon', () => {
		expect(parseChoices('Lunes, Miércoles por la tarde, tue:Tuesday')).toEqual([
			{ id: 'lunes', label: 'Lunes' },
			{ id: 'miercoles_por_la_tarde', label: 'Miércoles por la tarde' },
			{ id: 'tue', label: 'Tuesday' },
		]);
	});

	it('takes a choice by its number, its label in any case and accents, or a button payload', () => {
		const q = question({ type: 'singleChoice', choices: parseChoices('Lunes, Martes') });
		expect(answer(q, '2')).toMatchObject({ ok: true, value: 'martes' });
		expect(answer(q, 'LUNES')).toMatchObject({ ok: true, value: 'lunes' });
		expect(answer(q, 'whatever typed', 'martes')).toMatchObject({ ok: true, value: 'martes' });
		expect(answer(q, '3')).toEqual({ ok: false, problem: '"3" is not one of Lunes, Martes' });
	});

	it('takes several choices separated by commas or "and", each once', () => {
		const q = question({ type: 'multipleChoice', choices: parseChoices('Red, Green, Blue') });
		expect(answer(q, 'red and blue, Red')).toMatchObject({ ok: true, value: ['red', 'blue'] });
		expect(answer(q, 'red, purple').ok).toBe(false);
	});
});

describe('typed answers', () => {
	it('normalises an email and a phone number (the default country for a local number)', () => {
		expect(answer(question({ type: 'email' }), ' Ana@Example.COM ')).toMatchObject({
			ok: true,
			value: 'ana@example.com',
		});
		expect(answer(question({ type: 'phone' }), '600 111 222')).toMatchObject({
			ok: true,
			value: '+34600111222',
		});
		expect(answer(question({ type: 'email' }), 'not an email').ok).toBe(false);
	});

	it('reads yes and no in several languages, and a number with a decimal comma', () => {
		const yesNo = question({ type: 'yesNo' });
		expect(answer(yesNo, 'Sí')).toMatchObject({ ok: true, value: true });
		expect(answer(yesNo, 'no')).toMatchObject({ ok: true, value: false });
		expect(answer(yesNo, 'maybe')).toEqual({ ok: false, problem: '"maybe" is not yes or no' });
		expect(answer(question({ type: 'number' }), '12,5')).toMatchObject({ ok: true, value: 12.5 });
	});

	it("reads dates in the form's zone (today, tomorrow, d/m/yyyy) and times of day", () => {
		expect(answer(question({ type: 'date' }), 'tomorrow')).toMatchObject({
			ok: true,
			value: '2026-12-08',
		});
		expect(answer(question({ type: 'date' }), '24/12/2026')).toMatchObject({
			value: '2026-12-24',
		});
		expect(answer(question({ type: 'time' }), '5.30 pm')).toMatchObject({ value: '17:30' });
		expect(answer(question({ type: 'time' }), '25:00').ok).toBe(false);
		expect(answer(question({ type: 'dateTime' }), '2026-12-24 17:30')).toMatchObject({
			ok: true,
			value: '2026-12-24T17:30+01:00',
		});
	});

	it('refuses an empty answer', () => {
		expect(answer(question({}), '   ')).toEqual({ ok: false, problem: 'empty' });
	});
});

describe('skip logic and asking', () => {
	const questions = [
		question({ key: 'interested', type: 'yesNo' }),
		question({ key: 'day', askIfKey: 'interested', askIfValue: 'yes' }),
		question({ key: 'email', type: 'email' }),
	];

	it('asks a conditional question only when the earlier answer matches', () => {
		expect(nextQuestion(questions, {})?.key).toBe('interested');
		expect(nextQuestion(questions, { interested: true }, 'interested')?.key).toBe('day');
		expect(nextQuestion(questions, { interested: false }, 'interested')?.key).toBe('email');
		expect(nextQuestion(questions, { interested: false }, 'email')).toBeUndefined();
	});

	it('offers quick replies where the channel has them, numbered lines where it has not', () => {
		const q = question({
			type: 'singleChoice',
			text: 'Which day?',
			choices: parseChoices('Mon, Tue'),
		});
		expect(askText(q, true)).toMatchObject({ text: 'Which day?', quickReplies: ['Mon', 'Tue'] });
		expect(askText(q, false)).toMatchObject({
			text: 'Which day?\n1. Mon\n2. Tue',
			quickReplies: [],
		});
	});

	it('never lets a model read a consent answer', () => {
		expect(understandable(question({ type: 'yesNo', consent: true }))).toBe(false);
		expect(understandable(question({ type: 'email' }))).toBe(true);
	});
});
