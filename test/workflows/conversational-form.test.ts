/**
 * Conversational Form through the harness, one execution per inbound message as in production:
 * re-asks, skip logic, resume after a gap, expiry, cancel, two contacts interleaved, consent.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { IDataObject } from 'n8n-workflow';

import { openStore } from '../../nodes/shared/store';
import { manualWorkflow, runWorkflow } from '../harness';

const databasePath = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cm-form-')), 'store.sqlite');
const credentials = { convergentStoreApi: { storageType: 'embedded', databasePath } };
const questions = {
	question: [
		{ key: 'name', text: 'What is your name?', type: 'text' },
		{
			key: 'email',
			text: 'Your email?',
			type: 'email',
			reAsk: 'That does not look like an email.',
		},
		{
			key: 'interest',
			text: 'What are you interested in?',
			type: 'singleChoice',
			choices: 'skin:Skincare, hair:Haircare',
		},
		{
			key: 'hairType',
			text: 'Your hair type?',
			type: 'singleChoice',
			choices: 'Straight, Curly',
			askIfKey: 'interest',
			askIfValue: 'hair',
		},
		{ key: 'visit', text: 'When would you like to come?', type: 'dateTime' },
		{ key: 'optin', text: 'May we send you offers on WhatsApp?', type: 'yesNo', consent: true },
	],
};
const params = (extra: IDataObject = {}) => ({
	formName: 'Lead',
	questions,
	fields: { timeZone: 'Europe/Madrid' },
	...extra,
});
const say = async (
	contactId: string,
	text: string,
	extra: IDataObject = {},
	p: IDataObject = params(),
) => {
	const run = await runWorkflow(
		manualWorkflow({
			items: [{ channel: 'whatsapp', contactId, text, ...extra }],
			node: {
				type: 'conversationalForm',
				name: 'Form',
				parameters: p,
				credentials: { convergentStoreApi: 'Store' },
			},
		}),
		{ credentials },
	);
	if (run.error) throw run.error;
	const [ask, done, cancelled] = [0, 1, 2].map((o) => run.json('Form', o));
	return { ask: ask[0], done: done[0], cancelled: cancelled[0] };
};
const reply = (r: { ask?: IDataObject }) => (r.ask?.reply as IDataObject)?.text;

describe('Conversational Form', () => {
	it("one item without a contact id is that item's error with continue-on-fail (no reply to send); the others get their question", async () => {
		const items = [
			{ channel: 'whatsapp', contactId: 'zoe', text: 'hola' },
			{ channel: 'whatsapp', text: 'no id' },
		];
		const run = await runWorkflow(
			manualWorkflow({
				items,
				node: {
					type: 'conversationalForm',
					name: 'Form',
					parameters: params({ formName: 'PerItem' }),
					credentials: { convergentStoreApi: 'Store' },
					continueOnFail: true,
				},
			}),
			{ credentials },
		);
		expect(run.error).toBeUndefined();
		const ask = run.json('Form', 0);
		expect(
			ask.map((j) => (j.reply as IDataObject | undefined)?.text ?? `error: ${String(j.error)}`),
		).toEqual(['What is your name?', expect.stringMatching(/^error: No contact ID/)]);
		const strict = await runWorkflow(
			manualWorkflow({
				items,
				node: {
					type: 'conversationalForm',
					name: 'Form',
					parameters: params({ formName: 'PerItem2' }),
					credentials: { convergentStoreApi: 'Store' },
				},
			}),
			{ credentials },
		);
		expect(strict.error?.message).toMatch(/No contact ID/);
	});

	it('runs a full conversation: re-asks invalid answers, skips by logic, normalises answers, records consent', async () => {
		expect(reply(await say('ana', 'hola'))).toBe('What is your name?');
		expect(reply(await say('ana', 'Ana'))).toBe('Your email?');
		const bad = await say('ana', 'ana at example');
		expect(reply(bad)).toBe('That does not look like an email.\nYour email?');
		expect(bad.ask!.reply).toMatchObject({
			question: 'That does not look like an email.\nYour email?',
			choices: [],
		});
		expect((bad.ask!.form as IDataObject).invalid).toContain('"ana at example"');
		const interest = await say('ana', ' Ana@Example.COM ');
		// In the text the choices are numbered (any Touchpoint shows them; a number is an answer); the
		// question and the choices are also given apart, for Touchpoint's Choices (WhatsApp buttons).
		expect(reply(interest)).toBe('What are you interested in?\n1. Skincare\n2. Haircare');
		expect(interest.ask!.reply).toMatchObject({
			quickReplies: [],
			question: 'What are you interested in?',
			choices: [
				{ id: 'skin', title: 'Skincare' },
				{ id: 'hair', title: 'Haircare' },
			],
		});
		expect(reply(await say('ana', 'banana'))).toContain('What are you interested in?');
		// Skincare: the hair-type question is skipped.
		expect(reply(await say('ana', '', { payload: 'skin' }))).toBe('When would you like to come?');
		expect(reply(await say('ana', '2026-12-24 17:30'))).toBe(
			'May we send you offers on WhatsApp?\n1. Yes\n2. No',
		);
		const done = await say('ana', 'Sí');
		expect(done.done!.form).toMatchObject({
			name: 'Lead',
			answers: {
				name: 'Ana',
				email: 'ana@example.com',
				interest: 'skin',
				visit: '2026-12-24T17:30+01:00',
				optin: true,
			},
		});
		const store = await openStore({ type: 'embedded', path: databasePath });
		const state = await store.getConsentStates([
			{ contactId: 'ana', channel: 'whatsapp', purpose: 'marketing' },
		]);
		expect([...state.values()][0].status).toBe('granted');
		const ledger = (await store.exportContact('ana')).consentLedger;
		expect(ledger[0].evidence).toMatchObject({
			source: 'conversational-form:Lead',
			wording: 'May we send you offers on WhatsApp?',
		});
	});

	it("a consent answer covers the chat's phone only when it is the person's: another person's phone is left out", async () => {
		const store = await openStore({ type: 'embedded', path: databasePath });
		await store.resolveContacts(
			[{ id: 'phone-owner', addresses: [{ kind: 'phone', value: '+34600444555' }] }],
			{ create: true, link: true },
		);
		const consentOnly = params({
			formName: 'OptIn',
			questions: {
				question: [{ key: 'optin', text: 'Offers on WhatsApp?', type: 'yesNo', consent: true }],
			},
		});
		// An item that names one contact with another person's phone (a mis-mapped field, or forged data).
		await say('intruder', 'hi', { contact: { phone: '+34600444555' } }, consentOnly);
		await say('intruder', 'yes', { contact: { phone: '+34600444555' } }, consentOnly);
		const key = { contactId: 'intruder', channel: 'whatsapp' as const, purpose: 'marketing' };
		const state = [...(await store.getConsentStates([key])).values()][0];
		expect(state).toMatchObject({ status: 'granted', addresses: [] });
		// The person who answered from their own phone: the grant covers it, and it is linked to them.
		await say('own-phone', 'hi', { contact: { phone: '+34600444666' } }, consentOnly);
		await say('own-phone', 'yes', { contact: { phone: '+34600444666' } }, consentOnly);
		const own = [
			...(await store.getConsentStates([{ ...key, contactId: 'own-phone' }])).values(),
		][0];
		expect(own).toMatchObject({ status: 'granted', addresses: ['+34600444666'] });
	});

	it('on Messenger the choices are quick replies (Touchpoint sends them as buttons), not numbered text', async () => {
		const m = { channel: 'messenger' };
		await say('mia', 'hi', m);
		await say('mia', 'Mia', m);
		const interest = await say('mia', 'mia@example.com', m);
		expect(reply(interest)).toBe('What are you interested in?');
		expect((interest.ask!.reply as IDataObject).quickReplies).toEqual(['Skincare', 'Haircare']);
		expect(reply(await say('mia', 'Haircare', m))).toBe('Your hair type?');
	});

	it('asks the conditional question when the condition holds', async () => {
		await say('ben', 'hi');
		await say('ben', 'Ben');
		await say('ben', 'ben@example.com');
		expect(reply(await say('ben', '2'))).toBe('Your hair type?\n1. Straight\n2. Curly');
		expect(reply(await say('ben', 'curly'))).toBe('When would you like to come?');
	});

	it('two contacts interleaved keep separate sessions; a session resumes where it left off', async () => {
		await say('c1', 'hi');
		await say('c2', 'hi');
		expect(reply(await say('c1', 'Carla'))).toBe('Your email?');
		expect(reply(await say('c2', 'Dani'))).toBe('Your email?');
		expect(reply(await say('c1', 'carla@example.com'))).toBe(
			'What are you interested in?\n1. Skincare\n2. Haircare',
		);
		const r = await say('c2', 'dani@example.com');
		expect((r.ask!.form as IDataObject).answers).toEqual({
			name: 'Dani',
			email: 'dani@example.com',
		});
	});

	it('expires an idle session and starts over; cancel words end it', async () => {
		await say('eva', 'hi');
		await say('eva', 'Eva');
		const store = await openStore({ type: 'embedded', path: databasePath });
		const s = (await store.getFormSessions('Lead', ['eva'])).get('eva')!;
		await store.saveFormSessions('Lead', [
			{ ...s, contactId: 'eva', updatedAt: Date.now() - 25 * 3600_000 },
		]);
		expect(reply(await say('eva', 'eva@example.com'))).toBe('What is your name?');
		await say('eva', 'Eva');
		const c = await say('eva', 'Cancelar');
		expect(c.cancelled!.form).toMatchObject({ name: 'Lead', answers: { name: 'Eva' } });
		const stop = await say('eva', 'STOP', { keyword: 'stop' });
		expect(stop.cancelled).toBeDefined();
	});
});
