/**
 * Template "Win-back" (workflows/win-back.json) in the harness: a loopback shop API, the OpenAI
 * and SMTP mocks. RFM picks At risk + Hibernating, one AI call per segment with two variants,
 * A/B by position, Consent Guard's caps hold back a customer messaged this week, the journey
 * moves, and a second run in the same week sends nothing.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { IDataObject } from 'n8n-workflow';

import { openStore } from '../../nodes/shared/store';
import { runWorkflow } from '../harness';
import { OpenAIMock, SmtpMock } from '../mocks';
import {
	JsonApi,
	loadLive,
	mailText,
	retarget,
	winBackCopy,
	winBackCustomers,
	zoneAt,
} from './template-helpers';
import { grantConsent } from '../helpers/people';

const DAY = 86400_000;

describe('template: Win-back', () => {
	const smtp = new SmtpMock();
	const ai = new OpenAIMock();
	const databasePath = path.join(
		fs.mkdtempSync(path.join(os.tmpdir(), 'cm-tpl4-')),
		'store.sqlite',
	);
	const timeZone = zoneAt((h) => h >= 10 && h < 19);
	const customers = winBackCustomers(timeZone);
	const shop = new JsonApi((p) => (p === '/api/customers' ? customers : undefined));
	let credentials: Record<string, IDataObject>;
	const template = () =>
		retarget(loadLive('win-back.json'), 'Get Customers', 'https://shop.example.com', shop.baseUrl);

	beforeAll(async () => {
		await Promise.all([smtp.start(), ai.start(), shop.start()]);
		credentials = {
			convergentSmtpApi: {
				host: '127.0.0.1',
				port: smtp.port,
				user: smtp.user,
				password: smtp.pass,
				fromEmail: 'Glow <hello@glow.example>',
			},
			openAiCompatibleApi: { apiKey: ai.apiKey, baseUrl: `${ai.baseUrl}/v1` },
			convergentStoreApi: { storageType: 'embedded', databasePath },
		};
		ai.responder = winBackCopy;
	});
	afterAll(async () => Promise.all([smtp.stop(), ai.stop(), shop.stop()]));

	it('emails At risk and Hibernating customers with A/B variants, two AI calls; a customer messaged this week is capped; a second run sends nothing', async () => {
		const store = await openStore({ type: 'embedded', path: databasePath });
		await grantConsent(store, customers, ['email'], { evidence: { source: 'checkout' } });
		// c2 got an SMS offer two days ago: the 1-per-7-days marketing cap is full for them.
		await store.reserveTouches(
			[
				{
					idempotencyKey: 'spring-sale-c2',
					contactId: 'c2',
					channel: 'sms',
					purpose: 'marketing',
					campaign: 'spring',
					caps: [],
				},
			],
			Date.now() - 2 * DAY,
		);
		await store.completeTouch('spring-sale-c2', { status: 'sent', providerMessageId: 'SM1' });

		const run = await runWorkflow(template(), {
			startNode: 'Every Monday',
			startItems: [{ json: { timestamp: new Date().toISOString() } }],
			credentials: credentials as never,
		});
		expect(run.error).toBeUndefined();
		expect(shop.hits).toEqual(['/api/customers']);
		const routed = run.outputs('RFM').map((out) => out.map((i) => i.json.id));
		expect(routed[0]).toEqual(['c2', 'c3']); // At risk
		expect(routed[1]).toEqual(['c4']); // Hibernating
		expect(routed[2]).toEqual(['c1', 'c5', 'c6', 'c7', 'c8', 'c9', 'c10']); // Other Segments: nothing to do
		expect(ai.received).toBe(2);

		// Two runs of the branch (one per RFM output), so collect both.
		const runsOf = (node: string, output = 0) =>
			(run.runData[node] ?? [])
				.flatMap((_, r) => run.json(node, output, r))
				.sort((a, b) => String(a.id).localeCompare(String(b.id)));
		expect(runsOf('A/B Split').map((j) => [j.id, j.variant])).toEqual([
			['c2', 'A'],
			['c3', 'B'],
			['c4', 'A'],
		]);
		expect(
			runsOf('Consent Guard', 1).map((j) => [j.id, (j.blocked as IDataObject).reason]),
		).toEqual([['c2', 'FREQUENCY_CAP']]);
		expect(runsOf('Send Win-back').map((j) => j.id)).toEqual(['c3', 'c4']);

		const mails = await smtp.waitFor(2);
		const byTo = Object.fromEntries(mails.map((m) => [m.to[0], m]));
		expect(byTo['c3@example.com'].subject).toBe('At risk B');
		expect(mailText(byTo['c3@example.com'].body)).toContain(
			'Cai, At risk variant B: 20% off this week.',
		);
		expect(byTo['c4@example.com'].subject).toBe('Hibernating A');
		expect(byTo['c4@example.com'].headers.get('list-unsubscribe')?.[0]).toContain(
			'https://glow.example/unsubscribe?c=c4',
		);
		expect(byTo['c2@example.com']).toBeUndefined();

		const states = await store.getJourneyStates('Retention', ['c2', 'c3', 'c4']);
		expect([...states.entries()].map(([id, s]) => [id, s.stage]).sort()).toEqual([
			['c3', 'Win-back'],
			['c4', 'Win-back'],
		]);

		// The schedule fires again the same week (same campaign, e.g. win-back-2026-W48): the copy comes from
		// the cache, c2 is still capped, c3 and c4 are recognised as already sent: no second email.
		const again = await runWorkflow(template(), {
			startNode: 'Every Monday',
			startItems: [{ json: {} }],
			credentials: credentials as never,
		});
		expect(again.error).toBeUndefined();
		expect(ai.received).toBe(2);
		const allOf = (node: string, output: number) =>
			(again.runData[node] ?? [])
				.flatMap((_, r) => again.json(node, output, r))
				.sort((a, b) => String(a.id).localeCompare(String(b.id)));
		expect(allOf('Consent Guard', 1).map((j) => [j.id, (j.blocked as IDataObject).reason])).toEqual(
			[['c2', 'FREQUENCY_CAP']],
		);
		expect(
			allOf('Send Win-back', 0).map((j) => [j.id, (j.touchpoint as IDataObject).deduplicated]),
		).toEqual([
			['c3', true],
			['c4', true],
		]);
		expect(String((allOf('Consent Guard', 0)[0].consent as IDataObject).campaign)).toMatch(
			/^win-back-\d{4}-W\d{2}$/,
		);
		await new Promise((r) => setTimeout(r, 300));
		expect(smtp.messages).toHaveLength(2);
	});
});
