/**
 * Where the day's roll-up of old sends runs: on the first node run of the day that opens the store,
 * never inside a webhook's answer (a provider waits for it, and retries what takes too long).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';

import { openStore } from '../../nodes/shared/store';
import { insertRows } from '../../nodes/shared/store/db';
import type { SqlStore } from '../../nodes/shared/store/sql-store';
import { makeNode, manualWorkflow, runWorkflow } from '../harness';
import { startWebhookServer } from '../harness/webhook';
import { postSignedByMeta, waText, waWebhookBody } from '../helpers/whatsapp';

const APP_SECRET = 'abcdef0123456789abcdef0123456789';
const databasePath = path.join(
	fs.mkdtempSync(path.join(os.tmpdir(), 'cm-retention-')),
	'store.sqlite',
);
const credentials = {
	metaWebhookApi: { appSecret: APP_SECRET, verifyToken: 'v' },
	convergentStoreApi: { storageType: 'embedded', databasePath, keepSendDetailMonths: 13 },
};
const DAY = 86_400_000;

async function oldSendsLeft(store: SqlStore): Promise<number> {
	const [r] = await store.db.query<{ n: number }>(
		"SELECT COUNT(*) AS n FROM touches WHERE idempotency_key = 'two-years-ago'",
	);
	return Number(r.n);
}

it('a webhook answer never rolls up old sends; the first node run of the day does', async () => {
	const store = (await openStore({ type: 'embedded', path: databasePath })) as SqlStore;
	const at = Date.now() - 730 * DAY;
	await insertRows(
		store.db,
		'INSERT INTO touches (idempotency_key, contact_id, channel, purpose, campaign, status, created_at, updated_at, sent_at)',
		9,
		[['two-years-ago', 'ana', 'whatsapp', 'marketing', 'winter', 'sent', at, at, at]],
	);

	const trigger = makeNode(
		{
			type: 'touchpointTrigger',
			name: 'Inbound',
			parameters: { provider: 'meta' },
			credentials: { metaWebhookApi: 'Meta', convergentStoreApi: 'Store' },
		},
		[0, 0],
	);
	trigger.webhookId = randomUUID();
	const server = await startWebhookServer(
		{ name: 'inbound', nodes: [trigger], connections: {}, settings: { executionOrder: 'v1' } },
		{ trigger: 'Inbound', credentials },
	);
	try {
		const raw = waWebhookBody({
			phoneNumberId: '1065',
			name: 'Ana',
			waId: '34600111222',
			messages: [waText('34600111222', 'wamid.retention-1', 'hola')],
		});
		const res = await postSignedByMeta(server.url, raw, APP_SECRET);
		expect(res.status).toBe(200);
		await server.settled();
	} finally {
		await server.stop();
	}
	expect(await oldSendsLeft(store)).toBe(1);

	// A node run opens the store: the send two years old becomes daily totals and a kept key.
	const run = await runWorkflow(
		manualWorkflow({
			items: [{}],
			node: {
				type: 'journey',
				parameters: { operation: 'campaignReport' },
				credentials: { convergentStoreApi: 'Store' },
			},
		}),
		{ credentials },
	);
	expect(run.status).toBe('success');
	expect(await oldSendsLeft(store)).toBe(0);
	const [kept] = await store.db.query<{ contact_id: string }>(
		"SELECT contact_id FROM sent_keys WHERE idempotency_key = 'two-years-ago'",
	);
	expect(kept?.contact_id).toBe('ana');
});
