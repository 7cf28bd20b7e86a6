/**
 * Conversational Form, Understand Free Text: an answer the form cannot read as typed is read by
 * the connected Chat Model into the question's type, then checked like a typed answer; one call at
 * most per answer, the person's words kept, never for a consent question, off by default.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { IConnections, IDataObject } from 'n8n-workflow';

import { makeNode, runWorkflow, type WorkflowJson } from '../harness';

const AI_FIXTURES = path.join(__dirname, '..', 'fixtures', 'ai-package');
const databasePath = path.join(
	fs.mkdtempSync(path.join(os.tmpdir(), 'cm-form-ai-')),
	'store.sqlite',
);
const credentials = { convergentStoreApi: { storageType: 'embedded', databasePath } };
type Call = { messages: Array<{ role: string; content: string }> };
const calls = (): Call[] =>
	((globalThis as { __harnessChatCalls?: Call[] }).__harnessChatCalls ??= []);

const questions = {
	question: [
		{
			key: 'email',
			text: 'What is your email?',
			type: 'email',
			reAsk: 'That does not look like an email address.',
		},
		{ key: 'when', text: 'When would you like to come?', type: 'dateTime' },
		{ key: 'optin', text: 'May we send you offers on WhatsApp?', type: 'yesNo', consent: true },
	],
};

/** One message to the form, with a Chat Model answering `answers` in turn (none: no model connected). */
function say(
	contactId: string,
	text: string,
	answers?: string[],
	understandFreeText = true,
): Promise<ReturnType<typeof runWorkflow> extends Promise<infer R> ? R : never> {
	const trigger = makeNode({ type: 'n8n-nodes-base.manualTrigger', name: 'Start' }, [0, 0]);
	const form = makeNode(
		{
			type: 'conversationalForm',
			name: 'Form',
			parameters: {
				formName: 'Visit',
				questions,
				understandFreeText,
				fields: { timeZone: 'Europe/Madrid' },
			},
			credentials: { convergentStoreApi: 'Store' },
		},
		[220, 0],
	);
	const nodes = [trigger, form];
	const connections: IConnections = {
		Start: { main: [[{ node: 'Form', type: 'main', index: 0 }]] },
	};
	if (answers) {
		nodes.push(
			makeNode(
				{
					type: 'harness-ai-fixture-nodes.harnessChatModel',
					name: 'Model',
					parameters: { answers: JSON.stringify(answers) },
				},
				[220, 200],
			),
		);
		connections.Model = {
			ai_languageModel: [[{ node: 'Form', type: 'ai_languageModel', index: 0 }]],
		};
	}
	const wf: WorkflowJson = {
		name: 'form',
		nodes,
		connections,
		pinData: {
			Start: [{ json: { channel: 'whatsapp', contactId, contact: { phone: contactId }, text } }],
		},
		settings: { executionOrder: 'v1' },
	};
	return runWorkflow(wf, { extraPackages: [AI_FIXTURES], credentials: credentials as never });
}

beforeEach(() => {
	calls().length = 0;
});

