/**
 * Every template's "Try It" path, as a marketer runs it on first open: only the Convergent Store
 * credential that `npm start` creates, no provider or AI credential, no outside service. Each run
 * shows Allowed and Blocked people with their reasons, previews instead of sending, and a second
 * run gives the same answers (a preview frees its place under the caps).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { IDataObject } from 'n8n-workflow';

import { runWorkflow, type RunResult } from '../harness';
import { dropNodes, loadTemplate } from './template-helpers';

const databasePath = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cm-try-')), 'store.sqlite');
const credentials = { convergentStoreApi: { storageType: 'embedded', databasePath } };

/**
 * The template as `npm start` imports it: every credential but the store's removed. n8n's own AI
 * nodes are left out here (the harness has not got them): the browser test runs Try It in the real
 * n8n with them, the concierge's AI Agent answering with the Sample Chat Model, and
 * unit/ai/sample-chat-model.test.ts runs that model in LangChain's own tool-calling agent.
 */
function asImported(file: string) {
	const wf = loadTemplate(file);
	const ai = new Set(
		wf.nodes.filter((n) => n.type.startsWith('@n8n/n8n-nodes-langchain.')).map((n) => n.name),
	);
	dropNodes(wf, ai);
	for (const n of wf.nodes) {
		if (!n.credentials) continue;
		n.credentials = Object.fromEntries(
			Object.entries(n.credentials).filter(([type]) => type === 'convergentStoreApi'),
		);
		if (Object.keys(n.credentials).length === 0) delete n.credentials;
	}
	return wf;
}
const tryIt = (file: string) =>
	runWorkflow(asImported(file), { startNode: 'Try It', credentials: credentials as never });

const idOf = (j: IDataObject) =>
	String(
		(j.body as IDataObject | undefined)?.contact
			? ((j.body as IDataObject).contact as IDataObject).id
			: (j.id ?? j.contactId ?? (j.contact as IDataObject | undefined)?.id),
	);
const nameOf = (j: IDataObject) => String((j.contact as IDataObject | undefined)?.name ?? '');
const reasons = (run: RunResult, node: string, output: number, who = idOf) =>
	Object.fromEntries(
		run
			.json(node, output)
			.map((j) => [
				who(j),
				String(
					(j.blocked as IDataObject | undefined)?.reason ??
						(j.touchpoint as IDataObject | undefined)?.reason,
				),
			]),
	);
const previewed = (run: RunResult, node: string, who = idOf) =>
	run.json(node, 2).map((j) => [who(j), (j.touchpoint as IDataObject).channel]);

function expectClean(run: RunResult) {
	expect(run.error).toBeUndefined();
	const failed = Object.entries(run.runData)
		.filter(([, tasks]) => tasks.some((t) => t.error))
		.map(([n]) => n);
	expect(failed).toEqual([]);
}

