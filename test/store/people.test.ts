/**
 * People in the store, on SQLite and PostgreSQL alike: one owner per address under concurrent
 * linking, merges that move everything (the later withdrawal wins), erasure under every id,
 * keyed tombstones, and the upgrade of a store written before people existed.
 */
import { createHash } from 'node:crypto';

import { addressHash } from '../../nodes/shared/store/sql-store';
import { MIGRATIONS } from '../../nodes/shared/store/migrations';
import { SqlStore } from '../../nodes/shared/store/sql-store';
import { consentKeyString } from '../../nodes/shared/store/types';
import { PostgresDb } from '../../nodes/shared/store/postgres';
import { SqliteDb } from '../../nodes/shared/store/sqlite';
import { backends, dropSchema, inWorker, type Backend } from './helpers';

describe.each(backends())('People on %s', (_name, makeBackend) => {
	let backend: Backend;
	let store: SqlStore;
	beforeAll(async () => {
		backend = makeBackend();
		store = await backend.open();
	});
	afterAll(async () => backend.cleanup());

	it('knownPhones: which numbers the book holds as phones (not as another kind), in chunks of any size', async () => {
		const base = 34600400000;
		const phones = Array.from({ length: 650 }, (_, k) => `+${base + k}`);
		await store.resolveContacts(
			phones
				.filter((_, k) => k % 2 === 0)
				.map((value, k) => ({ id: `known-${k}`, addresses: [{ kind: 'phone', value }] })),
			{ create: true, link: true, source: 'test' },
		);
		await store.resolveContacts(
			[{ id: 'known-wa', addresses: [{ kind: 'whatsapp', value: phones[1] }] }],
			{ create: true, link: true, source: 'test' },
		);
		const known = await store.knownPhones([...phones, phones[0]]);
		expect([...known].sort()).toEqual(phones.filter((_, k) => k % 2 === 0).sort());
		expect((await store.knownPhones([])).size).toBe(0);
	});

	it('two processes linking the same address to different people at once: one owner, every consent event kept', async () => {
		const rounds = 20;
		const code = `
			const { parentPort, workerData } = require('node:worker_threads');
			const { openStore } = require(workerData.storeModule);
			(async () => {
				const store = await openStore(workerData.config);
				const out = [];
				for (let round = 0; round < workerData.rounds; round++) {
					await new Promise((r) => setTimeout(r, 2));
					const email = 'shared-' + round + '@example.com';
					const phone = '+3461100' + String(1000 + round);
					// A CRM import: two people claim one email.
					const [mine] = await store.resolveContacts([{ id: workerData.me + '-' + round, addresses: [{ kind: 'email', value: email }] }], { create: true, link: true });
					if (!mine.conflict) {
						await store.recordConsent([{ contactId: mine.contactId, channel: 'email', purpose: 'marketing', address: email, action: 'grant', evidence: { source: workerData.me } }]);
					}
					// Inbound: two STOPs from one new number, handled by two workers at once.
					const [sender] = await store.resolveContacts([{ addresses: [{ kind: 'phone', value: phone }], fallbackId: phone }], { create: true, link: true });
					await store.recordConsent([{ contactId: sender.contactId, channel: 'sms', purpose: 'marketing', address: phone, action: 'withdraw', keyword: 'stop', evidence: { source: 'sms-keyword', extra: { by: workerData.me } } }]);
					out.push({ owner: mine.conflict ? mine.conflict.owner : mine.contactId, won: !mine.conflict, sender: sender.contactId });
				}
				await store.close();
				parentPort.postMessage(out);
			})().catch((e) => parentPort.postMessage({ error: String(e && e.stack || e) }));
		`;
		const run = (me: string) =>
			inWorker(code, { config: backend.config, rounds, me }) as Promise<
				Array<{ owner: string; won: boolean; sender: string }>
			>;
		const [a, b] = await Promise.all([run('a'), run('b')]);
		for (let round = 0; round < rounds; round++) {
			const email = `shared-${round}@example.com`;
			const phone = `+3461100${1000 + round}`;
			// One owner, and both processes agree who it is.
			expect(Number(a[round].won) + Number(b[round].won)).toBe(1);
			expect(a[round].owner).toBe(b[round].owner);
			const owners = await store.db.query<{ contact_id: string }>(
				'SELECT contact_id FROM contact_addresses WHERE value = $1',
				[email],
			);
			expect(owners.map((o) => o.contact_id)).toEqual([a[round].owner]);
			const ledger = await store.db.query<{ contact_id: string }>(
				"SELECT contact_id FROM consent_events WHERE address = $1 AND action = 'grant'",
				[email],
			);
			expect(ledger.map((l) => l.contact_id)).toEqual([a[round].owner]);
			// Both STOPs land on the one contact that now holds the number: nothing lost, nothing split.
			expect(a[round].sender).toBe(phone);
			expect(b[round].sender).toBe(phone);
			const stops = await store.db.query<{ contact_id: string }>(
				"SELECT contact_id FROM consent_events WHERE address = $1 AND action = 'withdraw'",
				[phone],
			);
			expect(stops.map((s) => s.contact_id)).toEqual([phone, phone]);
			const state = await store.getConsentStates([
				{ contactId: phone, channel: 'sms', purpose: 'marketing' },
			]);
			expect(
				state.get(consentKeyString({ contactId: phone, channel: 'sms', purpose: 'marketing' }))
					?.status,
			).toBe('withdrawn');
		}
	}, 60_000);

	it('merge moves ledger, touches, caps, inbound, journeys, history and sessions; the later withdrawal wins; audited; the old id resolves', async () => {
		const t = Date.now() - 3600_000;
		await store.resolveContacts(
			[{ id: 'crm-m', addresses: [{ kind: 'email', value: 'm@example.com' }] }],
			{ create: true, link: true },
		);
		await store.resolveContacts(
			[{ addresses: [{ kind: 'instagram', value: 'ig-m' }], fallbackId: 'instagram:ig-m' }],
			{ create: true, link: true },
		);
		await store.recordConsent([
			{
				contactId: 'crm-m',
				channel: 'instagram',
				purpose: 'marketing',
				address: 'ig-m',
				action: 'grant',
				evidence: { source: 'crm' },
				occurredAt: t,
			},
			{
				contactId: 'instagram:ig-m',
				channel: 'instagram',
				purpose: 'marketing',
				address: 'ig-m',
				action: 'withdraw',
				evidence: { source: 'dm' },
				occurredAt: t + 60_000,
			},
			{
				contactId: 'instagram:ig-m',
				channel: 'email',
				purpose: 'marketing',
				address: 'm@example.com',
				action: 'grant',
				evidence: { source: 'dm' },
				occurredAt: t,
			},
		]);
		await store.reserveTouches([
			{
				idempotencyKey: 'merge-k1',
				contactId: 'instagram:ig-m',
				channel: 'instagram',
				purpose: 'marketing',
				caps: [],
			},
		]);
		await store.recordInbound([
			{ contactId: 'instagram:ig-m', channel: 'instagram', at: t + 120_000 },
		]);
		await store.addTurns([{ contactId: 'instagram:ig-m', role: 'user', text: 'hola', at: t }]);
		await store.saveFormSessions('lead', [
			{
				contactId: 'instagram:ig-m',
				status: 'active',
				step: 'email',
				answers: { name: 'M' },
				startedAt: t,
				updatedAt: t,
			},
		]);
		await store.trackJourneyEvents(
			'j',
			[{ eventId: 'e1', contactId: 'instagram:ig-m', event: 'x', at: t }],
			(_s, _e, at) => ({ state: { stage: 'A', enteredAt: at } }),
		);

		const { moved } = await store.mergeContacts('instagram:ig-m', 'crm-m', 'test');
		expect(moved).toBeGreaterThanOrEqual(8);
		const states = await store.getConsentStates([
			{ contactId: 'crm-m', channel: 'instagram', purpose: 'marketing' },
			{ contactId: 'crm-m', channel: 'email', purpose: 'marketing' },
		]);
		expect(
			states.get(
				consentKeyString({ contactId: 'crm-m', channel: 'instagram', purpose: 'marketing' }),
			)?.status,
		).toBe('withdrawn');
		expect(
			states.get(consentKeyString({ contactId: 'crm-m', channel: 'email', purpose: 'marketing' })),
		).toMatchObject({ status: 'granted', addresses: ['m@example.com'] });
		// Caps count the moved touch for the survivor.
		const [capped] = await store.reserveTouches([
			{
				idempotencyKey: 'merge-k2',
				contactId: 'crm-m',
				channel: 'email',
				purpose: 'marketing',
				caps: [{ id: 'one', max: 1, windowMs: 86400_000 }],
			},
		]);
		expect(capped.outcome).toBe('capped');
		expect((await store.getLastInbound([{ contactId: 'crm-m', channel: 'instagram' }])).size).toBe(
			1,
		);
		expect((await store.getTurns(['crm-m'], 10)).get('crm-m')?.map((x) => x.text)).toEqual([
			'hola',
		]);
		expect((await store.getFormSessions('lead', ['crm-m'])).get('crm-m')?.step).toBe('email');
		expect((await store.getJourneyStates('j', ['crm-m'])).get('crm-m')?.stage).toBe('A');
		const [viaOld] = await store.resolveContacts([{ id: 'instagram:ig-m', addresses: [] }]);
		expect(viaOld.contactId).toBe('crm-m');
		const [viaIg] = await store.resolveContacts([
			{ addresses: [{ kind: 'instagram', value: 'ig-m' }] },
		]);
		expect(viaIg.contactId).toBe('crm-m');
		const exported = await store.exportContact('instagram:ig-m');
		expect(exported.contactId).toBe('crm-m');
		expect(exported.merges).toEqual([
			expect.objectContaining({ from_id: 'instagram:ig-m', into_id: 'crm-m', actor: 'test' }),
		]);
		for (const table of [
			'consent_events',
			'touches',
			'inbound',
			'conversation_turns',
			'form_sessions',
			'journey_state',
			'contact_addresses',
		]) {
			expect(
				await store.db.query(`SELECT * FROM ${table} WHERE contact_id = $1`, ['instagram:ig-m']),
			).toEqual([]);
		}
	});

	it("an address moved to another person leaves the old holder's consent: it no longer covers it", async () => {
		await store.resolveContacts(
			[{ id: 'crm-old-owner', addresses: [{ kind: 'phone', value: '+34600888111' }] }],
			{ create: true, link: true },
		);
		await store.recordConsent([
			{
				contactId: 'crm-old-owner',
				channel: 'sms',
				purpose: 'marketing',
				address: '+34600888111',
				action: 'grant',
				evidence: { source: 'web' },
			},
		]);
		const [refused] = await store.resolveContacts(
			[{ id: 'crm-new-owner', addresses: [{ kind: 'phone', value: '+34600888111' }] }],
			{ create: true, link: true },
		);
		expect(refused.conflict).toEqual({
			address: { kind: 'phone', value: '+34600888111' },
			owner: 'crm-old-owner',
		});
		const [moved] = await store.resolveContacts(
			[{ id: 'crm-new-owner', addresses: [{ kind: 'phone', value: '+34600888111' }] }],
			{ create: true, link: true, onConflict: 'move' },
		);
		expect(moved.conflict).toBeUndefined();
		expect(moved.owners.get('phone:+34600888111')).toBe('crm-new-owner');
		const key = { contactId: 'crm-old-owner', channel: 'sms' as const, purpose: 'marketing' };
		expect((await store.getConsentStates([key])).get(consentKeyString(key))).toMatchObject({
			status: 'granted',
			addresses: [],
		});
	});

	it('a double opt-in confirmed after its address moved to someone else does not cover that address', async () => {
		await store.resolveContacts(
			[{ id: 'crm-doi', addresses: [{ kind: 'email', value: 'doi@example.com' }] }],
			{ create: true, link: true },
		);
		await store.recordConsent([
			{
				contactId: 'crm-doi',
				channel: 'email',
				purpose: 'marketing',
				address: 'doi@example.com',
				action: 'request',
				evidence: { source: 'form' },
				confirmTokenHash: 'doi-token',
				confirmExpiresAt: Date.now() + 3600_000,
			},
		]);
		await store.resolveContacts(
			[{ id: 'crm-doi-2', addresses: [{ kind: 'email', value: 'doi@example.com' }] }],
			{ create: true, link: true, onConflict: 'move' },
		);
		expect((await store.confirmConsent('doi-token', { source: 'link' })).outcome).toBe('confirmed');
		const key = { contactId: 'crm-doi', channel: 'email' as const, purpose: 'marketing' };
		expect((await store.getConsentStates([key])).get(consentKeyString(key))).toMatchObject({
			status: 'granted',
			addresses: [],
		});
	});

	it('tombstones are keyed: a copy of the table does not give up an erased number to a dictionary of every number', async () => {
		await store.resolveContacts(
			[{ id: 'crm-t', addresses: [{ kind: 'phone', value: '+34600123457' }] }],
			{ create: true, link: true },
		);
		await store.eraseContact('crm-t', []);
		const rows = await store.db.query<{ address_hash: string }>(
			'SELECT address_hash FROM erased_addresses',
		);
		const copied = new Set(rows.map((r) => r.address_hash));
		// The attack on an unsalted store: hash every Spanish mobile around it and look it up.
		let hits = 0;
		for (let n = 600_120_000; n < 600_130_000; n++) {
			const candidate = `+34${n}`;
			if (
				copied.has(addressHash(candidate)) ||
				copied.has(createHash('sha256').update(candidate).digest('hex'))
			)
				hits++;
		}
		expect(hits).toBe(0);
		expect(await store.findErasedAddresses(['+34600123457', '+34600123458'])).toEqual(
			new Set(['+34600123457']),
		);
	});

	it('a store written before people existed upgrades in place: contacts from its ids, addresses from its ledger, bound consent, tombstones kept', async () => {
		if (backend.config.type === 'embedded') {
			await upgradeScenario(
				new SqlStore(new SqliteDb(backend.config.path.replace(/\.sqlite$/, '-v006.sqlite'))),
			);
			return;
		}
		// PostgreSQL: the previous release's tables in a schema of their own, then opened as today.
		const { type: _t, schema: base, ...pg } = backend.config;
		const schema = `${String(base)}_v006`;
		try {
			await upgradeScenario(new SqlStore(new PostgresDb({ ...pg, schema }), schema), schema);
		} finally {
			await dropSchema(schema);
		}
	});
});

