/**
 * The Store contract, run against SQLite and PostgreSQL alike.
 */

import { MIGRATIONS, migrate } from '../../nodes/shared/store/migrations';
import type { SqlStore } from '../../nodes/shared/store/sql-store';
import type { FrequencyCapRule, ReservationRequest } from '../../nodes/shared/store/types';
import { consentKeyString } from '../../nodes/shared/store/types';
import { backends, dropSchema, inWorker, type Backend } from './helpers';

const DAY = 86400_000;

const T0 = Date.UTC(2026, 10, 2, 10, 0, 0);
const marketing2per7d: FrequencyCapRule = {
	id: 'marketing-2-per-7d',
	max: 2,
	windowMs: 7 * DAY,
	purpose: 'marketing',
};
const push1perDay: FrequencyCapRule = {
	id: 'push-1-per-day',
	max: 1,
	windowMs: DAY,
	channel: 'push',
};

function req(
	contactId: string,
	key: string,
	extra: Partial<ReservationRequest> = {},
): ReservationRequest {
	return {
		idempotencyKey: key,
		contactId,
		channel: 'sms',
		purpose: 'marketing',
		caps: [marketing2per7d],
		...extra,
	};
}

describe.each(backends())('Store contract on %s', (_name, makeBackend) => {
	let backend: Backend;
	let store: SqlStore;

	beforeAll(async () => {
		backend = makeBackend();
		store = await backend.open();
	});
	afterAll(async () => backend.cleanup());

	it('migrations are idempotent, and two processes migrating a new store at once both come up', async () => {
		await store.init();
		expect(
			(await store.db.query<{ id: string }>('SELECT id FROM schema_migrations ORDER BY id')).map(
				(r) => r.id,
			),
		).toEqual(MIGRATIONS.map((m) => m.id));
		const fresh =
			backend.config.type === 'embedded'
				? { ...backend.config, path: backend.config.path.replace(/\.sqlite$/, '-fresh.sqlite') }
				: { ...backend.config, schema: `${backend.config.schema}_fresh` };
		const code = `
			const { parentPort, workerData } = require('node:worker_threads');
			const { openStore } = require(workerData.storeModule);
			openStore(workerData.config)
				.then(async (s) => { const n = (await s.db.query('SELECT id FROM schema_migrations')).length; await s.close(); parentPort.postMessage(n); })
				.catch((e) => parentPort.postMessage('error: ' + e.message));
		`;
		const results = await Promise.all([0, 1].map(() => inWorker(code, { config: fresh })));
		expect(results).toEqual([MIGRATIONS.length, MIGRATIONS.length]);
		if (fresh.type === 'postgres') await dropSchema(fresh.schema!);
	});

	it('consent: grant -> granted, withdraw -> withdrawn, re-grant -> granted; the ledger keeps every event with evidence', async () => {
		const key = { contactId: 'c-ledger', channel: 'sms' as const, purpose: 'marketing' };
		const wording = 'Yes, send me offers by SMS (max 2 a week).';
		await store.recordConsent([
			{
				...key,
				address: '+34600111222',
				action: 'grant',
				evidence: { source: 'web-form', wording, ipAddress: '203.0.113.9', actor: 'contact' },
				occurredAt: T0,
			},
		]);
		expect((await store.getConsentStates([key])).get(consentKeyString(key))?.status).toBe(
			'granted',
		);
		await store.recordConsent([
			{
				...key,
				action: 'withdraw',
				evidence: { source: 'sms-keyword', wording: 'STOP' },
				occurredAt: T0 + 1000,
			},
		]);
		expect((await store.getConsentStates([key])).get(consentKeyString(key))?.status).toBe(
			'withdrawn',
		);
		await store.recordConsent([
			{
				...key,
				action: 'grant',
				evidence: { source: 'sms-keyword', wording: 'START' },
				occurredAt: T0 + 2000,
			},
		]);
		expect((await store.getConsentStates([key])).get(consentKeyString(key))?.status).toBe(
			'granted',
		);
		const exported = await store.exportContact('c-ledger');
		expect(exported.consentLedger.map((e) => e.action)).toEqual(['grant', 'withdraw', 'grant']);
		expect(exported.consentLedger[0].evidence).toMatchObject({
			source: 'web-form',
			wording,
			ipAddress: '203.0.113.9',
			actor: 'contact',
		});
		expect(exported.consentLedger[0].evidence.wordingHash).toMatch(/^[0-9a-f]{64}$/);
	});

	it('consent state is the latest event by event time, whatever the arrival order; a tie in the same second is withdrawn', async () => {
		const key = { contactId: 'c-order', channel: 'sms' as const, purpose: 'marketing' };
		const state = async () => (await store.getConsentStates([key])).get(consentKeyString(key));
		await store.recordConsent([
			{
				...key,
				action: 'withdraw',
				evidence: { source: 'sms-keyword', wording: 'STOP' },
				keyword: 'stop',
				occurredAt: T0 + 5000,
			},
		]);
		// A grant that happened before the STOP arrives late: still withdrawn.
		await store.recordConsent([
			{
				...key,
				action: 'grant',
				evidence: { source: 'import', wording: 'Yes' },
				occurredAt: T0 + 1000,
			},
		]);
		expect(await state()).toMatchObject({ status: 'withdrawn', updatedAt: T0 + 5000 });
		// A grant after the STOP wins.
		await store.recordConsent([
			{
				...key,
				action: 'grant',
				evidence: { source: 'web-form', wording: 'Yes' },
				occurredAt: T0 + 9000,
			},
		]);
		expect(await state()).toMatchObject({ status: 'granted', updatedAt: T0 + 9000 });
		// Grant and withdrawal in the same second, in either order and either batch: withdrawn.
		const tie = { ...key, contactId: 'c-tie' };
		await store.recordConsent([
			{ ...tie, action: 'withdraw', evidence: { source: 'x' }, occurredAt: T0 + 100 },
			{ ...tie, action: 'grant', evidence: { source: 'x' }, occurredAt: T0 + 900 },
		]);
		expect((await store.getConsentStates([tie])).get(consentKeyString(tie))?.status).toBe(
			'withdrawn',
		);
		const tie2 = { ...key, contactId: 'c-tie2' };
		await store.recordConsent([
			{ ...tie2, action: 'grant', evidence: { source: 'x' }, occurredAt: T0 + 200 },
		]);
		await store.recordConsent([
			{ ...tie2, action: 'withdraw', evidence: { source: 'x' }, occurredAt: T0 + 100 },
		]);
		expect((await store.getConsentStates([tie2])).get(consentKeyString(tie2))?.status).toBe(
			'withdrawn',
		);
	});

	it('restore (an opt-in keyword) undoes only a keyword STOP over a grant and never grants', async () => {
		const st = async (k: { contactId: string; channel: 'sms'; purpose: string }) =>
			(await store.getConsentStates([k])).get(consentKeyString(k))?.status;
		const never = { contactId: 'c-restore-never', channel: 'sms' as const, purpose: 'marketing' };
		await store.recordConsent([
			{
				...never,
				action: 'restore',
				keyword: 'start',
				evidence: { source: 'sms-keyword', wording: 'START' },
				occurredAt: T0,
			},
		]);
		expect(await st(never)).toBeUndefined();
		await store.recordConsent([
			{
				...never,
				action: 'withdraw',
				keyword: 'stop',
				evidence: { source: 'sms-keyword', wording: 'STOP' },
				occurredAt: T0 + 1000,
			},
		]);
		await store.recordConsent([
			{
				...never,
				action: 'restore',
				keyword: 'start',
				evidence: { source: 'sms-keyword', wording: 'START' },
				occurredAt: T0 + 2000,
			},
		]);
		expect(await st(never)).toBe('withdrawn');

		const granted = { ...never, contactId: 'c-restore-granted' };
		await store.recordConsent([
			{
				...granted,
				action: 'grant',
				evidence: { source: 'web-form', wording: 'Yes' },
				occurredAt: T0,
			},
		]);
		await store.recordConsent([
			{
				...granted,
				action: 'withdraw',
				keyword: 'stop',
				evidence: { source: 'sms-keyword', wording: 'STOP' },
				occurredAt: T0 + 1000,
			},
		]);
		expect((await store.getConsentStates([granted])).get(consentKeyString(granted))).toMatchObject({
			status: 'withdrawn',
			restorable: true,
		});
		await store.recordConsent([
			{
				...granted,
				action: 'restore',
				keyword: 'start',
				evidence: { source: 'sms-keyword', wording: 'START' },
				occurredAt: T0 + 2000,
			},
		]);
		expect(await st(granted)).toBe('granted');

		// An unsubscribe that was not a keyword (web preference centre) is not undone by START.
		const web = { ...never, contactId: 'c-restore-web' };
		await store.recordConsent([
			{ ...web, action: 'grant', evidence: { source: 'web-form' }, occurredAt: T0 },
		]);
		await store.recordConsent([
			{
				...web,
				action: 'withdraw',
				evidence: { source: 'preference-centre' },
				occurredAt: T0 + 1000,
			},
		]);
		await store.recordConsent([
			{
				...web,
				action: 'restore',
				keyword: 'start',
				evidence: { source: 'sms-keyword', wording: 'START' },
				occurredAt: T0 + 2000,
			},
		]);
		expect(await st(web)).toBe('withdrawn');
	});

	it('double opt-in: a request stays pending until confirmed once; a second use and an expired token are refused', async () => {
		const key = { contactId: 'c-doi', channel: 'email' as const, purpose: 'marketing' };
		await store.recordConsent([
			{
				...key,
				address: 'ana@example.com',
				action: 'request',
				evidence: { source: 'signup' },
				confirmTokenHash: 'h-valid',
				confirmExpiresAt: T0 + DAY,
			},
		]);
		expect((await store.getConsentStates([key])).get(consentKeyString(key))?.status).toBe(
			'pending',
		);
		expect((await store.confirmConsent('h-unknown', { source: 'confirm-link' }, T0)).outcome).toBe(
			'unknown',
		);
		const ok = await store.confirmConsent(
			'h-valid',
			{ source: 'confirm-link', ipAddress: '198.51.100.7' },
			T0 + 1000,
		);
		expect(ok.outcome).toBe('confirmed');
		expect((await store.getConsentStates([key])).get(consentKeyString(key))?.status).toBe(
			'granted',
		);
		expect(
			(await store.confirmConsent('h-valid', { source: 'confirm-link' }, T0 + 2000)).outcome,
		).toBe('used');
		await store.recordConsent([
			{
				...key,
				contactId: 'c-doi-2',
				action: 'request',
				evidence: { source: 'signup' },
				confirmTokenHash: 'h-old',
				confirmExpiresAt: T0,
			},
		]);
		expect((await store.confirmConsent('h-old', { source: 'confirm-link' }, T0 + 1)).outcome).toBe(
			'expired',
		);
	});

	it('suppressions: global and per channel, removable', async () => {
		await store.addSuppressions([
			{ address: 'bounce@example.com', channel: 'email', reason: 'bounced' },
			{ address: '+34600000001', reason: 'manual', note: 'asked by phone' },
		]);
		const found = await store.findSuppressions([
			'bounce@example.com',
			'+34600000001',
			'ok@example.com',
		]);
		expect(found.map((f) => [f.address, f.channel, f.reason]).sort()).toEqual([
			['+34600000001', undefined, 'manual'],
			['bounce@example.com', 'email', 'bounced'],
		]);
		expect(await store.removeSuppressions([{ address: '+34600000001' }])).toBe(1);
		expect(await store.findSuppressions(['+34600000001'])).toEqual([]);
	});

	it('reservations: caps over a rolling window, retryAt when the oldest leaves it, failed touches do not count', async () => {
		const c = 'c-caps';
		const r1 = await store.reserveTouches([req(c, 'k1')], T0);
		const r2 = await store.reserveTouches([req(c, 'k2')], T0 + DAY);
		expect([r1[0].outcome, r2[0].outcome]).toEqual(['reserved', 'reserved']);
		const r3 = await store.reserveTouches([req(c, 'k3')], T0 + 2 * DAY);
		expect(r3[0]).toEqual({
			idempotencyKey: 'k3',
			outcome: 'capped',
			capId: 'marketing-2-per-7d',
			retryAt: T0 + 7 * DAY,
		});
		await store.completeTouch('k1', { status: 'failed', errorCode: '131047' });
		expect((await store.reserveTouches([req(c, 'k3')], T0 + 2 * DAY))[0].outcome).toBe('reserved');
		// Transactional touches of the same contact are not counted by a marketing cap.
		expect(
			(
				await store.reserveTouches(
					[req(c, 't1', { purpose: 'transactional', caps: [] })],
					T0 + 2 * DAY,
				)
			)[0].outcome,
		).toBe('reserved');
		// After the window, room again.
		expect((await store.reserveTouches([req(c, 'k4')], T0 + 8 * DAY + 1))[0].outcome).toBe(
			'reserved',
		);
	});

	it('reservations in one batch count each other, and the same key twice is a duplicate carrying the earlier record', async () => {
		const res = await store.reserveTouches(
			[
				req('c-batch', 'b1', { channel: 'push', caps: [push1perDay] }),
				req('c-batch', 'b2', { channel: 'push', caps: [push1perDay] }),
				req('c-other', 'b3', { channel: 'push', caps: [push1perDay] }),
			],
			T0,
		);
		expect(res.map((r) => r.outcome)).toEqual(['reserved', 'capped', 'reserved']);
		await store.completeTouch('b1', { status: 'sent', providerMessageId: 'projects/p/messages/1' });
		const again = await store.reserveTouches(
			[req('c-batch', 'b1', { channel: 'push', caps: [push1perDay] })],
			T0 + 10,
		);
		expect(again[0].outcome).toBe('duplicate');
		expect(again[0].outcome === 'duplicate' && again[0].existing.status).toBe('sent');
		expect(await store.updateDeliveryStatus('projects/p/messages/1', 'delivered')).toMatchObject({
			providerMessageId: 'projects/p/messages/1',
			deliveryStatus: 'delivered',
		});
		expect(await store.updateDeliveryStatus('no-such-message', 'delivered')).toBeUndefined();
		expect((await store.getTouches(['b1'])).get('b1')?.deliveryStatus).toBe('delivered');
		// Out of order (WhatsApp's read often comes before its delivered): a late earlier status never
		// hides a later one, and still names the send it is about.
		expect(await store.updateDeliveryStatus('projects/p/messages/1', 'read')).toMatchObject({
			deliveryStatus: 'read',
		});
		expect(await store.updateDeliveryStatus('projects/p/messages/1', 'delivered')).toMatchObject({
			idempotencyKey: 'b1',
			deliveryStatus: 'read',
		});
		expect(await store.updateDeliveryStatus('projects/p/messages/1', 'sent')).toMatchObject({
			deliveryStatus: 'read',
		});
		expect(await store.updateDeliveryStatus('projects/p/messages/1', 'clicked')).toMatchObject({
			deliveryStatus: 'clicked',
		});
		// A complaint is kept beside what happened, never over it (it used to turn clicked into complaint).
		expect(await store.updateDeliveryStatus('projects/p/messages/1', 'complaint')).toMatchObject({
			deliveryStatus: 'clicked',
			complainedAt: expect.any(Number),
		});
		expect(await store.updateDeliveryStatus('projects/p/messages/1', 'read')).toMatchObject({
			deliveryStatus: 'clicked',
			complainedAt: expect.any(Number),
		});
		await store.releaseTouches(['b3']);
		expect((await store.getTouches(['b3'])).size).toBe(0);
	});

	it("A/B results: a campaign's sends per variant, and how many were delivered, read, clicked or replied within the window", async () => {
		const send = async (key: string, contact: string, variant: string, status?: string) => {
			await store.reserveTouches(
				[
					{
						idempotencyKey: key,
						contactId: contact,
						channel: 'whatsapp',
						purpose: 'marketing',
						campaign: 'ab-spring',
						caps: [],
					},
				],
				T0,
			);
			await store.completeTouch(key, { status: 'sent', providerMessageId: `pm-${key}`, variant });
			if (status) await store.updateDeliveryStatus(`pm-${key}`, status);
		};
		await send('ab1', 'ab-c1', 'A', 'read');
		await send('ab2', 'ab-c2', 'A', 'clicked');
		await send('ab3', 'ab-c3', 'A', 'delivered');
		await send('ab4', 'ab-c4', 'B', 'delivered');
		await send('ab5', 'ab-c5', 'B');
		// Not counted: another campaign, a failed send, a send without a variant.
		await store.reserveTouches(
			[
				{
					idempotencyKey: 'ab6',
					contactId: 'ab-c6',
					channel: 'whatsapp',
					purpose: 'marketing',
					campaign: 'other',
					caps: [],
				},
			],
			T0,
		);
		await store.completeTouch('ab6', { status: 'sent', variant: 'A' });
		await store.reserveTouches(
			[
				{
					idempotencyKey: 'ab7',
					contactId: 'ab-c7',
					channel: 'whatsapp',
					purpose: 'marketing',
					campaign: 'ab-spring',
					caps: [],
				},
			],
			T0,
		);
		await store.completeTouch('ab7', { status: 'failed', errorCode: 'x' });
		await store.reserveTouches(
			[
				{
					idempotencyKey: 'ab8',
					contactId: 'ab-c8',
					channel: 'whatsapp',
					purpose: 'marketing',
					campaign: 'ab-spring',
					caps: [],
				},
			],
			T0,
		);
		await store.completeTouch('ab8', { status: 'sent' });
		const rate = async (metric: 'delivered' | 'read' | 'clicked' | 'replied') =>
			(await store.abTestResults('ab-spring', metric, { windowMs: 3_600_000 })).map((r) => [
				r.variant,
				r.sent,
				r.successes,
			]);
		expect(await rate('delivered')).toEqual([
			['A', 3, 3],
			['B', 2, 1],
		]);
		expect(await rate('read')).toEqual([
			['A', 3, 2],
			['B', 2, 0],
		]);
		expect(await rate('clicked')).toEqual([
			['A', 3, 1],
			['B', 2, 0],
		]);
		// Replies: within the hour after the send, on the same channel.
		await store.recordInbound([
			{ contactId: 'ab-c4', channel: 'whatsapp', at: T0 + 600_000 },
			{ contactId: 'ab-c1', channel: 'whatsapp', at: T0 + 7_200_000 },
			{ contactId: 'ab-c2', channel: 'sms', at: T0 + 60_000 },
		]);
		expect(await rate('replied')).toEqual([
			['A', 3, 0],
			['B', 2, 1],
		]);
	});

	it('campaign report: per campaign, channel and variant, the counts a hand tally of the fixture gives, failures and blocked by reason', async () => {
		const H = 3_600_000;
		const touch = async (
			key: string,
			contact: string,
			then: (k: string) => Promise<void>,
			campaign = 'rep',
			channel: 'whatsapp' | 'email' = 'whatsapp',
		) => {
			await store.reserveTouches(
				[
					{
						idempotencyKey: key,
						contactId: contact,
						channel,
						purpose: 'marketing',
						campaign,
						caps: [],
					},
				],
				T0,
			);
			await then(key);
		};
		const sent = (variant: string, status?: string) => async (k: string) => {
			await store.completeTouch(k, { status: 'sent', providerMessageId: `pm-${k}`, variant });
			if (status) await store.updateDeliveryStatus(`pm-${k}`, status);
		};
		await touch('rp1', 'rp-c1', sent('A', 'read'));
		await touch('rp2', 'rp-c2', sent('A', 'delivered'));
		await touch('rp3', 'rp-c3', async (k) =>
			store.completeTouch(k, { status: 'failed', errorCode: '131026' }),
		);
		await touch('rp4', 'rp-c4', sent('B', 'failed'));
		await touch('rp5', 'rp-c5', async () => undefined);
		await touch('rp6', 'rp-c6', sent('B', 'clicked'));
		await touch('rp7', 'rp-c7', sent(''), 'rep-other', 'email');
		// A touch that never went has no variant: it is counted apart (failed, or still reserved).
		await store.completeTouch('rp5', { status: 'failed', errorCode: 'x' });
		await store.reserveTouches(
			[
				{
					idempotencyKey: 'rp5b',
					contactId: 'rp-c5',
					channel: 'whatsapp',
					purpose: 'marketing',
					campaign: 'rep',
					caps: [],
				},
			],
			T0,
		);
		await store.recordInbound([
			{ contactId: 'rp-c1', channel: 'whatsapp', at: T0 + 1 * H },
			{ contactId: 'rp-c6', channel: 'whatsapp', at: T0 + 72 * H },
		]);
		await store.recordConsent([
			{
				contactId: 'rp-c2',
				channel: 'whatsapp',
				purpose: 'marketing',
				action: 'withdraw',
				evidence: { source: 'test' },
				occurredAt: T0 + 24 * H,
			},
		]);
		await store.trackJourneyEvents(
			'Shop',
			[{ eventId: 'e1', contactId: 'rp-c1', event: 'bought', at: T0 + 48 * H }],
			(_s, _e, at) => ({ state: { stage: 'Customer', enteredAt: at, goalReachedAt: at } }),
		);
		await store.countBlocked([
			{ campaign: 'rep', channel: 'whatsapp', reason: 'NO_CONSENT', at: T0 },
			{ campaign: 'rep', channel: 'whatsapp', reason: 'NO_CONSENT', at: T0 + 1000 },
			{ campaign: 'rep', channel: 'whatsapp', reason: 'QUIET_HOURS', at: T0 },
			{ campaign: 'rep-other', channel: 'email', reason: 'WITHDRAWN', at: T0 },
		]);
		const report = await store.campaignReport({
			since: T0 - H,
			campaign: 'rep',
			replyWindowMs: 48 * H,
			conversionWindowMs: 7 * 24 * H,
			journey: 'Shop',
		});
		expect(report.rows).toEqual([
			{
				campaign: 'rep',
				channel: 'whatsapp',
				variant: '',
				reserved: 1,
				sent: 0,
				delivered: 0,
				read: 0,
				clicked: 0,
				failed: 2,
				failedBy: { 131026: 1, x: 1 },
				replied: 0,
				converted: 0,
				optOuts: 0,
				complaints: 0,
				bounces: 0,
			},
			{
				campaign: 'rep',
				channel: 'whatsapp',
				variant: 'A',
				reserved: 0,
				sent: 2,
				delivered: 2,
				read: 1,
				clicked: 0,
				failed: 0,
				failedBy: {},
				replied: 1,
				converted: 1,
				optOuts: 1,
				complaints: 0,
				bounces: 0,
			},
			{
				campaign: 'rep',
				channel: 'whatsapp',
				variant: 'B',
				reserved: 0,
				sent: 2,
				delivered: 1,
				read: 1,
				clicked: 1,
				failed: 1,
				failedBy: { failed: 1 },
				replied: 0,
				converted: 0,
				optOuts: 0,
				complaints: 0,
				bounces: 0,
			},
		]);
		expect(report.blocked).toEqual([
			{
				campaign: 'rep',
				channel: 'whatsapp',
				byReason: { NO_CONSENT: 2, QUIET_HOURS: 1 },
				total: 3,
			},
		]);
		const all = await store.campaignReport({
			since: T0 - H,
			replyWindowMs: 48 * H,
			conversionWindowMs: 7 * 24 * H,
			journey: 'Shop',
		});
		// Every campaign (this store holds other tests' sends too: only this fixture's are checked).
		const mine = (c: string) => c === 'rep' || c === 'rep-other';
		expect(
			all.rows
				.filter((r) => mine(r.campaign))
				.map((r) => [r.campaign, r.channel, r.variant, r.sent]),
		).toEqual([
			['rep', 'whatsapp', '', 0],
			['rep', 'whatsapp', 'A', 2],
			['rep', 'whatsapp', 'B', 2],
			['rep-other', 'email', '', 1],
		]);
		expect(all.blocked.filter((b) => mine(b.campaign)).map((b) => [b.campaign, b.total])).toEqual([
			['rep', 3],
			['rep-other', 1],
		]);
	});

	it('what a send led to is kept as it happened: a refused send keeps its arm, a complaint or a bounce sits beside delivered / read / clicked, a message before a retried send is no reply, and windows start when the message left', async () => {
		const H = 3_600_000;
		const reserve = (key: string, contact: string, at = T0) =>
			store.reserveTouches(
				[
					{
						idempotencyKey: key,
						contactId: contact,
						channel: 'whatsapp',
						purpose: 'marketing',
						campaign: 'kept',
						caps: [],
					},
				],
				at,
			);
		// Refused by the provider (and an unknown outcome): counted under their arm, not under ''.
		for (const [key, status] of [
			['kp1', 'failed'],
			['kp2', 'unknown'],
		] as const) {
			await reserve(key, `kp-c-${key}`);
			await store.completeTouch(key, {
				status,
				errorCode: status === 'failed' ? '21610' : 'ETIMEDOUT',
				variant: 'B',
			});
		}
		// Delivered, read, clicked, then a spam complaint; and a bounce after a click.
		for (const [key, last] of [
			['kp3', 'complaint'],
			['kp4', 'bounced'],
		]) {
			await reserve(key, `kp-c-${key}`);
			await store.claimTouches([key], T0);
			await store.completeTouch(key, {
				status: 'sent',
				providerMessageId: `pm-${key}`,
				variant: 'A',
			});
			for (const st of ['delivered', 'read', 'clicked', last])
				await store.updateDeliveryStatus(`pm-${key}`, st);
		}
		// Reserved at T0 (a Check before a Wait), sent a day later: a message between is no reply, and the
		// windows run from the send. A first attempt failed; the person wrote; the re-run's send went.
		await reserve('kp5', 'kp-c5');
		await store.completeTouch('kp5', { status: 'failed', errorCode: '500', variant: 'A' });
		await store.recordInbound([{ contactId: 'kp-c5', channel: 'whatsapp', at: T0 + 2 * H }]);
		await store.reserveTouches(
			[
				{
					idempotencyKey: 'kp5',
					contactId: 'kp-c5',
					channel: 'whatsapp',
					purpose: 'marketing',
					campaign: 'kept',
					caps: [],
				},
			],
			T0 + 24 * H,
		);
		await store.claimTouches(['kp5'], T0 + 24 * H);
		await store.completeTouch('kp5', { status: 'sent', providerMessageId: 'pm-kp5', variant: 'A' });
		expect((await store.getTouches(['kp5'])).get('kp5')).toMatchObject({ sentAt: T0 + 24 * H });
		// A goal 30 hours after the reservation is 6 hours after the send: inside a 12-hour window.
		await store.trackJourneyEvents(
			'Kept',
			[{ eventId: 'kp-e5', contactId: 'kp-c5', event: 'bought', at: T0 + 30 * H }],
			(_s, _e, at) => ({ state: { stage: 'Customer', enteredAt: at, goalReachedAt: at } }),
		);
		const report = await store.campaignReport({
			since: T0 - H,
			campaign: 'kept',
			replyWindowMs: 48 * H,
			conversionWindowMs: 12 * H,
			journey: 'Kept',
		});
		expect(
			report.rows.map((r) => [
				r.variant,
				r.sent,
				r.delivered,
				r.read,
				r.clicked,
				r.failed,
				r.complaints,
				r.bounces,
				r.replied,
				r.converted,
			]),
		).toEqual([
			['A', 3, 2, 2, 2, 0, 1, 1, 0, 1],
			['B', 0, 0, 0, 0, 2, 0, 0, 0, 0],
		]);
		expect(
			(await store.abTestResults('kept', 'replied', { windowMs: 48 * H })).map((r) => [
				r.variant,
				r.sent,
				r.successes,
			]),
		).toEqual([['A', 3, 0]]);
	});

	it('a reply stays counted when the person writes again later, and messages arriving out of order keep the first reply', async () => {
		const H = 3_600_000;
		for (const [key, contact] of [
			['rr1', 'rr-c1'],
			['rr2', 'rr-c2'],
			['rr3', 'rr-c3'],
		]) {
			await store.reserveTouches(
				[
					{
						idempotencyKey: key,
						contactId: contact,
						channel: 'whatsapp',
						purpose: 'marketing',
						campaign: 'rr',
						caps: [],
					},
				],
				T0,
			);
			await store.completeTouch(key, {
				status: 'sent',
				providerMessageId: `pm-${key}`,
				variant: 'A',
			});
		}
		// rr-c1 answers an hour later, then writes again three days later (outside the 48 h window).
		await store.recordInbound([{ contactId: 'rr-c1', channel: 'whatsapp', at: T0 + 1 * H }]);
		await store.recordInbound([{ contactId: 'rr-c1', channel: 'whatsapp', at: T0 + 72 * H }]);
		// rr-c2's later message is recorded first (a replayed batch), the earlier one after it.
		await store.recordInbound([{ contactId: 'rr-c2', channel: 'whatsapp', at: T0 + 60 * H }]);
		await store.recordInbound([{ contactId: 'rr-c2', channel: 'whatsapp', at: T0 + 2 * H }]);
		// rr-c3 only writes after the window, and on SMS within it: no reply to this WhatsApp send.
		await store.recordInbound([
			{ contactId: 'rr-c3', channel: 'whatsapp', at: T0 + 50 * H },
			{ contactId: 'rr-c3', channel: 'sms', at: T0 + H },
		]);
		const report = await store.campaignReport({
			since: T0 - H,
			campaign: 'rr',
			replyWindowMs: 48 * H,
			conversionWindowMs: H,
			journey: 'none',
		});
		expect(report.rows.map((r) => [r.variant, r.sent, r.replied])).toEqual([['A', 3, 2]]);
		expect(
			(await store.abTestResults('rr', 'replied', { windowMs: 48 * H })).map((r) => [
				r.variant,
				r.sent,
				r.successes,
			]),
		).toEqual([['A', 3, 2]]);
		// A message before the send is not a reply to it.
		await store.reserveTouches(
			[
				{
					idempotencyKey: 'rr4',
					contactId: 'rr-c4',
					channel: 'whatsapp',
					purpose: 'marketing',
					campaign: 'rr',
					caps: [],
				},
			],
			T0 + 10 * H,
		);
		await store.completeTouch('rr4', { status: 'sent', variant: 'A' });
		await store.recordInbound([{ contactId: 'rr-c4', channel: 'whatsapp', at: T0 + 9 * H }]);
		expect(
			(
				await store.campaignReport({
					since: T0 - H,
					campaign: 'rr',
					replyWindowMs: 48 * H,
					conversionWindowMs: H,
					journey: 'none',
				})
			).rows.map((r) => [r.sent, r.replied]),
		).toEqual([[4, 2]]);
	});

	it('AI usage: rows kept per run, summed by campaign, model and operation since a time', async () => {
		await store.recordAiUsage([
			{
				at: T0,
				node: 'AI',
				operation: 'generateCopy',
				model: 'gpt-4o-mini',
				campaign: 'spring',
				items: 1000,
				calls: 5,
				inputTokens: 2500,
				outputTokens: 400,
				cacheHits: 0,
			},
			{
				at: T0 + 1000,
				workflowId: 'w1',
				executionId: '42',
				node: 'AI',
				operation: 'generateCopy',
				model: 'gpt-4o-mini',
				campaign: 'spring',
				items: 1000,
				calls: 0,
				inputTokens: 0,
				outputTokens: 0,
				cacheHits: 5,
			},
			{
				at: T0 + 2000,
				node: 'AI',
				operation: 'classify',
				model: 'anthropic:claude',
				campaign: '',
				items: 3,
				calls: 3,
				inputTokens: 90,
				outputTokens: 30,
				cacheHits: 0,
			},
			{
				at: T0 - 10_000,
				node: 'AI',
				operation: 'classify',
				model: 'anthropic:claude',
				campaign: '',
				items: 1,
				calls: 1,
				inputTokens: 9,
				outputTokens: 3,
				cacheHits: 0,
			},
		]);
		expect(await store.aiUsageReport(T0)).toEqual([
			{
				campaign: '',
				model: 'anthropic:claude',
				operation: 'classify',
				runs: 1,
				items: 3,
				calls: 3,
				inputTokens: 90,
				outputTokens: 30,
				cacheHits: 0,
				firstAt: T0 + 2000,
				lastAt: T0 + 2000,
			},
			{
				campaign: 'spring',
				model: 'gpt-4o-mini',
				operation: 'generateCopy',
				runs: 2,
				items: 2000,
				calls: 5,
				inputTokens: 2500,
				outputTokens: 400,
				cacheHits: 5,
				firstAt: T0,
				lastAt: T0 + 1000,
			},
		]);
	});

	it('claims: of many callers claiming one reserved touch at once, exactly one may send; a claim counts under the caps and is never handed out again', async () => {
		// PostgreSQL: separate pools, really concurrent. SQLite: one connection per process (as
		// n8n has it; node:sqlite is synchronous), concurrent calls interleave on it.
		const others: SqlStore[] = [];
		for (let i = 0; i < 4; i++)
			others.push(backend.name === 'postgres' ? await backend.open() : store);
		for (let round = 0; round < 5; round++) {
			const key = `claim-${round}`;
			expect(
				(
					await store.reserveTouches(
						[req(`c-claim-${round}`, key, { channel: 'push', caps: [push1perDay] })],
						T0,
					)
				)[0].outcome,
			).toBe('reserved');
			const results = await Promise.all(
				[store, ...others].flatMap((s) => [
					s.claimTouches([key], T0 + 1),
					s.claimTouches([key], T0 + 1),
				]),
			);
			expect(results.map((m) => m.get(key)).filter((o) => o === 'claimed')).toHaveLength(1);
			expect(new Set(results.map((m) => m.get(key)))).toEqual(new Set(['claimed', 'sending']));
			// While it is being sent (or after a crash mid-send) the cap still counts it.
			expect(
				(
					await store.reserveTouches(
						[req(`c-claim-${round}`, `${key}-next`, { channel: 'push', caps: [push1perDay] })],
						T0 + 2,
					)
				)[0].outcome,
			).toBe('capped');
		}
		await store.completeTouch('claim-0', { status: 'sent', providerMessageId: 'wamid.claim' });
		const after = await store.claimTouches(['claim-0', 'claim-1', 'never-reserved'], T0 + 3);
		expect(Object.fromEntries(after)).toEqual({
			'claim-0': 'sent',
			'claim-1': 'sending',
			'never-reserved': 'missing',
		});
		// A claimed touch is not released by a later node's release (only unclaimed reservations are).
		await store.releaseTouches(['claim-1']);
		expect((await store.getTouches(['claim-1'])).get('claim-1')?.status).toBe('sending');
	});

	it('engagement scores are kept per contact and exported', async () => {
		await store.saveEngagement([
			{ contactId: 'c-eng', score: 7.5, updatedAt: T0 },
			{ contactId: 'c-eng2', score: 1, updatedAt: T0 },
		]);
		await store.saveEngagement([{ contactId: 'c-eng', score: 9, updatedAt: T0 + 1 }]);
		const got = await store.getEngagement(['c-eng', 'c-eng2', 'nobody']);
		expect(got.get('c-eng')).toEqual({ score: 9, updatedAt: T0 + 1 });
		expect(got.size).toBe(2);
		expect((await store.exportContact('c-eng')).engagement).toHaveLength(1);
	});

	it('inbound log keeps the latest time per contact and channel', async () => {
		await store.recordInbound([
			{ contactId: 'c-in', channel: 'whatsapp', at: T0 },
			{ contactId: 'c-in', channel: 'whatsapp', at: T0 + 5000 },
			{ contactId: 'c-in', channel: 'messenger', at: T0 + 1 },
		]);
		await store.recordInbound([{ contactId: 'c-in', channel: 'whatsapp', at: T0 + 10 }]);
		const last = await store.getLastInbound([
			{ contactId: 'c-in', channel: 'whatsapp' },
			{ contactId: 'c-in', channel: 'messenger' },
			{ contactId: 'nobody', channel: 'whatsapp' },
		]);
		expect([...last.values()].sort()).toEqual([T0 + 1, T0 + 5000]);
	});

	it('markProcessed returns only ids never seen, even when two callers race', async () => {
		const other = await backend.open();
		const ids = Array.from({ length: 50 }, (_, i) => `wamid.${i}`);
		const [a, b] = await Promise.all([
			store.markProcessed('wa', ids),
			other.markProcessed('wa', ids),
		]);
		expect(a.size + b.size).toBe(50);
		expect([...(await store.markProcessed('wa', ['wamid.1', 'wamid.new']))]).toEqual(['wamid.new']);
	});

	it('while nobody was ever erased, checking addresses against erasures is one query (no keyed hash per address); after an erasure it finds exactly the erased one', async () => {
		const many = Array.from({ length: 1000 }, (_, i) => `+3461000${String(i).padStart(4, '0')}`);
		const before = store.db.queryCount;
		expect(await store.findErasedAddresses(many)).toEqual(new Set());
		expect(store.db.queryCount - before).toBe(1);
		await store.recordConsent([
			{
				contactId: 'c-gone-first',
				channel: 'sms',
				purpose: 'marketing',
				address: many[7],
				action: 'grant',
				evidence: { source: 'web' },
			},
		]);
		await store.eraseContact('c-gone-first', [many[7]]);
		expect(await store.findErasedAddresses(many)).toEqual(new Set([many[7]]));
	});

	it('erase removes every e-mail and phone from every table and keeps a hashed tombstone', async () => {
		const id = 'c-erase';
		await store.recordConsent([
			{
				contactId: id,
				channel: 'email',
				purpose: 'marketing',
				address: 'erase.me@example.com',
				action: 'grant',
				evidence: {
					source: 'web',
					ipAddress: '192.0.2.1',
					extra: { email: 'erase.me@example.com' },
				},
			},
			{
				contactId: id,
				channel: 'sms',
				purpose: 'marketing',
				address: '+34611222333',
				action: 'grant',
				evidence: { source: 'web' },
			},
		]);
		await store.addSuppressions([
			{ address: 'erase.me@example.com', channel: 'email', reason: 'complained' },
		]);
		await store.reserveTouches([req(id, 'erase-k1', { channel: 'email' })], T0);
		await store.recordInbound([{ contactId: id, channel: 'sms', at: T0 }]);
		await store.eraseContact(id, []);

		const tables = (
			await store.db.query<{ name: string }>(
				store.dialect === 'sqlite'
					? "SELECT name FROM sqlite_master WHERE type = 'table'"
					: 'SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema()',
			)
		).map((t) => t.name);
		expect(tables.length).toBeGreaterThanOrEqual(8);
		for (const table of tables) {
			const rows = await store.db.query<Record<string, unknown>>(`SELECT * FROM ${table}`);
			const text = JSON.stringify(rows);
			expect(text).not.toContain('erase.me@example.com');
			expect(text).not.toContain('+34611222333');
			expect(text).not.toContain(id);
		}
		const exported = await store.exportContact(id);
		expect([
			exported.consentLedger,
			exported.consentStates,
			exported.touches,
			exported.inbound,
		]).toEqual([[], [], [], []]);
		expect(
			await store.findErasedAddresses([
				'erase.me@example.com',
				'+34611222333',
				'other@example.com',
			]),
		).toEqual(new Set(['erase.me@example.com', '+34611222333']));
	});

	it('upgrading a store written before replies were kept on the send fills them from what the inbound log still shows', async () => {
		const H = 3_600_000;
		await store.db.exec('ALTER TABLE touches DROP COLUMN replied_at');
		await store.db.run("DELETE FROM schema_migrations WHERE id = '015_touch_replied_at'");
		for (const [key, contact] of [
			['up1', 'up-c1'],
			['up2', 'up-c2'],
			['up3', 'up-c3'],
		]) {
			await store.db.run(
				"INSERT INTO touches (idempotency_key, contact_id, channel, purpose, campaign, status, created_at, updated_at) VALUES ($1, $2, 'sms', 'marketing', 'up', 'sent', $3, $3)",
				[key, contact, T0],
			);
		}
		// Answered two hours later; answered before the send only; answered 40 days later.
		await store.db.run(
			"INSERT INTO inbound (contact_id, channel, last_at) VALUES ('up-c1', 'sms', $1), ('up-c2', 'sms', $2), ('up-c3', 'sms', $3)",
			[T0 + 2 * H, T0 - H, T0 + 40 * 24 * H],
		);
		expect(
			await migrate(
				store.db,
				backend.config.type === 'postgres' ? backend.config.schema : undefined,
			),
		).toEqual(['015_touch_replied_at']);
		const rows = await store.db.query<{ idempotency_key: string; replied_at: unknown }>(
			"SELECT idempotency_key, replied_at FROM touches WHERE campaign = 'up' ORDER BY idempotency_key",
		);
		expect(
			rows.map((r) => [r.idempotency_key, r.replied_at === null ? null : Number(r.replied_at)]),
		).toEqual([
			['up1', T0 + 2 * H],
			['up2', null],
			['up3', null],
		]);
	});

	it('tracked links: each code kept once with what it stands for; unknown codes are absent; erasing the person removes them', async () => {
		const link = {
			code: 'k2.TrackedLinkCode1',
			contactId: 'tl-c1',
			channel: 'sms' as const,
			campaign: 'spring',
			url: 'https://glow.example/a?x=1',
		};
		await store.saveTrackedLinks([link, link, { ...link, url: 'https://evil.example/' }]);
		const found = await store.findTrackedLinks([link.code, 'k2.NeverIssued00000']);
		expect([...found.values()]).toEqual([link]);
		await store.recordConsent([
			{
				contactId: 'tl-c1',
				channel: 'sms',
				purpose: 'marketing',
				address: '+34600123999',
				action: 'grant',
				evidence: { source: 'web' },
			},
		]);
		await store.eraseContact('tl-c1', []);
		expect((await store.findTrackedLinks([link.code])).size).toBe(0);
	});

	it('batches: 2,000 keys cost a handful of queries, not one per key', async () => {
		const keys = Array.from({ length: 2000 }, (_, i) => ({
			contactId: `bulk-${i}`,
			channel: 'sms' as const,
			purpose: 'marketing',
		}));
		const before = store.db.queryCount;
		await store.getConsentStates(keys);
		const reads = store.db.queryCount - before;
		const before2 = store.db.queryCount;
		await store.reserveTouches(
			keys.map((k, i) => req(k.contactId, `bulk-k-${i}`)),
			T0,
		);
		const reserves = store.db.queryCount - before2;
		expect(reads).toBeLessThanOrEqual(Math.ceil(2000 / 300));
		expect(reserves).toBeLessThanOrEqual(Math.ceil(2000 / 300) * 5);
	});

	it('batches: a list costs the same statement with a fixed number of parameters, whatever its length (PostgreSQL: arrays, not one parameter per value)', async () => {
		// What the server parses and plans: per-value parameters made every chunk length a new
		// statement with up to 2,400 parameters (a 300-row insert), planned anew each time.
		const seen: Array<{ sql: string; params: number }> = [];
		const db = store.db as unknown as {
			query: (sql: string, p?: unknown[]) => Promise<unknown>;
			run: (sql: string, p?: unknown[]) => Promise<unknown>;
			transaction: (fn: (tx: unknown) => Promise<unknown>) => Promise<unknown>;
		};
		const spy = (target: {
			query: (...a: never[]) => unknown;
			run: (...a: never[]) => unknown;
		}) => {
			for (const m of ['query', 'run'] as const) {
				const original = target[m].bind(target) as (sql: string, p?: unknown[]) => Promise<unknown>;
				(target as Record<string, unknown>)[m] = (sql: string, p: unknown[] = []) => {
					seen.push({ sql, params: p.length });
					return original(sql, p);
				};
			}
		};
		const originalTx = db.transaction.bind(db);
		db.transaction = (fn) =>
			originalTx(async (tx) => {
				spy(tx as never);
				return await fn(tx);
			});
		spy(db as never);
		try {
			for (const n of [7, 300, 301]) {
				const keys = Array.from({ length: n }, (_, i) => ({
					contactId: `shape-${n}-${i}`,
					channel: 'sms' as const,
					purpose: 'marketing',
				}));
				await store.getConsentStates(keys);
				await store.reserveTouches(
					keys.map((k, i) =>
						req(k.contactId, `shape-k-${n}-${i}`, {
							caps: [{ id: 'c', max: 5, windowMs: 86400000 }],
						}),
					),
					T0,
				);
				await store.findSuppressions(keys.map((k) => `+3460000${k.contactId.length}`));
			}
		} finally {
			delete (db as Record<string, unknown>).query;
			delete (db as Record<string, unknown>).run;
			delete (db as Record<string, unknown>).transaction;
		}
		const touchInserts = seen.filter((s) => s.sql.startsWith('INSERT INTO touches'));
		expect(touchInserts.length).toBeGreaterThanOrEqual(3);
		if (store.dialect === 'postgres') {
			expect(Math.max(...seen.map((s) => s.params))).toBeLessThanOrEqual(8);
			// One statement text per kind, whatever the list's length.
			expect(new Set(touchInserts.map((s) => s.sql)).size).toBe(1);
			expect(
				new Set(seen.filter((s) => s.sql.includes('FROM consent_state')).map((s) => s.sql)).size,
			).toBe(1);
		} else {
			expect(touchInserts.map((s) => s.params)).toEqual([7 * 8, 300 * 8, 300 * 8, 1 * 8]);
		}
	});

	it('batches: SQLite takes 10,000 reservations in one write transaction (each transaction rewrites every index page it touches)', async () => {
		if (store.dialect !== 'sqlite') return;
		const db = store.db as unknown as {
			transaction: (fn: (tx: unknown) => Promise<unknown>) => Promise<unknown>;
		};
		let transactions = 0;
		const original = db.transaction.bind(db);
		db.transaction = (fn) => {
			transactions++;
			return original(fn);
		};
		try {
			const n = 2500;
			const results = await store.reserveTouches(
				Array.from({ length: n }, (_, i) =>
					req(`onetx-${i % 1000}`, `onetx-k-${i}`, {
						caps: [{ id: 'c', max: 2, windowMs: 86400000 }],
					}),
				),
				T0,
			);
			expect(transactions).toBe(1);
			// Caps still count across the chunks of one transaction: 1,000 contacts x 2 reserved, the rest capped.
			expect(results.filter((r) => r.outcome === 'reserved').length).toBe(2000);
			expect(results.filter((r) => r.outcome === 'capped').length).toBe(500);
		} finally {
			delete (db as Record<string, unknown>).transaction;
		}
	});

	it('PostgreSQL reserves two chunks side by side when no contact is in both, in item order when one is', async () => {
		if (store.dialect !== 'postgres') return;
		const db = store.db as unknown as {
			transaction: (fn: (tx: unknown) => Promise<unknown>) => Promise<unknown>;
		};
		let open = 0;
		let most = 0;
		const original = db.transaction.bind(db);
		db.transaction = async (fn) => {
			open++;
			most = Math.max(most, open);
			try {
				return await original(fn);
			} finally {
				open--;
			}
		};
		try {
			const distinct = await store.reserveTouches(
				Array.from({ length: 900 }, (_, i) => req(`side-${i}`, `side-k-${i}`)),
				T0,
			);
			expect(distinct.every((r) => r.outcome === 'reserved')).toBe(true);
			expect(most).toBe(2);
			most = 0;
			// One contact at item 0 and item 899 (two chunks apart) under a cap of 1: the first item wins.
			const shared = await store.reserveTouches(
				Array.from({ length: 900 }, (_, i) =>
					req(i === 0 || i === 899 ? 'order-same' : `order-${i}`, `order-k-${i}`, {
						caps: [{ id: 'one', max: 1, windowMs: 86400000 }],
					}),
				),
				T0,
			);
			expect(most).toBe(1);
			expect([shared[0].outcome, shared[899].outcome]).toEqual(['reserved', 'capped']);
		} finally {
			delete (db as Record<string, unknown>).transaction;
		}
	});

	it('indexes only the touches that have a provider message id (a reservation adds nothing to that index)', async () => {
		const rows =
			store.dialect === 'sqlite'
				? await store.db.query<{ sql: string }>(
						"SELECT sql FROM sqlite_master WHERE name = 'touches_provider_id'",
					)
				: await store.db.query<{ sql: string }>(
						"SELECT indexdef AS sql FROM pg_indexes WHERE indexname = 'touches_provider_id' AND schemaname = current_schema()",
					);
		expect(rows).toHaveLength(1);
		expect(rows[0].sql).toMatch(/WHERE \(?provider_message_id IS NOT NULL\)?/);
	});

	it('THE RACE: two processes reserving for one contact under a cap of 1 -> exactly one wins, every round', async () => {
		const rounds = 25;
		const code = `
			const { parentPort, workerData } = require('node:worker_threads');
			const { openStore } = require(workerData.storeModule);
			(async () => {
				const store = await openStore(workerData.config);
				const wins = [];
				for (let round = 0; round < workerData.rounds; round++) {
					await new Promise((r) => setTimeout(r, 2));
					const [res] = await store.reserveTouches([{ idempotencyKey: 'race-' + workerData.me + '-' + round,
						contactId: 'racer-' + round, channel: 'sms', purpose: 'marketing',
						caps: [{ id: 'one', max: 1, windowMs: 86400000 }] }]);
					wins.push(res.outcome === 'reserved');
				}
				await store.close();
				parentPort.postMessage(wins);
			})().catch((e) => parentPort.postMessage({ error: String(e && e.stack || e) }));
		`;
		const run = (me: string) =>
			inWorker(code, { config: backend.config, rounds, me }) as Promise<boolean[]>;
		const [a, b] = await Promise.all([run('a'), run('b')]);
		for (let round = 0; round < rounds; round++)
			expect(Number(a[round]) + Number(b[round])).toBe(1);
	});
});
