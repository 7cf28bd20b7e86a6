/**
 * Erase reaches every row that holds personal data, proved by walking the schema rather than by a
 * list: every table the store has is either filled below with one person's data (ids, addresses,
 * name, message text) or named here as holding none, with why. After Erase, no column of any row
 * of any table holds anything of the person. A new table that forgets erasure fails here twice:
 * it is in neither list, or its rows survive Erase.
 */
import { backends, useStore } from './helpers';
import type { SqlStore } from '../../nodes/shared/store/sql-store';

/** Tables that hold no personal data, and why (a new table is not added here without a reason). */
const NO_PERSONAL_DATA: Record<string, string> = {
	erased_addresses: 'keyed hashes of erased addresses only (the tombstones Erase writes)',
	store_meta: "the store's own keys and settings",
	rate_slots: 'one row per credential and sender: the shared rate clock',
	ai_usage: 'counts of calls and tokens per node, model and campaign',
	blocked_counts: 'counts of blocked sends per campaign, channel and reason',
	touch_rollups: 'daily counts of sends per campaign, channel and A/B arm (retention)',
	touch_rollup_counts:
		'daily counts of conversions per journey and failures per error code (retention)',
	schema_migrations: 'the migrations applied',
};

const ID = 'crm-erase-7';
const DUP = 'crm-erase-dup';
const PHONE = '+34600123987';
const EMAIL = 'zelda.erase@example.com';
const PSID = '24117788990011';
const NAME = 'Zelda Unforgettable';
const TEXT = 'my card ends in 4242 and I live at Calle Olvido 3';
/** What must be gone from every column of every row. */
const MARKERS = [ID, DUP, PHONE, PHONE.slice(1), EMAIL, PSID, NAME, TEXT, 'Calle Olvido'];

async function tables(store: SqlStore): Promise<string[]> {
	return store.dialect === 'sqlite'
		? (
				await store.db.query<{ name: string }>(
					"SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
				)
			).map((r) => r.name)
		: (
				await store.db.query<{ name: string }>(
					'SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema()',
				)
			).map((r) => r.name);
}

/** The markers each table holds, in any column of any row. */
async function markersByTable(store: SqlStore): Promise<Record<string, string[]>> {
	const out: Record<string, string[]> = {};
	for (const table of await tables(store)) {
		const text = JSON.stringify(await store.db.query(`SELECT * FROM ${table}`));
		out[table] = MARKERS.filter((m) => text.includes(m));
	}
	return out;
}

