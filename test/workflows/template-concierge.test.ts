/**
 * The WhatsApp AI concierge template with its tools exactly as shipped. n8n's AI Agent is not in
 * the in-process harness, so a stand-in agent takes its place (same name, same tool connections)
 * and makes the calls a model would: it books, then tries to message a friend who never agreed to
 * WhatsApp messages. The tools refuse with the reason, nothing reaches the friend, and only the
 * reply to the person who wrote leaves. The real AI Agent runs the same template in the e2e.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { IDataObject } from 'n8n-workflow';

import { metaSignature } from '../../nodes/shared/inbound/signatures';
import { openStore } from '../../nodes/shared/store';
import type { WorkflowJson } from '../harness';
import { startWebhookServer } from '../harness/webhook';
import { grantConsent } from '../helpers/people';
import { MetaGraphMock } from '../mocks';
import { dropNodes, loadLive } from './template-helpers';
import { waText, waWebhookBody } from '../helpers/whatsapp';

const AI_FIXTURES = path.join(__dirname, '..', 'fixtures', 'ai-package');
const APP_SECRET = 'abcdefabcdefabcdefabcdefabcdef34';
const meta = new MetaGraphMock();
const databasePath = path.join(
	fs.mkdtempSync(path.join(os.tmpdir(), 'cm-concierge-')),
	'store.sqlite',
);
let credentials: Record<string, IDataObject>;

beforeAll(async () => {
	await meta.start();
	credentials = {
		metaWebhookApi: { appSecret: APP_SECRET, verifyToken: 'v' },
		whatsAppCloudApi: {
			accessToken: meta.accessToken,
			phoneNumberId: meta.phoneNumberId,
			apiVersion: 'v21.0',
			baseUrl: meta.baseUrl,
		},
		convergentStoreApi: { storageType: 'embedded', databasePath },
	};
});
afterAll(async () => meta.stop());

/** The template with the stand-in agent in the AI Agent's place, making `calls` and answering `answer`. */
function withAgent(
	calls: Array<{ tool: string; args: IDataObject }>,
	answer: string,
): WorkflowJson {
	const wf = loadLive('whatsapp-ai-concierge.json') as WorkflowJson;
	const agent = wf.nodes.find((n) => n.name === 'Concierge')!;
	Object.assign(agent, {
		type: 'harness-ai-fixture-nodes.harnessAgent',
		typeVersion: 1,
		parameters: { calls: JSON.stringify(calls), answer },
	});
	// The Try It agent (n8n's, with the Sample Chat Model) is not in the harness: left out, with
	// the tools' connections to it.
	dropNodes(wf, new Set(['Chat Model', 'Concierge (Sample Model)', 'Sample Chat Model']));
	return wf;
}

