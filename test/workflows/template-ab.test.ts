/**
 * The "A/B test, then the winner" template on its real path: customers from a loopback shop API
 * split 10/10/80 by contact ID, A and B emailed through a real SMTP receiver under the campaign
 * with their variants, clicks reported for the sends (40 % of A, 10 % of B), then, a day later,
 * Pick Winner decides by the z-test and Send Winner mails A's subject to the rest. A customer who
 * unsubscribed in the rest gets nothing. Try It's path is in templates-try-it.test.ts.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { IDataObject } from 'n8n-workflow';

import { openStore } from '../../nodes/shared/store';
import { runWorkflow, type WorkflowJson } from '../harness';
import { grantConsent } from '../helpers/people';
import { SmtpMock } from '../mocks';
import { JsonApi, loadLive, zoneAt } from './template-helpers';

const smtp = new SmtpMock();
const databasePath = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cm-ab-')), 'store.sqlite');
const day = zoneAt((h) => h >= 10 && h < 19);
const customers = Array.from({ length: 800 }, (_, i) => ({
	id: `cust-${i}`,
	firstName: `C${i}`,
	email: `cust-${i}@example.com`,
	timeZone: day,
}));
const shop = new JsonApi((p) => (p === '/api/customers' ? customers : undefined));
let credentials: Record<string, IDataObject>;

beforeAll(async () => {
	await Promise.all([smtp.start(), shop.start()]);
	credentials = {
		convergentSmtpApi: {
			host: '127.0.0.1',
			port: smtp.port,
			user: smtp.user,
			password: smtp.pass,
			fromEmail: 'Glow <hello@glow.example>',
		},
		convergentStoreApi: { storageType: 'embedded', databasePath },
	};
});
afterAll(async () => Promise.all([smtp.stop(), shop.stop()]));

/** The template pointed at the loopback shop, sends paced for a test, and 50 sends per arm as the minimum. */
function template(): WorkflowJson {
	const wf = loadLive('ab-test-then-winner.json') as WorkflowJson;
	for (const n of wf.nodes) {
		if (n.name === 'Get Customers') n.parameters.url = `${shop.baseUrl}/api/customers`;
		if (n.type.endsWith('.touchpoint'))
			n.parameters.options = { ...(n.parameters.options as IDataObject), ratePerSecond: 2000 };
		if (n.name === 'Pick Winner') n.parameters.abMinPerArm = 50;
	}
	return wf;
}

describe('template: A/B test, then the winner', () => {
	it('10/10/80 by contact ID; the arms mailed with their variants; a day later A wins on clicks and its subject goes to the rest, not to the one who unsubscribed', async () => {
		const store = await openStore({ type: 'embedded', path: databasePath });
		await grantConsent(store, customers as never, ['email']);
		const first = await runWorkflow(template(), {
			startNode: 'Start Test',
			credentials: credentials as never,
		});
		const armA = first.json('A/B Split', 0);
		const armB = first.json('A/B Split', 1);
		const rest = first.items('A/B Split', 2);
		expect(armA.length + armB.length + rest.length).toBe(800);
		for (const arm of [armA, armB]) expect(Math.abs(arm.length / 800 - 0.1)).toBeLessThan(0.035);
		expect(
			armA.every((j) => (j.abTest as IDataObject).arm === 'A') &&
				armB.every((j) => (j.abTest as IDataObject).arm === 'B'),
		).toBe(true);
		// The rest waits for the day to pass (n8n puts the execution to wait).
		expect(first.runData['Pick Winner']).toBeUndefined();
		const sentA = first.json('Send A', 0);
		const sentB = first.json('Send B', 0);
		expect([sentA.length, sentB.length]).toEqual([armA.length, armB.length]);
		const mails = await smtp.waitFor(armA.length + armB.length);
		expect(
			mails.filter((m) => String(m.subject).startsWith('Our spring collection is here')).length,
		).toBe(armA.length);
		expect(sentA.every((j) => (j.touchpoint as IDataObject).variant === 'A')).toBe(true);

		// The email service reports clicks: 40 % of A's sends, 10 % of B's.
		const click = async (sent: IDataObject[], share: number) => {
			for (const j of sent.slice(0, Math.round(sent.length * share)))
				await store.updateDeliveryStatus(
					String((j.touchpoint as IDataObject).providerMessageId),
					'clicked',
				);
		};
		await click(sentA, 0.4);
		await click(sentB, 0.1);
		// One of the waiting customers unsubscribes during the day.
		const leaver = String(rest[0].json.id);
		await store.recordConsent([
			{
				contactId: leaver,
				channel: 'email',
				purpose: 'marketing',
				action: 'withdraw',
				evidence: { source: 'test' },
				occurredAt: Date.now(),
			},
		]);

		// A day later: the Wait resumes with the rest.
		const before = smtp.messages.length;
		const later = await runWorkflow(template(), {
			startNode: 'Wait 24 Hours',
			startItems: rest,
			credentials: credentials as never,
		});
		expect(later.error).toBeUndefined();
		const decision = later.json('Pick Winner')[0];
		const rate = (n: number, d: number) => n / d;
		expect(decision).toMatchObject({
			campaign: 'spring-subject',
			metric: 'clicked',
			decision: 'winner',
			winner: 'A',
			rule: { test: 'two-proportion z-test, two-sided, pooled', confidence: 0.95, minPerArm: 50 },
		});
		expect((decision.arms as IDataObject[]).map((a) => [a.variant, a.sent, a.successes])).toEqual([
			['A', armA.length, Math.round(armA.length * 0.4)],
			['B', armB.length, Math.round(armB.length * 0.1)],
		]);
		// Read first: the sentence and one row per arm, in the metric's own word.
		expect(Object.keys(decision).slice(0, 4)).toEqual(['summary', 'decision', 'winner', 'table']);
		expect(String(decision.summary)).toMatch(/^A /);
		expect(decision.table).toEqual([
			{
				arm: 'A',
				sends: armA.length,
				clicks: Math.round(armA.length * 0.4),
				rate: `${((100 * Math.round(armA.length * 0.4)) / armA.length).toFixed(1)} %`,
			},
			{
				arm: 'B',
				sends: armB.length,
				clicks: Math.round(armB.length * 0.1),
				rate: `${((100 * Math.round(armB.length * 0.1)) / armB.length).toFixed(1)} %`,
			},
		]);
		expect(Number((decision.arms as IDataObject[])[0].rate)).toBeCloseTo(
			rate(Math.round(armA.length * 0.4), armA.length),
			10,
		);
		const winnerSent = later.json('Send Winner', 0);
		expect(winnerSent).toHaveLength(rest.length - 1);
		expect(
			later.json('Send Winner', 1).map((j) => [j.id, (j.touchpoint as IDataObject).reason]),
		).toEqual([[leaver, 'WITHDRAWN']]);
		const winnerMails = (await smtp.waitFor(before + rest.length - 1)).slice(before);
		expect(
			winnerMails.every((m) => String(m.subject).startsWith('Our spring collection is here')),
		).toBe(true);
		expect(winnerSent.every((j) => (j.touchpoint as IDataObject).variant === 'A')).toBe(true);
	});
});
