/**
 * AI cost, visible: every AI Content run that used a model (or its cache) is kept in the store by
 * campaign, and Report AI Usage sums it (calls, tokens, cache hits, an estimated cost from the
 * prices given). Sample copy costs nothing and is not kept. Figures here are the mock's own usage.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { IDataObject } from 'n8n-workflow';

import { manualWorkflow, runWorkflow } from '../harness';
import { OpenAIMock } from '../mocks';

const ai = new OpenAIMock();
let credentials: Record<string, IDataObject>;
beforeAll(async () => {
	await ai.start();
	const databasePath = path.join(
		fs.mkdtempSync(path.join(os.tmpdir(), 'cm-ai-usage-')),
		'store.sqlite',
	);
	credentials = {
		openAiCompatibleApi: { apiKey: ai.apiKey, baseUrl: `${ai.baseUrl}/v1` },
		convergentStoreApi: { storageType: 'embedded', databasePath },
	};
	ai.responder = () => ({ variants: [{ text: 'Hi {{contact.firstName}}, 20% off until Sunday' }] });
});
afterAll(() => ai.stop());

const run = (items: IDataObject[], parameters: IDataObject) =>
	runWorkflow(
		manualWorkflow({
			items,
			node: {
				type: 'aiContent',
				name: 'AI',
				parameters,
				credentials: { openAiCompatibleApi: 'OpenAI', convergentStoreApi: 'Store' },
			},
		}),
		{ credentials: credentials as never },
	);

describe('AI usage in the store', () => {
	it('two runs of a campaign (the second from the cache), a sample run and another campaign: Report AI Usage sums each, with the estimated cost', async () => {
		const people = Array.from({ length: 6 }, (_, i) => ({
			contact: { firstName: `N${i}` },
			segment: i % 2 ? 'vip' : 'new',
		}));
		const copy = (campaign: string, extra: IDataObject = {}) => ({
			operation: 'generateCopy',
			channel: 'sms',
			brief: `Spring sale for ${campaign}`,
			groupBy: 'segment',
			placeholders: 'contact.firstName',
			options: { campaign, ...extra },
		});
		const first = await run(people, copy('spring'));
		const tokens = first
			.json('AI')
			.reduce(
				(n, j) =>
					n +
					Number((j.usage as IDataObject).inputTokens) +
					Number((j.usage as IDataObject).outputTokens),
				0,
			);
		await run(people, copy('spring'));
		await run(people, copy('spring', { sampleCopy: true }));
		await run([{ text: 'can I book?' }], {
			operation: 'classify',
			intents: 'book',
			options: { campaign: 'concierge' },
		});
		// Two segments, then the cache, then no model at all, then one classification.
		expect(ai.received).toBe(3);

		const report = await runWorkflow(
			manualWorkflow({
				items: [{}],
				node: {
					type: 'aiContent',
					name: 'Usage',
					parameters: {
						operation: 'usageReport',
						usageSinceDays: 1,
						inputPrice: 0.15,
						outputPrice: 0.6,
					},
					credentials: { convergentStoreApi: 'Store' },
				},
			}),
			{ credentials: credentials as never },
		);
		const rows = report.json('Usage');
		expect(
			rows.map((r) => [r.campaign, r.model, r.operation, r.runs, r.items, r.calls, r.cacheHits]),
		).toEqual([
			['concierge', 'gpt-4o-mini', 'classify', 1, 1, 1, 0],
			['spring', 'gpt-4o-mini', 'generateCopy', 2, 12, 2, 2],
		]);
		const spring = rows[1];
		// Per-item usage splits a call's tokens over the items sharing it (rounded): the store keeps the exact sum.
		expect(
			Math.abs(Number(spring.inputTokens) + Number(spring.outputTokens) - tokens),
		).toBeLessThanOrEqual(6);
		expect(spring.estimatedCost).toBe(
			Math.round(Number(spring.inputTokens) * 0.15 + Number(spring.outputTokens) * 0.6) / 1e6,
		);
		expect(Date.parse(String(spring.firstAt))).toBeLessThanOrEqual(
			Date.parse(String(spring.lastAt)),
		);
	});
});
