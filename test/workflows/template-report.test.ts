/**
 * The campaign report page template: Try It records three sample people's sends from two campaigns
 * and a spring-sale Check blocks two of them; the report counts both, and its HTML page is what
 * the published webhook serves, for the days and campaign its query names.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { IDataObject } from 'n8n-workflow';

import { runWorkflow } from '../harness';
import { loadLive, loadTemplate } from './template-helpers';

const FILE = 'campaign-report-page.json';
const databasePath = path.join(
	fs.mkdtempSync(path.join(os.tmpdir(), 'cm-report-')),
	'store.sqlite',
);
const credentials = { convergentStoreApi: { storageType: 'embedded', databasePath } };

type Row = IDataObject & { campaign: string; channel: string };

describe('template: Campaign report page', () => {
	it('Try It: each campaign its row, the spring sale with who was blocked and why; the page carries them', async () => {
		const run = await runWorkflow(loadTemplate(FILE), {
			startNode: 'Try It',
			credentials: credentials as never,
		});
		expect(run.error).toBeUndefined();
		const [report] = run.json('Campaign Report');
		const rows = report.rows as Row[];
		const row = (campaign: string, channel: string) =>
			rows.find((r) => r.campaign === campaign && r.channel === channel);
		expect(row('spring-sale', 'email')).toMatchObject({ sent: 2 });
		expect(row('win-back', 'email')).toMatchObject({ sent: 1 });
		expect(row('win-back', 'sms')).toMatchObject({ sent: 1 });
		expect(JSON.stringify(report)).toContain('WITHDRAWN');
		expect(JSON.stringify(report)).toContain('NO_CONSENT');
		const page = run.items('Campaign Report')[0].binary!.report;
		expect(page.mimeType).toBe('text/html');
		const html = Buffer.from(page.data, 'base64').toString('utf8');
		expect(html).toContain('spring-sale');
		expect(html).toContain('win-back');
	});

	it('the published page reads the query: ?campaign= one campaign, ?days= the window (1 to 365); it answers with the page', async () => {
		const run = await runWorkflow(loadLive(FILE), {
			startNode: 'Report Page',
			startItems: [{ json: { query: { campaign: 'win-back', days: '9000' } } }],
			credentials: credentials as never,
		});
		expect(run.error).toBeUndefined();
		const [report] = run.json('Campaign Report');
		expect([...new Set((report.rows as Row[]).map((r) => r.campaign))]).toEqual(['win-back']);
		// A window past a year is a year; one that is not a number is the default 30 days.
		expect(report.sinceDays).toBe(365);
		const odd = await runWorkflow(loadLive(FILE), {
			startNode: 'Report Page',
			startItems: [{ json: { query: { days: 'all; DROP TABLE touches' } } }],
			credentials: credentials as never,
		});
		expect(odd.error).toBeUndefined();
		expect(odd.json('Campaign Report')[0].sinceDays).toBe(30);
		expect(run.runData['Show the Page']).toBeDefined();
		expect(run.items('Show the Page')[0].binary?.report?.mimeType).toBe('text/html');
		// It answers with the HTML page, not the first file of the item (the chart).
		const show = loadLive(FILE).nodes.find((n) => n.name === 'Show the Page')!.parameters;
		expect(show).toMatchObject({
			respondWith: 'binary',
			responseDataSource: 'set',
			inputFieldName: 'report',
		});
	});
});