/** Writes a store as migrations 001-006 left it (the previous release), then opens it with today's code. */
async function upgradeScenario(target: SqlStore, schema?: string): Promise<void> {
	const db = target.db;
	await db.transaction(async (tx) => {
		if (tx.dialect === 'postgres' && schema)
			await tx.exec(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
		await tx.exec(
			'CREATE TABLE IF NOT EXISTS schema_migrations (id TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)',
		);
		for (const m of MIGRATIONS.slice(0, 6)) {
			await tx.exec(
				m.sql.replace(
					/\{\{id\}\}/g,
					tx.dialect === 'sqlite' ? 'INTEGER PRIMARY KEY AUTOINCREMENT' : 'BIGSERIAL PRIMARY KEY',
				),
			);
			await tx.run('INSERT INTO schema_migrations (id, applied_at) VALUES ($1, $2)', [m.id, 1]);
		}
		const t = Date.UTC(2026, 5, 1);
		const ev = (
			contact: string,
			channel: string,
			address: string | null,
			action: string,
			at: number,
		) =>
			tx.run(
				'INSERT INTO consent_events (contact_id, channel, purpose, address, action, source, occurred_at, recorded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)',
				[contact, channel, 'marketing', address, action, 'old', at],
			);
		await ev('crm-old', 'email', 'old@example.com', 'grant', t);
		await ev('crm-old', 'sms', '+34600555001', 'grant', t);
		await ev('crm-bare', 'email', null, 'grant', t);
		for (const [contact, channel] of [
			['crm-old', 'email'],
			['crm-old', 'sms'],
			['crm-bare', 'email'],
		]) {
			await tx.run(
				"INSERT INTO consent_state (contact_id, channel, purpose, status, updated_at) VALUES ($1, $2, 'marketing', 'granted', $3)",
				[contact, channel, t],
			);
		}
		await tx.run(
			"INSERT INTO inbound (contact_id, channel, last_at) VALUES ('+34600555002', 'whatsapp', $1), ('messenger:psid-9', 'messenger', $1)",
			[t],
		);
		await tx.run(
			"INSERT INTO conversation_turns (contact_id, role, text, at) VALUES ('+34600555002', 'user', 'hola', $1)",
			[t],
		);
		// A tombstone as the previous release wrote it: unkeyed SHA-256.
		await tx.run('INSERT INTO erased_addresses (address_hash, erased_at) VALUES ($1, $2)', [
			addressHash('gone@example.com'),
			t,
		]);
	});
	await target.init();
	const ids = (
		await db.query<{ contact_id: string }>('SELECT contact_id FROM contacts ORDER BY contact_id')
	).map((r) => r.contact_id);
	expect(ids).toEqual(['+34600555002', 'crm-bare', 'crm-old', 'messenger:psid-9']);
	const book = (
		await db.query<{ kind: string; value: string; contact_id: string }>(
			'SELECT kind, value, contact_id FROM contact_addresses ORDER BY value',
		)
	).map((r) => `${r.contact_id} ${r.kind}:${r.value}`);
	expect(book).toEqual([
		'crm-old phone:+34600555001',
		'+34600555002 phone:+34600555002',
		'crm-old email:old@example.com',
		'messenger:psid-9 messenger:psid-9',
	]);
	const states = await target.getConsentStates([
		{ contactId: 'crm-old', channel: 'email', purpose: 'marketing' },
		{ contactId: 'crm-bare', channel: 'email', purpose: 'marketing' },
	]);
	expect(
		states.get(consentKeyString({ contactId: 'crm-old', channel: 'email', purpose: 'marketing' }))
			?.addresses,
	).toEqual(['old@example.com']);
	expect(
		states.get(consentKeyString({ contactId: 'crm-bare', channel: 'email', purpose: 'marketing' }))
			?.addresses,
	).toEqual([]);
	expect(await target.findErasedAddresses(['gone@example.com', 'old@example.com'])).toEqual(
		new Set(['gone@example.com']),
	);
	expect(
		(await db.query<{ address_hash: string }>('SELECT address_hash FROM erased_addresses')).map(
			(r) => r.address_hash,
		),
	).not.toContain(addressHash('gone@example.com'));
	const [viaPhone] = await target.resolveContacts([
		{ addresses: [{ kind: 'phone', value: '+34600555002' }] },
	]);
	expect(viaPhone.contactId).toBe('+34600555002');
	expect((await target.getTurns([viaPhone.contactId], 5)).get('+34600555002')?.[0].text).toBe(
		'hola',
	);
	await target.close();
}
