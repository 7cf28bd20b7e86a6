/**
 * Journey > Campaign Report through the node: sends made by Touchpoint (real HTTP to the Twilio
 * mock), statuses, a blocked person, then the report as JSON, an SVG chart that renders to PNG
 * (resvg, like the funnel) and an HTML report.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Resvg } from '@resvg/resvg-js';
import type { IDataObject } from 'n8n-workflow';

import { openStore } from '../../nodes/shared/store';
import { manualWorkflow, runWorkflow } from '../harness';
import { grantConsent } from '../helpers/people';
import { TwilioMock } from '../mocks';
import { zoneAt } from './template-helpers';

const twilio = new TwilioMock();
const databasePath = path.join(
	fs.mkdtempSync(path.join(os.tmpdir(), 'cm-report-')),
	'store.sqlite',
);
const day = zoneAt((h) => h >= 10 && h < 19);
let credentials: Record<string, IDataObject>;
beforeAll(async () => {
	await twilio.start();
	credentials = {
		twilioMessagingApi: {
			accountSid: twilio.accountSid,
			authToken: twilio.authToken,
			from: '+15550100000',
			ratePerSecond: 100,
			baseUrl: twilio.baseUrl,
		},
		convergentStoreApi: { storageType: 'embedded', databasePath },
	};
});
afterAll(() => twilio.stop());

describe('Journey > Campaign Report', () => {
	it('counts what Touchpoint sent per variant, statuses and replies, who was blocked and why; the chart renders to PNG; the HTML has every row', async () => {
		const store = await openStore({ type: 'embedded', path: databasePath });
		const people = Array.from({ length: 6 }, (_, i) => ({
			id: `r${i}`,
			phone: `+3460050000${i}`,
			timeZone: day,
			variant: i < 3 ? 'A' : 'B',
		}));
		await grantConsent(store, people.slice(0, 5) as never, ['sms']);
		const run = await runWorkflow(
			manualWorkflow({
				items: people.map((contact) => ({ contact })),
				node: {
					type: 'touchpoint',
					name: 'Send',
					parameters: {
						channel: 'sms',
						purpose: 'marketing',
						campaign: 'autumn',
						variant: '={{ $json.contact.variant }}',
						text: 'Autumn sale: 20% off',
					},
					credentials: { twilioMessagingApi: 'Twilio', convergentStoreApi: 'Store' },
				},
			}),
			{ credentials: credentials as never },
		);
		expect(run.json('Send', 0)).toHaveLength(5);
		expect(
			run
				.json('Send', 1)
				.map((j) => [(j.contact as IDataObject).id, (j.touchpoint as IDataObject).reason]),
		).toEqual([['r5', 'NO_CONSENT']]);
		const pm = (id: string) =>
			String(
				(
					run.json('Send', 0).find((j) => (j.contact as IDataObject).id === id)!
						.touchpoint as IDataObject
				).providerMessageId,
			);
		await store.updateDeliveryStatus(pm('r0'), 'delivered');
		await store.updateDeliveryStatus(pm('r1'), 'delivered');
		await store.updateDeliveryStatus(pm('r3'), 'undelivered');
		await store.recordInbound([{ contactId: 'r1', channel: 'sms', at: Date.now() + 60_000 }]);

		const report = await runWorkflow(
			manualWorkflow({
				items: [{}],
				node: {
					type: 'journey',
					name: 'Report',
					parameters: { operation: 'campaignReport', reportCampaign: 'autumn', includeHtml: true },
					credentials: { convergentStoreApi: 'Store' },
				},
			}),
			{ credentials: credentials as never },
		);
		const [item] = report.items('Report');
		expect(
			(item.json.rows as IDataObject[]).map((r) => [
				r.variant,
				r.sent,
				r.delivered,
				r.failed,
				r.replied,
				r.failedBy,
			]),
		).toEqual([
			['A', 3, 2, 0, 1, {}],
			['B', 2, 0, 1, 0, { undelivered: 1 }],
		]);
		expect(item.json.blocked).toEqual([
			{ campaign: 'autumn', channel: 'sms', byReason: { NO_CONSENT: 1 }, total: 1 },
		]);
		const svg = Buffer.from(String(item.binary!.chart.data), 'base64').toString('utf8');
		expect(svg).toContain('data-label="autumn · sms · variant A" data-sent="3"');
		const png = new Resvg(svg).render();
		expect(png.width).toBe(760);
		const bytes = png.asPng();
		expect(bytes.subarray(1, 4).toString()).toBe('PNG');
		fs.mkdirSync(path.join(__dirname, '..', '..', 'test-artifacts'), { recursive: true });
		fs.writeFileSync(
			path.join(__dirname, '..', '..', 'test-artifacts', 'campaign-report.png'),
			bytes,
		);
		const html = Buffer.from(String(item.binary!.report.data), 'base64').toString('utf8');
		expect(html).toContain(
			'<td>autumn</td><td>sms</td><td>A</td><td>0</td><td>3</td><td>2 (66.7%)</td>',
		);
		expect(html).toContain('NO_CONSENT: 1');
	});

	it('a setting the whole report reads once is one value: items that give different windows are an error naming the field, never item 0 for all', async () => {
		const report = (days: string) =>
			runWorkflow(
				manualWorkflow({
					items: [{ days: 7 }, { days: 90 }],
					node: {
						type: 'journey',
						name: 'Report',
						parameters: { operation: 'campaignReport', reportSinceDays: days },
						credentials: { convergentStoreApi: 'Store' },
					},
				}),
				{ credentials: credentials as never },
			);
		const differs = await report('={{ $json.days }}');
		expect(differs.error?.message).toBe('Since (Days) differs between items');
		expect(String(differs.error?.description)).toContain('Item 0 gives 7, item 1 90');
		// One value for every item (an expression or not) is read once: one report.
		const same = await report('={{ 14 }}');
		expect(same.error).toBeUndefined();
		expect(same.json('Report').map((j) => j.sinceDays)).toEqual([14]);
	});
});
