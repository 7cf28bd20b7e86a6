/**
 * Template "In-store consultation booking over chat" (workflows/consultation-booking.json): signed
 * WhatsApp webhooks through a real HTTP server into the workflow, the Meta and OpenAI mocks.
 * A question gets an AI reply; "book" starts the form; answers continue it whatever their
 * intent; the booking is confirmed and the run waits until 10:00 Madrid the day before; the
 * reminder (an approved template) goes only to the customer who said yes to reminders.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DateTime } from 'luxon';
import type { IDataObject } from 'n8n-workflow';

import { metaSignature } from '../../nodes/shared/inbound/signatures';
import { openStore } from '../../nodes/shared/store';
import { runWorkflow } from '../harness';
import { startWebhookServer } from '../harness/webhook';
import { MetaGraphMock, OpenAIMock } from '../mocks';
import { loadLive } from './template-helpers';
import { waText, waWebhookBody } from '../helpers/whatsapp';

const FILE = 'consultation-booking.json';
const APP_SECRET = 'fedcbafedcbafedcbafedcbafedcba98';

describe('template: In-store consultation booking over chat', () => {
	const meta = new MetaGraphMock();
	const ai = new OpenAIMock();
	const databasePath = path.join(
		fs.mkdtempSync(path.join(os.tmpdir(), 'cm-tpl5-')),
		'store.sqlite',
	);
	let credentials: Record<string, IDataObject>;
	beforeAll(async () => {
		await Promise.all([meta.start(), ai.start()]);
		credentials = {
			metaWebhookApi: { appSecret: APP_SECRET, verifyToken: 'v' },
			whatsAppCloudApi: {
				accessToken: meta.accessToken,
				phoneNumberId: meta.phoneNumberId,
				apiVersion: 'v21.0',
				baseUrl: meta.baseUrl,
			},
			openAiCompatibleApi: { apiKey: ai.apiKey, baseUrl: `${ai.baseUrl}/v1` },
			convergentStoreApi: { storageType: 'embedded', databasePath },
		};
		ai.responder = (req) => {
			const name = req.response_format?.json_schema?.name;
			const message = String(JSON.parse(req.messages.at(-1).content).message ?? '');
			if (name === 'classification')
				return {
					intent: /book|appointment|cita/i.test(message)
						? 'book'
						: /open|hours/i.test(message)
							? 'opening hours'
							: 'other',
					confidence: 0.9,
				};
			return {
				reply: 'Yes: our Vitamin C serum is in every store.',
				intent: 'product question',
				sentiment: 'neutral',
				handoff: false,
				handoffReason: '',
			};
		};
	});
	afterAll(async () => Promise.all([meta.stop(), ai.stop()]));

	it('answers questions, books over chat, confirms, waits for the day before and reminds only those who said yes', async () => {
		const server = await startWebhookServer(loadLive(FILE), {
			trigger: 'WhatsApp Inbound',
			credentials: credentials as never,
		});
		let n = 0;
		const write = async (waId: string, text: string) => {
			meta.setLastInbound(waId, Date.now());
			const body = waWebhookBody({
				phoneNumberId: meta.phoneNumberId,
				name: 'Lia',
				waId,
				messages: [waText(waId, `wamid.b.${++n}`, text)],
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
			if (run.error) throw run.error;
			const last = meta.requests.at(-1)?.body;
			// A question with choices arrives as WhatsApp reply buttons: its text, then [id: title] per button.
			const said =
				last?.type === 'interactive'
					? `${last.interactive.body.text} ${last.interactive.action.buttons.map((b: { reply: { id: string; title: string } }) => `[${b.reply.id}: ${b.reply.title}]`).join(' ')}`
					: (last?.text?.body as string | undefined);
			return { run, said };
		};
		const day = DateTime.now().setZone('Europe/Madrid').plus({ days: 5 });
		try {
			// Not a booking: an AI answer, no form.
			expect((await write('34611000001', 'Do you sell vitamin C serum?')).said).toBe(
				'Yes: our Vitamin C serum is in every store.',
			);
			// "book" starts the form; the answers (classified "other") continue it.
			expect((await write('34611000001', 'I would like to book a skin consultation')).said).toBe(
				'Lovely! In which store? [centro: Madrid Centro] [sol: Madrid Sol] [bcn: Barcelona Diagonal]',
			);
			expect((await write('34611000001', 'Madrid Sol')).said).toBe(
				'Which day? (e.g. tomorrow or 28/11/2026)',
			);
			expect((await write('34611000001', 'someday')).said).toBe(
				'Sorry, I did not get the date.\nWhich day? (e.g. tomorrow or 28/11/2026)',
			);
			expect((await write('34611000001', day.toFormat('dd/MM/yyyy'))).said).toBe(
				'At what time? We have slots from 10:00 to 19:30.',
			);
			expect((await write('34611000001', '17:30')).said).toBe(
				'What email should we send your booking details to?',
			);
			expect((await write('34611000001', 'lia@example.com')).said).toBe(
				'Shall we remind you the day before? (yes/no) [yes: Yes] [no: No]',
			);
			const done = await write('34611000001', 'yes');
			expect(done.said).toBe(
				`Booked: ${day.toISODate()} at 17:30 in Madrid Sol. See you there! Reply CANCEL to cancel.`,
			);
			expect(done.run.status).toBe('waiting');
			expect(done.run.run.waitTill!.toISOString()).toBe(
				day
					.minus({ days: 1 })
					.set({ hour: 10, minute: 0, second: 0, millisecond: 0 })
					.toUTC()
					.toISO(),
			);

			// A second customer books but does not want a reminder.
			await write('34611000002', 'Can I book an appointment?');
			await write('34611000002', 'Barcelona Diagonal');
			await write('34611000002', day.toFormat('dd/MM/yyyy'));
			await write('34611000002', '11:00');
			await write('34611000002', 'max@example.com');
			const noReminder = await write('34611000002', 'no');
			expect(noReminder.said).toContain('in Barcelona Diagonal');

			const store = await openStore({ type: 'embedded', path: databasePath });
			const service = await store.getConsentStates([
				{ contactId: '+34611000001', channel: 'whatsapp', purpose: 'service' },
				{ contactId: '+34611000002', channel: 'whatsapp', purpose: 'service' },
			]);
			expect([...service.values()].map((s) => s.status)).toEqual(['granted', 'withdrawn']);
			// One person: the email from the form and the WhatsApp number are one contact.
			const [lia] = await store.resolveContacts([
				{ addresses: [{ kind: 'email', value: 'lia@example.com' }] },
			]);
			expect(lia.contactId).toBe('+34611000001');
			expect(
				(await store.getAddresses(['+34611000001'])).map((a) => `${a.kind}:${a.value}`).sort(),
			).toEqual(['email:lia@example.com', 'phone:+34611000001']);

			// The day before: both waiting runs resume (here: from the Wait node with the items it held).
			const before = meta.requests.length;
			const resumed = await runWorkflow(loadLive(FILE), {
				startNode: 'Wait Until Day Before',
				startItems: [
					...done.run.items('Confirm Booking'),
					...noReminder.run.items('Confirm Booking'),
				],
				credentials: credentials as never,
			});
			expect(resumed.error).toBeUndefined();
			expect(
				resumed
					.json('Reminder Check', 1)
					.map((j) => [j.contactId, (j.blocked as IDataObject).reason]),
			).toEqual([['+34611000002', 'WITHDRAWN']]);
			expect(resumed.json('Reminder').map((j) => (j.touchpoint as IDataObject).status)).toEqual([
				'sent',
			]);
			expect(meta.requests.length).toBe(before + 1);
			expect(meta.requests.at(-1)!.body).toMatchObject({
				to: '34611000001',
				type: 'template',
				template: {
					name: 'consultation_reminder',
					components: [
						{
							type: 'body',
							parameters: [
								{ type: 'text', text: 'Madrid Sol' },
								{ type: 'text', text: '17:30' },
							],
						},
					],
				},
			});
			expect(ai.received).toBe(15);
		} finally {
			await server.stop();
		}
	});
});
