/**
 * In-app messages: Touchpoint push as *In-App Message* sends an FCM data message (no notification)
 * to the person's token through the full push policy, and keeps it in the store's in-app inbox;
 * the app lists and marks read with the inbox code each message carries (signed for that person).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { IDataObject } from 'n8n-workflow';

import { openStore } from '../../nodes/shared/store';
import { manualWorkflow, runWorkflow } from '../harness';
import { grantConsent } from '../helpers/people';
import { FcmMock } from '../mocks';
import { zoneAt } from './template-helpers';

const fcm = new FcmMock();
const databasePath = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cm-inapp-')), 'store.sqlite');
const day = zoneAt((h) => h >= 10 && h < 19);
const night = zoneAt((h) => h >= 1 && h < 6);
let credentials: Record<string, IDataObject>;
beforeAll(async () => {
	await fcm.start();
	credentials = {
		fcmServiceAccountApi: {
			serviceAccountJson: JSON.stringify(fcm.serviceAccount()),
			baseUrl: fcm.baseUrl,
		},
		convergentStoreApi: { storageType: 'embedded', databasePath },
	};
});
afterAll(() => fcm.stop());

const ana = { id: 'app-ana', pushToken: 'tok-ana', timeZone: day };
const ben = { id: 'app-ben', pushToken: 'tok-ben', timeZone: day };
const chloe = { id: 'app-chloe', pushToken: 'tok-chloe', timeZone: night };
const send = (people: IDataObject[]) =>
	runWorkflow(
		manualWorkflow({
			items: people.map((contact) => ({ contact })),
			node: {
				type: 'touchpoint',
				name: 'Send',
				parameters: {
					channel: 'push',
					purpose: 'marketing',
					campaign: 'spring-in-app',
					pushType: 'inApp',
					pushTitle: 'Spring is here',
					text: '20% off serums this week',
					pushImageUrl: 'https://glow.example/spring.png',
					inAppCtaLabel: 'See the offer',
					inAppCtaUrl: 'https://glow.example/spring',
					inAppExpiresHours: 48,
				},
				credentials: { fcmServiceAccountApi: 'FCM', convergentStoreApi: 'Store' },
			},
		}),
		{ credentials: credentials as never },
	);
const inbox = (operation: string, json: IDataObject) =>
	runWorkflow(
		manualWorkflow({
			items: [json],
			node: {
				type: 'touchpointInbox',
				name: 'Inbox',
				parameters: { operation },
				credentials: { convergentStoreApi: 'Store' },
			},
		}),
		{ credentials: credentials as never },
	);

describe('in-app messages', () => {
	it("a data-only FCM message to the token, kept in the person's inbox once; no consent or quiet hours: Not Sent, nothing kept", async () => {
		const store = await openStore({ type: 'embedded', path: databasePath });
		await grantConsent(store, [ana as never, chloe as never], ['push']);
		const before = Date.now();
		const run = await send([ana, ben, chloe]);
		expect(
			run
				.json('Send', 1)
				.map((j) => [(j.contact as IDataObject).id, (j.touchpoint as IDataObject).reason]),
		).toEqual([
			['app-ben', 'NO_CONSENT'],
			['app-chloe', 'QUIET_HOURS'],
		]);
		const sent = fcm.requests.filter((r) => r.body?.message);
		expect(sent).toHaveLength(1);
		const message = sent[0].body.message;
		expect(message.notification).toBeUndefined();
		expect(message.token).toBe('tok-ana');
		expect(message.data).toMatchObject({
			type: 'in_app',
			title: 'Spring is here',
			body: '20% off serums this week',
			imageUrl: 'https://glow.example/spring.png',
			ctaLabel: 'See the offer',
			ctaUrl: 'https://glow.example/spring',
		});
		expect(message.data.id).toMatch(/^iam_[\w-]{22}$/);
		const expires = Date.parse(message.data.expiresAt);
		expect(expires - before).toBeGreaterThanOrEqual(48 * 3_600_000 - 1000);
		expect(expires - before).toBeLessThan(48 * 3_600_000 + 60_000);
		expect(
			(await store.listInAppMessages('app-ana', Date.now(), 10)).map((m) => [
				m.id,
				m.title,
				m.campaign,
			]),
		).toEqual([[message.data.id, 'Spring is here', 'spring-in-app']]);
		expect(await store.listInAppMessages('app-ben', Date.now(), 10)).toEqual([]);
		// The same send again: deduplicated, still one message.
		const again = await send([ana]);
		expect((again.json('Send', 0)[0].touchpoint as IDataObject).deduplicated).toBe(true);
		expect(await store.listInAppMessages('app-ana', Date.now(), 10)).toHaveLength(1);
		// Expired ones are left out.
		expect(await store.listInAppMessages('app-ana', expires + 1, 10)).toEqual([]);
	});

	it("the app lists its messages and marks them read with its inbox code; another person's code sees only theirs; a forged code gets nothing", async () => {
		const message = fcm.requests.filter((r) => r.body?.message)[0].body.message;
		const code = message.data.inboxToken as string;
		const listed = (await inbox('inAppList', { headers: { 'x-inbox-code': code } })).json(
			'Inbox',
		)[0].inbox as IDataObject;
		expect(listed).toMatchObject({
			valid: true,
			unread: 1,
			messages: [
				{
					id: message.data.id,
					title: 'Spring is here',
					ctaUrl: 'https://glow.example/spring',
					read: false,
				},
			],
		});
		const marked = (
			await inbox('inAppRead', {
				headers: { 'x-inbox-code': code },
				body: { ids: [message.data.id, 'iam_not_mine'] },
			})
		).json('Inbox')[0].inbox;
		expect(marked).toEqual({ valid: true, marked: 1 });
		expect(
			(
				(await inbox('inAppList', { headers: { 'x-inbox-code': code } })).json('Inbox')[0]
					.inbox as IDataObject
			).unread,
		).toBe(0);
		// A code for Ben (made by the same store) lists only Ben's (none), and cannot mark Ana's.
		const { inboxKey, signInboxToken } = await import('../../nodes/shared/insights/inapp');
		const store = await openStore({ type: 'embedded', path: databasePath });
		const benCode = signInboxToken(inboxKey(await store.linkKey()), 'app-ben');
		expect(
			(
				(await inbox('inAppList', { headers: { 'x-inbox-code': benCode } })).json('Inbox')[0]
					.inbox as IDataObject
			).messages,
		).toEqual([]);
		expect(
			(
				await inbox('inAppRead', {
					headers: { 'x-inbox-code': benCode },
					body: { ids: [message.data.id] },
				})
			).json('Inbox')[0].inbox,
		).toEqual({ valid: true, marked: 0 });
		const forged = `${code.split('.')[0]}.${Buffer.from('app-ben').toString('base64url')}.${code.split('.')[2]}`;
		expect(
			(await inbox('inAppList', { headers: { 'x-inbox-code': forged } })).json('Inbox')[0].inbox,
		).toEqual({ valid: false, message: 'Not a valid inbox code: nothing listed or changed' });
		// Erasing the person erases their inbox too.
		await store.eraseContact('app-ana', []);
		expect(await store.listInAppMessages('app-ana', Date.now(), 10)).toEqual([]);
	});

	it("one person across devices: after two contacts merge, either app's code lists the person's messages (those sent before the merge too)", async () => {
		const dan = { id: 'app-dan', pushToken: 'tok-dan', timeZone: day };
		const dani = { id: 'app-dani', pushToken: 'tok-dani', timeZone: day };
		const store = await openStore({ type: 'embedded', path: databasePath });
		await grantConsent(store, [dan, dani] as never, ['push']);
		await send([dan]);
		const danCode = fcm.requests.filter((r) => r.body?.message?.token === 'tok-dan').at(-1)!.body
			.message.data.inboxToken as string;
		await store.mergeContacts('app-dan', 'app-dani');
		await send([dani]);
		const daniCode = fcm.requests.filter((r) => r.body?.message?.token === 'tok-dani').at(-1)!.body
			.message.data.inboxToken as string;
		for (const code of [danCode, daniCode]) {
			const listed = (await inbox('inAppList', { headers: { 'x-inbox-code': code } })).json(
				'Inbox',
			)[0].inbox as IDataObject;
			expect((listed.messages as IDataObject[]).length).toBe(2);
		}
	});
});