/** One person's data in every table that can hold it, written the way the nodes write it. */
async function fillEveryTable(store: SqlStore): Promise<void> {
	const now = Date.now();
	await store.resolveContacts(
		[
			{
				id: ID,
				addresses: [
					{ kind: 'phone', value: PHONE },
					{ kind: 'email', value: EMAIL },
					{ kind: 'messenger', value: PSID },
				],
				profile: { name: NAME, timeZone: 'Europe/Madrid' },
			},
		],
		{ create: true, link: true },
	);
	await store.resolveContacts(
		[
			{
				id: DUP,
				addresses: [{ kind: 'whatsapp', value: PHONE.slice(1) }],
				profile: { name: NAME },
			},
		],
		{ create: true, link: true },
	);
	// A send older than the kept detail: rolled up, its key kept under the person (moved by the merge).
	const longAgo = now - 800 * 86_400_000;
	await store.reserveTouches(
		[
			{
				idempotencyKey: `old-${DUP}`,
				contactId: DUP,
				channel: 'whatsapp',
				purpose: 'marketing',
				campaign: 'winter',
				caps: [],
			},
		],
		longAgo,
	);
	await store.completeTouch(`old-${DUP}`, { status: 'sent', providerMessageId: 'wamid.erase-old' });
	expect(await store.applyRetention({ keepMs: 396 * 86_400_000, now })).toBe(1);
	await store.mergeContacts(DUP, ID, 'test');
	await store.recordConsent([
		{
			contactId: ID,
			channel: 'email',
			purpose: 'marketing',
			address: EMAIL,
			action: 'grant',
			evidence: { source: 'form', wording: `Yes, ${NAME} wants offers`, ipAddress: '203.0.113.7' },
			occurredAt: now,
		},
		{
			contactId: ID,
			channel: 'sms',
			purpose: 'marketing',
			address: PHONE,
			action: 'request',
			evidence: { source: 'form' },
			confirmTokenHash: `token-of-${ID}`,
			occurredAt: now,
		},
	]);
	await store.addSuppressions([
		{ address: PHONE, channel: 'sms', reason: 'manual', note: `asked by ${NAME}` },
	]);
	await store.reserveTouches(
		[
			{
				idempotencyKey: `key-${ID}`,
				contactId: ID,
				channel: 'whatsapp',
				purpose: 'service',
				campaign: 'care',
				caps: [],
			},
		],
		now,
	);
	await store.completeTouch(`key-${ID}`, { status: 'sent', providerMessageId: 'wamid.erase-1' });
	await store.recordInbound([{ contactId: ID, channel: 'whatsapp', at: now }]);
	// The durable inbox: a message kept for its person, and a delivery status, as the trigger keeps them.
	await store.markProcessed(
		'meta:wf-erase:node',
		[`wamid.in-${ID}`],
		new Map([[`wamid.in-${ID}`, ID]]),
		{
			workflowId: 'wf-erase',
			events: new Map([
				[
					`wamid.in-${ID}`,
					JSON.stringify({ contactId: ID, contact: { phone: PHONE, name: NAME }, text: TEXT }),
				],
			]),
		},
	);
	await store.markProcessed('meta:wf-erase:node', ['status:read:wamid.erase-1'], undefined, {
		workflowId: 'wf-erase',
		events: new Map([
			[
				'status:read:wamid.erase-1',
				JSON.stringify({
					kind: 'status',
					status: 'read',
					contact: { phone: PHONE, whatsappId: PHONE.slice(1) },
					providerMessageId: 'wamid.erase-1',
				}),
			],
		]),
	});
	await store.saveEngagement([{ contactId: ID, score: 12, updatedAt: now }]);
	await store.trackJourneyEvents(
		'Care',
		[{ eventId: `ev-${ID}`, contactId: ID, event: 'asked', at: now }],
		(state) => ({ state: state ?? { stage: 'Asked', enteredAt: now } }),
	);
	await store.putCached([
		{ hash: `hash-${ID}`, response: JSON.stringify({ text: `Hola ${NAME}` }), contactId: ID },
	]);
	await store.addTurns([
		{ contactId: ID, role: 'user', text: TEXT, at: now },
		{ contactId: ID, role: 'assistant', text: `Thanks ${NAME}`, at: now },
	]);
	await store.saveFormSessions('Lead', [
		{
			contactId: ID,
			status: 'active',
			step: 'email',
			answers: { email: EMAIL, name: NAME },
			startedAt: now,
			updatedAt: now,
		},
	]);
	await store.addInAppMessages([
		{
			id: `inapp-${ID}`,
			contactId: ID,
			title: `For ${NAME}`,
			body: TEXT,
			createdAt: now,
			expiresAt: now + 86400_000,
		},
	]);
	await store.saveTrackedLinks([
		{
			code: `code${ID.replace(/-/g, '')}`,
			contactId: ID,
			channel: 'email',
			campaign: 'care',
			url: `https://glow.example/u?email=${EMAIL}`,
		},
	]);
}

describe.each(backends())('Erase walks the schema on %s', (_name, makeBackend) => {
	const opened = useStore(makeBackend);

	it('every table is filled with the person or holds no personal data; after Erase no column of any row holds anything of them', async () => {
		const { store } = opened();
		await fillEveryTable(store);
		const before = await markersByTable(store);
		// Coverage: a table in neither list fails here (fill it above, or say why it holds no personal data).
		const uncovered = Object.keys(before).filter(
			(t) => !NO_PERSONAL_DATA[t] && before[t].length === 0,
		);
		expect({ uncovered }).toEqual({ uncovered: [] });
		for (const t of Object.keys(NO_PERSONAL_DATA))
			expect({ t, markers: before[t] ?? [] }).toEqual({ t, markers: [] });

		await store.eraseContact(ID, [PHONE, EMAIL]);
		const after = await markersByTable(store);
		// Before, the delivery status kept with no contact id (phone in its JSON) survived Erase.
		expect(Object.fromEntries(Object.entries(after).filter(([, m]) => m.length))).toEqual({});
	});
});
