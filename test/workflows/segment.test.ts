/**
 * Segment through the harness: outputs per segment plus "No Segment", first/all matches,
 * RFM routing to the named segments, engagement scores; pairedItem on every item.
 */
import { NodeHelpers, Workflow, type IDataObject } from 'n8n-workflow';

import { getRegistry, manualWorkflow, runWorkflow, PACKAGE_NAME } from '../harness';

const segments = {
	values: [
		{
			name: 'VIP Spain',
			combine: 'and',
			conditions: {
				condition: [
					{ field: 'contact.country', operator: 'equals', value: 'es' },
					{ field: 'spent', operator: 'gte', value: '1000' },
				],
			},
		},
		{
			name: 'Iberia',
			combine: 'or',
			conditions: { condition: [{ field: 'contact.country', operator: 'inList', value: 'ES,PT' }] },
		},
	],
};
const items = [
	{ contact: { id: 1, country: 'ES' }, spent: '1500' },
	{ contact: { id: 2, country: 'PT' }, spent: 10 },
	{ contact: { id: 3, country: 'FR' }, spent: 5000 },
	{ contact: { id: 4 } },
];

/** Five customers whose RFM segments were worked out by hand: Champions, At risk, Promising, Lost, Loyal. */
function rfmCustomers() {
	const day = 86400_000;
	const now = Date.now();
	const order = (daysAgo: number, amount: number) => ({
		date: new Date(now - daysAgo * day).toISOString(),
		amount,
	});
	return [
		{ id: 'champ', orders: Array.from({ length: 20 }, (_, k) => order(2 + k, 100)) },
		{ id: 'gone', orders: Array.from({ length: 18 }, (_, k) => order(300 + k, 100)) },
		{ id: 'new', orders: [order(5, 20)] },
		{ id: 'lost', orders: [order(400, 25), order(420, 25)] },
		{ id: 'mid', orders: Array.from({ length: 8 }, (_, k) => order(60 + k, 62.5)) },
	];
}

