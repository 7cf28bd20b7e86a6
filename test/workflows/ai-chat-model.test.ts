/**
 * AI Content with a Chat Model sub-node connected (an ai_languageModel input, as n8n's Basic LLM
 * Chain takes one): the sub-node's model is used instead of the OpenAI-compatible credential, with
 * the same JSON answers, channel-limit checks, regeneration, per-segment generation and cache.
 * The sub-node here is a real LangChain chat model with scripted answers.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { IConnections, IDataObject } from 'n8n-workflow';

import { makeNode, runWorkflow, type NodeSpec, type WorkflowJson } from '../harness';

const AI_FIXTURES = path.join(__dirname, '..', 'fixtures', 'ai-package');
const databasePath = path.join(
	fs.mkdtempSync(path.join(os.tmpdir(), 'cm-chat-model-')),
	'store.sqlite',
);
const credentials = { convergentStoreApi: { storageType: 'embedded', databasePath } };
type Call = { messages: Array<{ role: string; content: string }> };
const calls = (): Call[] =>
	((globalThis as { __harnessChatCalls?: Call[] }).__harnessChatCalls ??= []);

function withModel(items: IDataObject[], ai: NodeSpec, answers: string[]): WorkflowJson {
	const trigger = makeNode({ type: 'n8n-nodes-base.manualTrigger', name: 'Start' }, [0, 0]);
	const node = makeNode({ ...ai, name: 'AI' }, [220, 0]);
	const model = makeNode(
		{
			type: 'harness-ai-fixture-nodes.harnessChatModel',
			name: 'Model',
			parameters: { answers: JSON.stringify(answers) },
		},
		[220, 200],
	);
	const connections: IConnections = {
		Start: { main: [[{ node: 'AI', type: 'main', index: 0 }]] },
		Model: { ai_languageModel: [[{ node: 'AI', type: 'ai_languageModel', index: 0 }]] },
	};
	return {
		name: 'chat-model',
		nodes: [trigger, node, model],
		connections,
		pinData: { Start: items.map((json) => ({ json })) },
		settings: { executionOrder: 'v1' },
	};
}
const run = (wf: WorkflowJson) =>
	runWorkflow(wf, { extraPackages: [AI_FIXTURES], credentials: credentials as never });

beforeEach(() => {
	calls().length = 0;
});

describe('AI Content with a Chat Model sub-node', () => {
	it('Generate Copy: one call per segment, no OpenAI credential, copy over the SMS limit regenerated with the violation as feedback; the next run comes from the cache', async () => {
		const items = Array.from({ length: 10 }, (_, i) => ({
			contact: { id: `c${i}`, firstName: ['Ana', 'Ben'][i % 2] },
			segment: i % 2 ? 'vip' : 'new',
		}));
		const tooLong = JSON.stringify({ variants: [{ text: 'x'.repeat(400) }] });
		const fits = (s: string) =>
			'```json\n' +
			JSON.stringify({
				variants: [{ text: `Hi {{contact.firstName}}, ${s}: 20% off until Sunday.` }],
			}) +
			'\n```';
		const ai: NodeSpec = {
			type: 'aiContent',
			parameters: {
				operation: 'generateCopy',
				channel: 'sms',
				brief: 'Spring sale: 20% off until Sunday',
				groupBy: 'segment',
				placeholders: 'contact.firstName',
				options: { concurrency: 1 },
			},
			credentials: { convergentStoreApi: 'Store' },
		};
		const first = await run(
			withModel(items, ai, [tooLong, fits('for our new friends'), fits('for VIPs')]),
		);
		expect(first.error).toBeUndefined();
		const out = first.json('AI');
		expect(out).toHaveLength(10);
		expect(out.map((j) => (j.copy as IDataObject).text)).toEqual(
			items.map(
				(it) =>
					`Hi ${it.contact.firstName}, ${it.segment === 'vip' ? 'for VIPs' : 'for our new friends'}: 20% off until Sunday.`,
			),
		);
		// Two segments, one regeneration: three calls for ten people.
		expect(calls()).toHaveLength(3);
		expect(calls()[0].messages[0]).toMatchObject({
			role: 'system',
			content: expect.stringContaining('Answer with one JSON object and nothing else'),
		});
		expect(calls()[1].messages.at(-1)!.content).toContain("That breaks the channel's limits");
		expect(out[0].usage).toMatchObject({
			model: 'harness-scripted:',
			calls: 2,
			cached: false,
			sharedWith: 5,
		});
		expect((out[0].usage as IDataObject).inputTokens).toBeGreaterThan(0);

		calls().length = 0;
		const again = await run(
			withModel(items, ai, ['{"variants":[{"text":"should not be asked"}]}']),
		);
		expect(calls()).toHaveLength(0);
		expect(again.json('AI').map((j) => (j.usage as IDataObject).cached)).toEqual(
			Array(10).fill(true),
		);
	});

	it("Classify and Reply answer from the sub-node; a model that answers prose is the item's error naming what it said", async () => {
		const classify: NodeSpec = {
			type: 'aiContent',
			parameters: { operation: 'classify', intents: 'book, buy', textField: 'text' },
		};
		const ok = await run(
			withModel([{ text: 'Can I book for Friday?' }], classify, [
				'Sure! {"intent":"book","confidence":0.93,"language":"en"}',
			]),
		);
		expect(ok.json('AI')[0].classification).toMatchObject({ intent: 'book' });

		const prose = await run(
			withModel([{ text: 'hello' }], { ...classify, continueOnFail: true }, [
				'I think they want to book.',
			]),
		);
		expect(prose.json('AI')[0].error).toBe(
			'The model did not answer with JSON: "I think they want to book."',
		);
	});
});