describe('Conversational Form: Understand Free Text', () => {
	it('reads "ana at gmail dot com" and "next Tuesday after 5pm" with one call each, checks them like typed answers, keeps the words; a typed answer needs no call', async () => {
		const id = '+34611999001';
		await say(id, 'hola', []);
		const email = await say(id, 'sure, my email is ana at gmail dot com', [
			'{"value":"ana@gmail.com"}',
		]);
		expect(calls()).toHaveLength(1);
		expect(calls()[0].messages[1].content).toContain(
			'The person wrote: "sure, my email is ana at gmail dot com"',
		);
		const asked = email.json('Form', 0)[0];
		expect((asked.form as IDataObject).answers).toEqual({ email: 'ana@gmail.com' });
		expect((asked.form as IDataObject).understood).toMatchObject({
			question: 'email',
			raw: 'sure, my email is ana at gmail dot com',
			value: 'ana@gmail.com',
			accepted: true,
			usage: { calls: 1 },
		});
		expect((asked.reply as IDataObject).question).toBe('When would you like to come?');

		calls().length = 0;
		const when = await say(id, 'next Tuesday after 5pm please', [
			'```json\n{"value":"2026-12-08 17:00"}\n```',
		]);
		expect(calls()).toHaveLength(1);
		expect(calls()[0].messages[0].content).toMatch(
			/Today is \w+ \d{4}-\d{2}-\d{2} \d{2}:\d{2} \(Europe\/Madrid\)/,
		);
		expect((when.json('Form', 0)[0].form as IDataObject).answers).toEqual({
			email: 'ana@gmail.com',
			when: '2026-12-08T17:00+01:00',
		});
		// The two readings are kept as AI usage under the form's name.
		const report = await runWorkflow(
			{
				name: 'r',
				nodes: [
					makeNode({ type: 'n8n-nodes-base.manualTrigger', name: 'Start' }, [0, 0]),
					makeNode(
						{
							type: 'aiContent',
							name: 'Usage',
							parameters: { operation: 'usageReport' },
							credentials: { convergentStoreApi: 'Store' },
						},
						[220, 0],
					),
				],
				connections: { Start: { main: [[{ node: 'Usage', type: 'main', index: 0 }]] } },
				settings: { executionOrder: 'v1' },
			},
			{ credentials: credentials as never },
		);
		expect(report.json('Usage').map((r) => [r.campaign, r.model, r.operation, r.calls])).toEqual([
			['form:Visit', 'harness-scripted:', 'understandFreeText', 2],
		]);
	});

	it('a model reading that does not check out is asked again like a typed one; a consent question is never read by the model; off by default', async () => {
		const id = '+34611999002';
		await say(id, 'hi', []);
		const bad = await say(id, 'my email? the usual one', ['{"value":"the usual one"}']);
		expect(calls()).toHaveLength(1);
		const reasked = bad.json('Form', 0)[0];
		expect((reasked.reply as IDataObject).question).toBe(
			'That does not look like an email address.\nWhat is your email?',
		);
		expect((reasked.form as IDataObject).understood).toMatchObject({
			value: 'the usual one',
			accepted: false,
		});

		await say(id, 'eva@example.com', ['{"value":"never asked"}']);
		await say(id, '2026-12-24 10:00', ['{"value":"never asked"}']);
		calls().length = 0;
		// "I suppose so" to the consent question: the model is not asked, the question is asked again.
		const consent = await say(id, 'I suppose so, whatever', ['{"value":"yes"}']);
		expect(calls()).toHaveLength(0);
		// The consent question is asked again; the form is not completed, so no answer stands for consent.
		expect(
			((consent.json('Form', 0)[0].reply as IDataObject).question as string).endsWith(
				'May we send you offers on WhatsApp?',
			),
		).toBe(true);
		expect((consent.json('Form', 0)[0].form as IDataObject).answers).not.toHaveProperty('optin');
		expect(consent.json('Form', 1)).toEqual([]);

		// Off (the default): no model call even with one connected.
		const other = '+34611999003';
		await say(other, 'hi', ['{"value":"x@y.z"}'], false);
		const off = await say(other, 'it is x at y dot z', ['{"value":"x@y.z"}'], false);
		expect(calls()).toHaveLength(0);
		expect((off.json('Form', 0)[0].form as IDataObject).understood).toBeUndefined();
		expect((off.json('Form', 0)[0].form as IDataObject).answers).toEqual({});
		expect(
			((off.json('Form', 0)[0].reply as IDataObject).question as string).endsWith(
				'What is your email?',
			),
		).toBe(true);
	});

	it('on without a Chat Model connected: the node says what to connect', async () => {
		const run = await say('+34611999004', 'hi', undefined, true);
		expect(run.error?.message).toBe('Understand Free Text is on but no Chat Model is connected');
	});
});