describe('Segment node', () => {
	it('names its outputs after the segments, as on the canvas', async () => {
		const registry = await getRegistry();
		const type = registry.nodeTypes.getByNameAndVersion(`${PACKAGE_NAME}.segment`, 1);
		expect(String(type.description.outputs)).toContain('No Segment');
	});

	it('first match: each item in one output, unmatched to "No Segment", with segment fields and pairedItem', async () => {
		const run = await runWorkflow(
			manualWorkflow({
				items,
				node: { type: 'segment', parameters: { operation: 'routeByRules', segments } },
			}),
		);
		expect(run.error).toBeUndefined();
		const ids = (o: number) => run.json('Segment', o).map((j) => (j.contact as IDataObject).id);
		expect([ids(0), ids(1), ids(2)]).toEqual([[1], [2], [3, 4]]);
		expect(run.json('Segment', 0)[0]).toMatchObject({
			segment: 'VIP Spain',
			segments: ['VIP Spain'],
		});
		expect(run.json('Segment', 2)[0]).toMatchObject({ segment: null, segments: [] });
		expect(run.items('Segment', 2).map((i) => i.pairedItem)).toEqual([{ item: 2 }, { item: 3 }]);
	});

	it('all matches: an item goes to every segment it matches', async () => {
		const run = await runWorkflow(
			manualWorkflow({
				items,
				node: {
					type: 'segment',
					parameters: { operation: 'routeByRules', segments, mode: 'allMatches' },
				},
			}),
		);
		expect(run.json('Segment', 1).map((j) => (j.contact as IDataObject).id)).toEqual([1, 2]);
		expect(run.json('Segment', 1)[0].segments).toEqual(['VIP Spain', 'Iberia']);
	});

	it('a bad rule stops the node with an error naming segment, condition and value', async () => {
		const bad = {
			values: [
				{
					name: 'Big',
					combine: 'and',
					conditions: { condition: [{ field: 'spent', operator: 'gt', value: 'lots' }] },
				},
			],
		};
		const run = await runWorkflow(
			manualWorkflow({
				items,
				node: { type: 'segment', parameters: { operation: 'routeByRules', segments: bad } },
			}),
		);
		expect(run.nodeError('Segment')?.message).toBe(
			'Segment "Big", condition 1: Value "lots" is not a number',
		);
	});

	it('RFM from a list of orders routes to the named segments', async () => {
		const customers = rfmCustomers();
		const run = await runWorkflow(
			manualWorkflow({
				items: customers,
				node: { type: 'segment', parameters: { operation: 'rfm', rfmSource: 'orders' } },
			}),
		);
		const where = (name: string) =>
			run
				.json(
					'Segment',
					[
						'Champions',
						'Loyal',
						'Potential loyalist',
						'New',
						'Promising',
						'Need attention',
						'About to sleep',
						'Cannot lose them',
						'At risk',
						'Hibernating',
						'Lost',
					].indexOf(name),
				)
				.map((j) => j.id);
		expect(where('Champions')).toEqual(['champ']);
		expect(where('At risk')).toEqual(['gone']);
		expect(where('Promising')).toEqual(['new']);
		expect(where('Lost')).toEqual(['lost']);
		expect(where('Loyal')).toEqual(['mid']);
		expect(run.json('Segment', 0)[0].rfm).toMatchObject({
			r: 5,
			f: 5,
			m: 5,
			score: '555',
			frequency: 20,
			monetary: 2000,
		});
	});

	it("RFM with chosen segments: one output each, in the table's order, and the rest on Other Segments", async () => {
		const customers = rfmCustomers();
		const wf = manualWorkflow({
			items: customers,
			node: {
				type: 'segment',
				parameters: {
					operation: 'rfm',
					rfmSource: 'orders',
					rfmOutputs: 'chosen',
					rfmSegments: ['Lost', 'At risk'],
				},
			},
		});
		const run = await runWorkflow(wf);
		expect(run.outputs('Segment').map((out) => out.map((i) => i.json.id))).toEqual([
			['gone'],
			['lost'],
			['champ', 'new', 'mid'],
		]);
		expect(run.json('Segment', 2).map((j) => (j.rfm as IDataObject).segment)).toEqual([
			'Champions',
			'Promising',
			'Loyal',
		]);
		// The canvas shows the same three outputs, named.
		const registry = await getRegistry();
		const node = wf.nodes.find((n) => n.name === 'Segment')!;
		const type = registry.nodeTypes.getByNameAndVersion(node.type, node.typeVersion);
		const outputs = NodeHelpers.getNodeOutputs(
			new Workflow({
				nodes: wf.nodes,
				connections: wf.connections,
				active: false,
				nodeTypes: registry.nodeTypes,
			}),
			node,
			type.description,
		);
		expect((outputs as Array<{ displayName: string }>).map((o) => o.displayName)).toEqual([
			'At risk',
			'Lost',
			'Other Segments',
		]);
	});

	it('engagement score with decay and tiers', async () => {
		const now = Date.now();
		const run = await runWorkflow(
			manualWorkflow({
				items: [
					{
						id: 'a',
						events: [
							{ type: 'purchase', at: now },
							{ type: 'click', at: now - 14 * 86400_000 },
						],
					},
					{ id: 'b', events: [{ type: 'open', at: new Date(now).toISOString() }] },
				],
				node: {
					type: 'segment',
					parameters: { operation: 'engagementScore', halfLifeDays: 14, warmFrom: 5, hotFrom: 11 },
				},
			}),
		);
		expect(run.json('Segment', 0).map((j) => (j.engagement as IDataObject).tier)).toEqual([
			'hot',
			'cold',
		]);
		expect((run.json('Segment', 0)[0].engagement as IDataObject).score).toBeCloseTo(11.5, 2);
	});

	it('kept scores accumulate across runs without counting the same event twice', async () => {
		const fs = await import('node:fs');
		const os = await import('node:os');
		const path = await import('node:path');
		const databasePath = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cm-eng-')), 's.sqlite');
		const credentials = { convergentStoreApi: { storageType: 'embedded', databasePath } };
		const now = Date.now();
		const node = {
			type: 'segment',
			parameters: { operation: 'engagementScore', persist: true, halfLifeDays: 14 },
			credentials: { convergentStoreApi: 'Store' },
		};
		const first = [{ contact: { id: 'a' }, events: [{ type: 'purchase', at: now - 1000 }] }];
		const r1 = await runWorkflow(manualWorkflow({ items: first, node }), { credentials });
		expect((r1.json('Segment', 0)[0].engagement as IDataObject).score).toBeCloseTo(10, 2);
		// Same event again plus a new click: only the click is added to the carried-over score.
		const second = [
			{
				contact: { id: 'a' },
				events: [
					{ type: 'purchase', at: now - 1000 },
					{ type: 'click', at: Date.now() + 5 },
				],
			},
		];
		const r2 = await runWorkflow(manualWorkflow({ items: second, node }), { credentials });
		const e2 = r2.json('Segment', 0)[0].engagement as IDataObject;
		expect(e2.score).toBeCloseTo(13, 2);
		expect(e2).toMatchObject({ events: 1, carriedOver: true });
	});
});
