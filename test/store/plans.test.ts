/**
 * No statement on the Check, send and report paths reads a whole table, on either engine: every
 * one is explained with its own parameters (as the store ran it) and must find its rows by an
 * index. On PostgreSQL twice: with statistics that say the tables are empty while they are not
 * (a new store, a truncate or a bulk load before autovacuum: when the planner picks scans) and
 * with real statistics. SQLite plans by the schema alone (the store keeps no statistics tables),
 * so its plans here are its plans at any size; the history benchmark checks both at 1M people and
 * 5M touches.
 */
import { checkBatch, resolveRequests } from '../../nodes/shared/policy';
import { channelBookAddress } from '../../nodes/shared/people';
import { insertRows } from '../../nodes/shared/store/db';
import type { SqlStore } from '../../nodes/shared/store/sql-store';
import { recordStatements, statementsThatScan } from '../harness/plans';
import { backends, useStore } from './helpers';

const DAY = 86_400_000;
const PEOPLE = 600;
const phone = (i: number) => `+3461${String(1000000 + i).padStart(7, '0')}`;

async function seed(store: SqlStore, now: number): Promise<void> {
	const people = Array.from({ length: PEOPLE }, (_, i) => ({ id: `p${i}`, phone: phone(i) }));
	await store.resolveContacts(
		people.map((p) => ({ id: p.id, addresses: [channelBookAddress(p, 'sms')!] })),
		{ create: true, link: true, source: 'plans' },
	);
	await store.recordConsent(
		people.map((p) => ({
			contactId: p.id,
			channel: 'sms' as const,
			purpose: 'marketing' as const,
			action: 'grant' as const,
			address: p.phone,
			evidence: { source: 'plans' },
			occurredAt: now - 400 * DAY,
		})),
	);
	await store.addSuppressions(
		people
			.slice(0, 50)
			.map((p) => ({ address: p.phone, channel: 'sms' as const, reason: 'manual' })),
	);
	await store.eraseContact('p599', [phone(599)]);
	const touches = Array.from({ length: 3000 }, (_, i) => {
		const at = now - Math.floor((i / 3000) * 365 * DAY);
		return [
			`k${i}`,
			`p${i % PEOPLE}`,
			'sms',
			'marketing',
			`c${i % 7}`,
			'sent',
			'delivered',
			i % 2 ? 'A' : 'B',
			at,
			at,
			at,
		];
	});
	for (let i = 0; i < touches.length; i += 500)
		await insertRows(
			store.db,
			'INSERT INTO touches (idempotency_key, contact_id, channel, purpose, campaign, status, delivery_status, variant, created_at, updated_at, sent_at)',
			11,
			touches.slice(i, i + 500),
		);
	await store.recordInbound(
		people.slice(0, 100).map((p) => ({ contactId: p.id, channel: 'sms' as const, at: now - DAY })),
	);
	await store.countBlocked([{ campaign: 'c1', channel: 'sms', reason: 'NO_CONSENT', at: now }]);
}

/** One Check (people resolved, zones from profiles, caps and reservation), one send's claim and outcome, every report. */
async function hotPaths(store: SqlStore, now: number): Promise<void> {
	const requests = Array.from({ length: 400 }, (_, i) => ({
		contact: { id: `p${i}`, phone: phone(i) },
		channel: 'sms' as const,
		purpose: 'marketing' as const,
		campaign: 'plans',
	}));
	const settings = {
		now,
		caps: [{ id: 'two-a-week', max: 2, windowMs: 7 * DAY, purpose: 'marketing' as const }],
		quietHours: { sms: { start: '00:00', end: '23:59' } },
		defaultZone: 'UTC',
	};
	const prepared = await resolveRequests(store, requests, { quietChannels: ['sms'] });
	const decisions = await checkBatch(
		store,
		prepared.requests,
		{ ...settings, quietHours: {} },
		prepared.preloaded,
	);
	const keys = decisions.flatMap((d) => (d.allowed && d.idempotencyKey ? [d.idempotencyKey] : []));
	expect(keys.length).toBeGreaterThan(100);
	await store.claimTouches(keys.slice(0, 10), now);
	await store.completeTouch(keys[0], { status: 'sent', providerMessageId: 'SM-plans-1' });
	await store.completeTouch(keys[1], { status: 'failed', errorCode: '21610' });
	await store.updateDeliveryStatus('SM-plans-1', 'delivered');
	const report = { replyWindowMs: 48 * 3_600_000, conversionWindowMs: 7 * DAY, journey: 'Shop' };
	for (const since of [now - 30 * DAY, now - 365 * DAY]) {
		await store.campaignReport({ since, ...report });
		await store.campaignReport({ since, campaign: 'c3', ...report });
		await store.campaignReport({ since, campaign: '', ...report });
	}
	for (const metric of ['delivered', 'read', 'clicked', 'replied', 'converted'] as const)
		await store.abTestResults('c3', metric, { windowMs: 7 * DAY, journey: 'Shop' });
}

describe.each(backends())('query plans on %s', (_name, makeBackend) => {
	const s = useStore(makeBackend);

	it('no statement of the Check, the send or the reports reads a whole table', async () => {
		const { store } = s();
		const now = Date.now();
		// Statistics taken while the tables are empty, then rows loaded: what a new store or a bulk
		// load looks like to PostgreSQL's planner until autovacuum comes by.
		if (store.dialect === 'postgres') await store.db.exec('ANALYZE');
		await seed(store, now);
		const statements = await recordStatements(store.db, () => hotPaths(store, now));
		// The paths were really recorded: reads and writes of the gate, the send and the report.
		const text = statements.map((x) => x.sql).join('\n');
		for (const table of [
			'consent_state',
			'suppressions',
			'erased_addresses',
			'touches',
			'blocked_counts',
			'contacts',
		])
			expect(text).toContain(table);
		expect(await statementsThatScan(store.db, statements)).toEqual([]);
		if (store.dialect === 'postgres') {
			await store.db.exec('ANALYZE');
			expect(await statementsThatScan(store.db, statements)).toEqual([]);
		}
	});
});
