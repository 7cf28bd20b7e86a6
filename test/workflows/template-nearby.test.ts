/**
 * The "Nearby store" template on its real path: signed WhatsApp location messages through the
 * Touchpoint Trigger. Near a store, a consented person gets one offer naming the store and the
 * distance; a second location in the same visit sends nothing more; far away, nothing; near but
 * without consent, Not Sent. Try It's path is in templates-try-it.test.ts.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { IDataObject } from 'n8n-workflow';

import { metaSignature } from '../../nodes/shared/inbound/signatures';
import { openStore } from '../../nodes/shared/store';
import { startWebhookServer } from '../harness/webhook';
import { grantConsent } from '../helpers/people';
import { MetaGraphMock } from '../mocks';
import { loadLive, zoneAt } from './template-helpers';
import { waWebhookBody } from '../helpers/whatsapp';

const APP_SECRET = 'abcdefabcdefabcdefabcdefabcdef56';
const meta = new MetaGraphMock();
const databasePath = path.join(
	fs.mkdtempSync(path.join(os.tmpdir(), 'cm-nearby-')),
	'store.sqlite',
);
const day = zoneAt((h) => h >= 10 && h < 19);

beforeAll(() => meta.start());
afterAll(() => meta.stop());

describe('template: Nearby store', () => {
	it('near Glow Sol: one offer with the store and the distance, once per visit; far away or without consent: nothing leaves', async () => {
		const store = await openStore({ type: 'embedded', path: databasePath });
		await grantConsent(
			store,
			[
				{ id: '+34600300001', phone: '+34600300001' } as never,
				{ id: '+34600300002', phone: '+34600300002' } as never,
			],
			['whatsapp'],
		);
		await store.upsertProfiles([
			{ contactId: '+34600300001', timeZone: day },
			{ contactId: '+34600300002', timeZone: day },
			{ contactId: '+34600300003', timeZone: day },
		]);
		const credentials = {
			metaWebhookApi: { appSecret: APP_SECRET, verifyToken: 'v' },
			whatsAppCloudApi: {
				accessToken: meta.accessToken,
				phoneNumberId: meta.phoneNumberId,
				apiVersion: 'v21.0',
				baseUrl: meta.baseUrl,
			},
			convergentStoreApi: { storageType: 'embedded', databasePath },
		};
		const server = await startWebhookServer(loadLive('nearby-store.json'), {
			trigger: 'WhatsApp Inbound',
			credentials: credentials as never,
		});
		let n = 0;
		const share = async (waId: string, name: string, latitude: number, longitude: number) => {
			meta.setLastInbound(waId, Date.now());
			const message = {
				from: waId,
				id: `wamid.nearby.${++n}`,
				timestamp: String(Math.floor(Date.now() / 1000)),
				type: 'location',
				location: { latitude, longitude },
			};
			const body = waWebhookBody({
				phoneNumberId: meta.phoneNumberId,
				name: name,
				waId,
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
			return server.runs.at(-1)!;
		};
		const offers = () =>
			meta.requests
				.filter((r) => r.path.endsWith('/messages'))
				.map((r) => [r.body.to, r.body.text?.body]);
		try {
			// 0.0009 degrees north of Glow Sol: 100 m (100.075 by hand).
			const near = await share('34600300001', 'Ana', 40.417675, -3.70379);
			expect(near.json('Nearest Store', 0)[0].nearestStore as IDataObject).toMatchObject({
				name: 'Glow Sol',
				distanceMeters: 100,
				near: true,
			});
			expect(offers()).toEqual([
				[
					'34600300001',
					'Hi Ana, you are 100 m from Glow Sol (Puerta del Sol 1, Madrid). Show this message there today for a free skin check.',
				],
			]);
			// Still around the store twenty minutes later: the same visit, nothing more.
			const again = await share('34600300001', 'Ana', 40.4171, -3.7036);
			expect(again.json('Send Offer', 0)[0].touchpoint as IDataObject).toMatchObject({
				status: 'sent',
				deduplicated: true,
			});
			expect(offers()).toHaveLength(1);
			// Almost 3 km from the nearest store: nothing.
			const far = await share('34600300002', 'Ben', 40.45, -3.69);
			expect(far.json('Nearest Store', 1)[0].nearestStore).toMatchObject({
				name: 'Glow Salamanca',
				near: false,
				distanceMeters: 2777,
			});
			// Near Glow Salamanca, but never said yes to WhatsApp offers.
			const noConsent = await share('34600300003', 'Cai', 40.4253, -3.6876);
			expect(noConsent.json('Send Offer', 1)[0].touchpoint).toMatchObject({ reason: 'NO_CONSENT' });
			expect(offers()).toHaveLength(1);
		} finally {
			await server.stop();
		}
	});
});