describe('templates: Try It, with no provider credential', () => {
	it('Abandoned cart: Ana previewed by email; Ben, Chloe, Dan and Eva blocked with their reasons; the same on a second run', async () => {
		for (const attempt of [1, 2]) {
			const run = await tryIt('abandoned-cart.json');
			expectClean(run);
			expect({ attempt, blocked: reasons(run, 'Consent Guard', 1) }).toEqual({
				attempt,
				blocked: {
					'sample-ben': 'WITHDRAWN',
					'sample-chloe': 'QUIET_HOURS',
					'sample-dan': 'FREQUENCY_CAP',
					'sample-eva': 'NO_CONSENT',
				},
			});
			expect(previewed(run, 'Send Best Channel')).toEqual([['sample-ana', 'email']]);
			const tp = run.json('Send Best Channel', 2)[0].touchpoint as IDataObject;
			// The preview reads like the reminder Ana would get: written sample copy, labelled.
			expect(String(run.json('Send Best Channel', 2)[0].preview)).toMatch(
				/^To ana@example\.com\nFrom: <From email>\nSubject: Still thinking it over\?\n\n\[Sample\] Ana, your cart is waiting for you\./,
			);
			expect(tp.credential).toBe('not set: Convergent SMTP API');
			// A preview is not a send: nothing reaches the journey.
			expect(run.runData.Reminded).toBeUndefined();
		}
	});

	it("WhatsApp AI concierge: the agent's Check Consent tool answers Allowed for Ana and Blocked NO_CONSENT for Ben; Ana's follow-up previewed; the same on a second run", async () => {
		for (const attempt of [1, 2]) {
			const run = await tryIt('whatsapp-ai-concierge.json');
			expectClean(run);
			expect({ attempt, blocked: reasons(run, "Check Consent (Agent's Tool)", 1) }).toEqual({
				attempt,
				blocked: { 'sample-ben': 'NO_CONSENT' },
			});
			expect(previewed(run, 'Send Follow-Up (Preview)')).toEqual([['sample-ana', 'whatsapp']]);
		}
	});

	it('A/B test, then the winner: Ana lands in B, Chloe and Dan in A (Chloe previewed, Dan FREQUENCY_CAP); the rest ends at No Clear Winner (nothing was sent)', async () => {
		for (const attempt of [1, 2]) {
			const run = await tryIt('ab-test-then-winner.json');
			expectClean(run);
			expect({
				attempt,
				a: reasons(run, 'Send A', 1),
				previewA: previewed(run, 'Send A'),
				b: previewed(run, 'Send B'),
			}).toEqual({
				attempt,
				a: { 'sample-dan': 'FREQUENCY_CAP' },
				previewA: [['sample-chloe', 'email']],
				b: [['sample-ana', 'email']],
			});
			expect(run.json('A/B Split', 2).map(idOf)).toEqual(['sample-ben', 'sample-eva']);
			expect(run.json('Pick Winner')[0]).toMatchObject({
				summary: 'Not enough data yet: no arm has sends (previews do not count)',
				decision: 'not_enough_data',
				winner: null,
				table: [],
			});
			expect(run.json('No Clear Winner').map(idOf)).toEqual(['sample-ben', 'sample-eva']);
		}
	});

	it('Nearby store: Ana near Glow Sol previewed, Ben not near, Chloe, Dan and Eva Not Sent with their reasons; the same on a second run', async () => {
		for (const attempt of [1, 2]) {
			const run = await tryIt('nearby-store.json');
			expectClean(run);
			expect({ attempt, blocked: reasons(run, 'Send Offer', 1) }).toEqual({
				attempt,
				blocked: {
					'sample-chloe': 'QUIET_HOURS',
					'sample-dan': 'FREQUENCY_CAP',
					'sample-eva': 'WITHDRAWN',
				},
			});
			expect(previewed(run, 'Send Offer')).toEqual([['sample-ana', 'whatsapp']]);
			expect(run.json('Not Near a Store').map(idOf)).toEqual(['sample-ben']);
		}
	});

	it("Click tracking: Ana's previewed email carries her tracked link, which records her click and redirects; Fay's forged link is refused", async () => {
		const run = await tryIt('click-tracking.json');
		expectClean(run);
		expect(run.json('Valid Link?', 0).map((j) => [idOf(j), (j.click as IDataObject).url])).toEqual([
			['sample-ana', 'https://glow.example/spring'],
		]);
		expect(
			run.json('Valid Link?', 1).map((j) => [idOf(j), (j.click as IDataObject).valid]),
		).toEqual([['sample-fay', false]]);
		expect(run.json('Score the Click').map((j) => (j.engagement as IDataObject).events)).toEqual([
			1,
		]);
	});

	it("In-app inbox: Ana's in-app message previewed with her inbox code, which her app uses (Valid Code, nothing kept by a preview); Fay's forged code gets nothing", async () => {
		const run = await tryIt('in-app-inbox.json');
		expectClean(run);
		const preview = run.json('In-App Message', 2)[0].touchpoint as IDataObject;
		expect((preview.message as IDataObject).data).toMatchObject({
			type: 'in_app',
			title: 'Spring is here, Ana',
			ctaUrl: 'https://glow.example/spring',
		});
		expect(run.json('Valid Code?', 0).map((j) => j.inbox)).toEqual([
			{ valid: true, unread: 0, messages: [] },
		]);
		expect(run.json('Valid Code?', 1).map((j) => (j.inbox as IDataObject).valid)).toEqual([false]);
	});

	it("Personalised recommendations: Ana's push previewed; the others Not Sent with their reasons", async () => {
		const run = await tryIt('personalised-recommendations.json');
		expectClean(run);
		expect(previewed(run, 'Push or Email')).toEqual([['sample-ana', 'push']]);
		expect(reasons(run, 'Push or Email', 1)).toEqual({
			'sample-ben': 'WITHDRAWN',
			'sample-chloe': 'QUIET_HOURS',
			'sample-dan': 'FREQUENCY_CAP',
			'sample-eva': 'NO_CONSENT',
		});
	});

	it('Win-back: the sample customers are scored, the At risk ones checked: Ana previewed, the others blocked with their reasons', async () => {
		for (const attempt of [1, 2]) {
			const run = await tryIt('win-back.json');
			expectClean(run);
			expect(run.outputs('RFM').map((out) => out.map((i) => i.json.firstName))).toEqual([
				['Ana', 'Ben', 'Chloe', 'Dan', 'Eva'],
				[],
				['Fay', 'Gus', 'Hana', 'Ivo'],
			]);
			expect({ attempt, blocked: reasons(run, 'Consent Guard', 1) }).toEqual({
				attempt,
				blocked: {
					'sample-ben': 'WITHDRAWN',
					'sample-chloe': 'QUIET_HOURS',
					'sample-dan': 'FREQUENCY_CAP',
					'sample-eva': 'NO_CONSENT',
				},
			});
			expect(previewed(run, 'Send Win-back')).toEqual([['sample-ana', 'email']]);
			expect(run.runData['Get Customers']).toBeUndefined();
			expect(run.runData['Win-back Sent']).toBeUndefined();
		}
	});

	it("Welcome: Ana's welcome previewed; the others blocked; nobody waits for a morning or three days", async () => {
		const run = await tryIt('welcome-double-opt-in.json');
		expectClean(run);
		expect(reasons(run, 'Check Welcome', 1)).toEqual({
			'sample-ben': 'WITHDRAWN',
			'sample-chloe': 'QUIET_HOURS',
			'sample-dan': 'FREQUENCY_CAP',
			'sample-eva': 'NO_CONSENT',
		});
		expect(previewed(run, 'Welcome')).toEqual([['sample-ana', 'email']]);
		expect(run.runData['Wait Until Morning']).toBeUndefined();
		expect(run.runData['Wait 3 Days']).toBeUndefined();
	});

	it("WhatsApp lead capture: Ana gets the form's first question, Ben's STOP is confirmed, Chloe gets a sample AI reply, Dan's window is closed", async () => {
		const run = await tryIt('whatsapp-lead-capture.json');
		expectClean(run);
		expect(run.json('Ask', 2).map((j) => [nameOf(j), (j.reply as IDataObject).text])).toEqual([
			['Ana', 'Hi! What is your name?'],
		]);
		expect(
			run.json('Ask', 1).map((j) => [nameOf(j), (j.touchpoint as IDataObject).reason]),
		).toEqual([['Dan', 'WINDOW_CLOSED']]);
		expect(previewed(run, 'Confirm Opt-out', nameOf)).toEqual([['Ben', 'whatsapp']]);
		expect(
			run
				.json('Send AI Reply', 2)
				.map((j) => [nameOf(j), String((j.ai as IDataObject).reply).slice(0, 34)]),
		).toEqual([['Chloe', '[Sample reply] Happy to help! Some']]);
		expect(run.json('Record Sample Messages', 0).find((j) => nameOf(j) === 'Ben')).toMatchObject({
			keyword: 'stop',
		});
	});

	it("One-click unsubscribe: Ana's previewed email carries her signed link, which unsubscribes her; Fay's forged link changes nothing", async () => {
		for (const attempt of [1, 2]) {
			// Consent follows event time to the second, a tie counting as a withdrawal: the second try
			// re-grants Ana a second after the first one unsubscribed her, as a person clicking again would.
			if (attempt === 2) await new Promise((r) => setTimeout(r, 1100));
			const run = await tryIt('one-click-unsubscribe.json');
			expectClean(run);
			const email = (run.json('Sample Email', 2)[0].touchpoint as IDataObject).email as IDataObject;
			expect(String((email.headers as IDataObject)['List-Unsubscribe'])).toMatch(
				/^<https:\/\/n8n\.example\.com\/webhook\/unsubscribe\?token=u1\./,
			);
			expect({
				attempt,
				outcomes: run
					.json('Unsubscribe', 0)
					.map((j) => [idOf(j), (j.unsubscribe as IDataObject).outcome]),
			}).toEqual({
				attempt,
				outcomes: [
					['sample-ana', 'unsubscribed'],
					['sample-fay', 'invalid'],
				],
			});
			expect(run.json('Valid Link?', 0).map(idOf)).toEqual(['sample-ana']);
			expect(run.json('Valid Link?', 1).map(idOf)).toEqual(['sample-fay']);
		}
	});

	it("Consultation booking: Ana's booking starts, Ben gets a sample AI reply, Dan's window is closed", async () => {
		const run = await tryIt('consultation-booking.json');
		expectClean(run);
		expect(
			run.json('Intent', 0).map((j) => [nameOf(j), (j.classification as IDataObject).intent]),
		).toEqual([
			['Ana', 'book'],
			['Ben', 'opening hours'],
			['Dan', 'book'],
		]);
		expect(previewed(run, 'Ask', nameOf)).toEqual([['Ana', 'whatsapp']]);
		expect(
			run.json('Ask', 1).map((j) => [nameOf(j), (j.touchpoint as IDataObject).reason]),
		).toEqual([['Dan', 'WINDOW_CLOSED']]);
		expect(previewed(run, 'Send AI Reply', nameOf)).toEqual([['Ben', 'whatsapp']]);
	});

	it('Campaign report page, after every other template tried in the same store: Kim WITHDRAWN, Lou NO_CONSENT, the report counting them; the same on a second run', async () => {
		// Its sample people are its own: another template's person of the same ID (win-back's
		// recent customers had email consent) would change its answers.
		for (const attempt of [1, 2]) {
			const run = await tryIt('campaign-report-page.json');
			expectClean(run);
			expect({ attempt, blocked: reasons(run, 'Check Spring Sale', 1) }).toEqual({
				attempt,
				blocked: { 'sample-report-kim': 'WITHDRAWN', 'sample-report-lou': 'NO_CONSENT' },
			});
			const rows = run.json('Campaign Report')[0].rows as IDataObject[];
			expect(rows.find((r) => r.campaign === 'spring-sale' && r.channel === 'email')).toMatchObject(
				{
					sent: 2,
				},
			);
		}
	});
});