describe('template: WhatsApp AI concierge', () => {
	it('books through Track Booking; a message to a friend is refused by the tools (they act only for the person of the conversation) and never sent; the reply goes to the sender', async () => {
		const store = await openStore({ type: 'embedded', path: databasePath });
		// The friend agreed to SMS only.
		await grantConsent(store, [{ id: 'crm-ben', phone: '+34622000111' } as never], ['sms']);
		const answer =
			'Booked: Friday at 17:00. I could not send the offer to your friend: they have not agreed to WhatsApp messages from us.';
		const wf = withAgent(
			[
				{ tool: 'Track_Booking', args: { contactId: '+34611000222', event: 'booked' } },
				{ tool: 'Check_Consent', args: { contact: '+34 622 000 111' } },
				{
					tool: 'Send_Follow-Up',
					args: {
						contact: '+34622000111',
						text: 'Your friend Ana thinks you will love our spring offer: 20% off facials!',
					},
				},
			],
			answer,
		);
		const server = await startWebhookServer(wf, {
			trigger: 'WhatsApp Inbound',
			credentials: credentials as never,
			extraPackages: [AI_FIXTURES],
		});
		try {
			meta.setLastInbound('34611000222', Date.now());
			const message = waText(
				'34611000222',
				'wamid.concierge.1',
				'Book me a facial on Friday at 5pm, and send the spring offer to my friend +34 622 000 111',
			);
			const body = waWebhookBody({
				phoneNumberId: meta.phoneNumberId,
				name: 'Ana',
				waId: '34611000222',
				messages: [message],
			});
			const res = await fetch(server.url, {
				method: 'POST',
				headers: {
					'content-type': 'application/json',
					'x-hub-signature-256': metaSignature(APP_SECRET, body),
				},
				body,
			});
			expect(res.status).toBe(200);
			await server.settled();
			const run = server.runs.at(-1)!;
			expect(run.error).toBeUndefined();
			const steps = run.json('Concierge')[0].steps as IDataObject[];
			expect(
				steps.map((s) => [
					s.tool,
					((s.result as IDataObject[]) ?? [])[0]?.status ??
						((s.result as IDataObject[]) ?? [])[0]?.outcome,
				]),
			).toEqual([
				['Track_Booking', 'Track Event'],
				['Check_Consent', 'refused'],
				['Send_Follow-Up', 'refused'],
			]);
			// Before, the tools answered about the friend (blocked NO_CONSENT): another person's consent handed to the model.
			for (const step of steps.slice(1))
				expect((step.result as IDataObject[])[0]).toMatchObject({
					message:
						'An AI agent reads and acts only for the person it is talking with, and this names someone else. Nothing was read or changed.',
				});
			// The model reads what each tool takes.
			expect(steps.map((s) => s.schema)).toEqual([
				['contactId', 'event'],
				['contact'],
				['contact', 'text'],
			]);
			// Only the reply to Ana left; nothing to Ben.
			expect(
				meta.requests
					.filter((r) => r.path.endsWith('/messages'))
					.map((r) => [r.body.to, r.body.text?.body]),
			).toEqual([['34611000222', answer]]);
			expect(
				(await store.getJourneyStates('Salon', ['+34611000222'])).get('+34611000222')?.stage,
			).toBe('Booked');
		} finally {
			await server.stop();
		}
	});

	it("Record Opt-Out withdraws the sender's WhatsApp marketing consent when they ask in their own words", async () => {
		const store = await openStore({ type: 'embedded', path: databasePath });
		await grantConsent(
			store,
			[{ id: '+34611000333', phone: '+34611000333' } as never],
			['whatsapp'],
		);
		const wf = withAgent(
			[{ tool: 'Record_Opt-Out', args: { contact: '+34611000333' } }],
			'Done: you will not get offers from us on WhatsApp any more.',
		);
		const server = await startWebhookServer(wf, {
			trigger: 'WhatsApp Inbound',
			credentials: credentials as never,
			extraPackages: [AI_FIXTURES],
		});
		try {
			meta.setLastInbound('34611000333', Date.now());
			const message = waText(
				'34611000333',
				'wamid.concierge.2',
				'por favor no me mandéis más ofertas',
			);
			const body = waWebhookBody({
				phoneNumberId: meta.phoneNumberId,
				name: 'Eva',
				waId: '34611000333',
				messages: [message],
			});
			await fetch(server.url, {
				method: 'POST',
				headers: {
					'content-type': 'application/json',
					'x-hub-signature-256': metaSignature(APP_SECRET, body),
				},
				body,
			});
			await server.settled();
			const states = await store.getConsentStates([
				{ contactId: '+34611000333', channel: 'whatsapp', purpose: 'marketing' },
			]);
			expect([...states.values()][0].status).toBe('withdrawn');
			expect((await store.exportContact('+34611000333')).consentLedger.at(-1)).toMatchObject({
				action: 'withdraw',
				evidence: expect.objectContaining({ source: 'ai-concierge', actor: 'ai-agent' }),
			});
		} finally {
			await server.stop();
		}
	});

	it("Send Follow-Up sends for real to the person of the conversation when the run did not start from Try It (its Dry Run reads $('Try It'))", async () => {
		const store = await openStore({ type: 'embedded', path: databasePath });
		await grantConsent(
			store,
			[{ id: '+34611000444', phone: '+34611000444' } as never],
			['whatsapp'],
		);
		const wf = withAgent(
			[
				{
					tool: 'Send_Follow-Up',
					args: { contact: '+34611000444', text: 'Your facial is on Friday at 17:00.' },
				},
			],
			'I have sent you the details.',
		);
		// What this checks is Dry Run, not the clock: quiet hours off for this one send.
		const tool = wf.nodes.find((n) => n.name === 'Send Follow-Up')!;
		tool.parameters.quietHours = { enabled: false };
		const server = await startWebhookServer(wf, {
			trigger: 'WhatsApp Inbound',
			credentials: credentials as never,
			extraPackages: [AI_FIXTURES],
		});
		try {
			meta.setLastInbound('34611000444', Date.now());
			const body = waWebhookBody({
				phoneNumberId: meta.phoneNumberId,
				name: 'Cai',
				waId: '34611000444',
				messages: [waText('34611000444', 'wamid.concierge.3', 'Can you send me the details?')],
			});
			await fetch(server.url, {
				method: 'POST',
				headers: {
					'content-type': 'application/json',
					'x-hub-signature-256': metaSignature(APP_SECRET, body),
				},
				body,
			});
			await server.settled();
			const run = server.runs.at(-1)!;
			expect(run.error).toBeUndefined();
			const [step] = run.json('Concierge')[0].steps as IDataObject[];
			expect(((step.result as IDataObject[]) ?? [])[0]?.status).toBe('sent');
			expect(
				meta.requests
					.filter((r) => r.path.endsWith('/messages') && r.body.to === '34611000444')
					.map((r) => r.body.text?.body),
			).toEqual(['Your facial is on Friday at 17:00.', 'I have sent you the details.']);
		} finally {
			await server.stop();
		}
	});
});
