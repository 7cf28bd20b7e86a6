/**
 * Journey through the harness: tracked events move stages (idempotent by event id, goal once,
 * exits), route by stage, the contact's path, and the funnel report with an SVG that renders.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Resvg } from '@resvg/resvg-js';
import type { IDataObject } from 'n8n-workflow';

import { manualWorkflow, runWorkflow } from '../harness';

const databasePath = path.join(
	fs.mkdtempSync(path.join(os.tmpdir(), 'cm-journey-')),
	'store.sqlite',
);
const credentials = { convergentStoreApi: { storageType: 'embedded', databasePath } };
const base = {
	journeyName: 'Onboarding',
	stages: 'Awareness, Interest, Consideration, Conversion, Loyalty',
};
const moves = {
	move: [
		{ event: 'visited', stage: 'Awareness' },
		{ event: 'clicked', stage: 'Interest' },
		{ event: 'carted', stage: 'Consideration' },
		{ event: 'purchased', stage: 'Conversion' },
	],
};
const node = (operation: string, parameters: IDataObject = {}) => ({
	type: 'journey',
	parameters: { operation, ...base, ...parameters },
	credentials: { convergentStoreApi: 'Store' },
});
const ev = (contact: string, type: string, id: string, hoursFromStart: number) => ({
	contact: { id: contact },
	event: {
		type,
		id,
		at: new Date(Date.UTC(2026, 10, 1) + hoursFromStart * 3600_000).toISOString(),
	},
});
const track = async (items: IDataObject[]) => {
	const run = await runWorkflow(
		manualWorkflow({
			items,
			node: node('trackEvent', { moves, goalStage: 'Conversion', exitEvents: 'unsubscribed' }),
		}),
		{ credentials },
	);
	if (run.error) throw run.error;
	return run.json('Journey', 0).map((j) => j.journey as IDataObject);
};

describe('Journey node', () => {
	it('tracks events: stages move, duplicates are recognised, goal reached once, exits stop the journey', async () => {
		const r1 = await track([
			ev('ana', 'visited', 'e1', 0),
			ev('ana', 'clicked', 'e2', 10),
			ev('ben', 'visited', 'e3', 0),
			ev('cai', 'clicked', 'e4', 0),
		]);
		expect(r1.map((j) => [j.previousStage, j.currentStage, j.moved])).toEqual([
			[null, 'Awareness', true],
			['Awareness', 'Interest', true],
			[null, 'Awareness', true],
			[null, 'Interest', true],
		]);
		expect(r1[1].timeInPreviousStageHours).toBe(10);

		const r2 = await track([
			ev('ana', 'clicked', 'e2', 10),
			ev('ana', 'purchased', 'e5', 30),
			ev('ana', 'clicked', 'e6', 31),
			ev('ana', 'purchased', 'e7', 40),
			ev('ben', 'clicked', 'e8', 20),
			ev('cai', 'carted', 'e9', 4),
			ev('cai', 'unsubscribed', 'e10', 5),
			ev('cai', 'purchased', 'e11', 6),
		]);
		expect(r2[0]).toMatchObject({ duplicate: true });
		expect(r2[1]).toMatchObject({ currentStage: 'Conversion', goalReached: true });
		expect(r2[2]).toMatchObject({
			currentStage: 'Conversion',
			moved: false,
			ignored: 'backwards-not-allowed',
		});
		expect(r2[3]).toMatchObject({ goalReached: false });
		expect(r2[6]).toMatchObject({ exited: true });
		expect(r2[7]).toMatchObject({ moved: false, ignored: 'already-exited' });
	});

	it("one item without a contact id is that item's error with continue-on-fail; the others are tracked; Route by Stage puts it on Not in Journey", async () => {
		const items = [
			ev('dan', 'visited', 'd1', 0),
			{ event: { type: 'visited', id: 'd2' } },
			ev('eva', 'constructor', 'd3', 0),
		];
		const run = await runWorkflow(
			manualWorkflow({
				items,
				node: { ...node('trackEvent', { moves, journeyName: 'PerItem' }), continueOnFail: true },
			}),
			{ credentials },
		);
		expect(run.error).toBeUndefined();
		const out = run.json('Journey', 0);
		expect(out.map((j) => (j.journey as IDataObject | undefined)?.currentStage ?? 'error')).toEqual(
			['Awareness', 'error', 'Awareness'],
		);
		expect(String(out[1].error)).toMatch(/No contact ID/);
		const strict = await runWorkflow(
			manualWorkflow({ items, node: node('trackEvent', { moves, journeyName: 'PerItem' }) }),
			{ credentials },
		);
		expect(strict.error?.message).toMatch(/No contact ID/);
		const route = await runWorkflow(
			manualWorkflow({
				items: [{ contact: { id: 'dan' } }, {}],
				node: { ...node('routeByStage', { journeyName: 'PerItem' }), continueOnFail: true },
			}),
			{ credentials },
		);
		expect(route.json('Journey', 0).map((j) => (j.contact as IDataObject).id)).toEqual(['dan']);
		expect(route.json('Journey', 5).map((j) => String(j.error))).toEqual([
			expect.stringMatching(/No contact ID/),
		]);
	});

	it('routes by stage, with one output per stage and "Not in Journey"', async () => {
		const run = await runWorkflow(
			manualWorkflow({
				items: ['ana', 'ben', 'cai', 'zoe'].map((id) => ({ contact: { id } })),
				node: node('routeByStage'),
			}),
			{ credentials },
		);
		const ids = (o: number) => run.json('Journey', o).map((j) => (j.contact as IDataObject).id);
		expect([ids(0), ids(1), ids(2), ids(3), ids(4), ids(5)]).toEqual([
			[],
			['ben'],
			[],
			['ana'],
			[],
			['cai', 'zoe'],
		]);
		expect(run.items('Journey', 5).map((i) => i.pairedItem)).toEqual([{ item: 2 }, { item: 3 }]);
	});

	it("gets a contact's path with timestamps", async () => {
		const run = await runWorkflow(
			manualWorkflow({ items: [{ contact: { id: 'ana' } }], node: node('getContactJourney') }),
			{ credentials },
		);
		const j = run.json('Journey', 0)[0];
		expect(j.currentStage).toBe('Conversion');
		expect((j.path as IDataObject[]).map((p) => `${p.from}->${p.to}@${p.at}`)).toEqual([
			'null->Awareness@2026-11-01T00:00:00.000Z',
			'Awareness->Interest@2026-11-01T10:00:00.000Z',
			'Interest->Conversion@2026-11-02T06:00:00.000Z',
		]);
	});

	it('reports the funnel as JSON plus an SVG chart that renders to PNG, and an HTML report', async () => {
		const run = await runWorkflow(
			manualWorkflow({ items: [{}], node: node('funnelReport', { includeHtml: true }) }),
			{ credentials },
		);
		expect(run.error).toBeUndefined();
		const item = run.items('Journey', 0)[0];
		const stages = item.json.stages as IDataObject[];
		// ana: A->I->Conv; ben: A->I; cai: I->Consideration then exited.
		expect(stages.map((s) => [s.stage, s.reached, s.currentlyIn])).toEqual([
			['Awareness', 3, 0],
			['Interest', 3, 1],
			['Consideration', 2, 0],
			['Conversion', 1, 1],
			['Loyalty', 0, 0],
		]);
		expect(item.binary?.chart.mimeType).toBe('image/svg+xml');
		expect(item.binary?.report.mimeType).toBe('text/html');
		const svg = Buffer.from(item.binary!.chart.data, 'base64').toString('utf8');
		expect(svg).toContain('Interest: 3 · 66.7% to next');
		const png = new Resvg(svg).render();
		expect(png.width).toBe(720);
		const bytes = png.asPng();
		expect(bytes.subarray(1, 4).toString()).toBe('PNG');
		fs.mkdirSync(path.join(__dirname, '..', '..', 'test-artifacts'), { recursive: true });
		fs.writeFileSync(
			path.join(__dirname, '..', '..', 'test-artifacts', 'journey-funnel.png'),
			bytes,
		);
		// The widest bar is purple where the PNG shows it: sample the first bar's centre pixel.
		const rgba = png.pixels;
		const at = (x: number, y: number) =>
			Array.from(rgba.subarray((y * 720 + x) * 4, (y * 720 + x) * 4 + 3));
		expect(at(110, 60)).toEqual([0x5b, 0x3f, 0xd9]);
	});
});
