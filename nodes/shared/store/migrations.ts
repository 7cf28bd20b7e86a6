/**
 * Versioned migrations, applied automatically at first use. Each entry is applied once, in
 * order, inside a transaction; two processes starting at once are serialised (PostgreSQL:
 * an advisory lock; SQLite: BEGIN IMMEDIATE), so neither breaks the other.
 * Later modules (journey, engagement, AI cache, conversations, forms) append their entries.
 * `{{id}}` becomes an auto-increment primary key in each dialect.
 */
import type { Dialect, SqlDb } from './db';
import { upgradeToPeople } from './upgrade-people';

export interface Migration {
	id: string;
	sql: string;
	/** Data steps that SQL alone cannot do, run after `sql` in the same transaction. */
	run?: (tx: SqlDb) => Promise<void>;
}

export const MIGRATIONS: Migration[] = [
	{
		id: '001_consent_touch_inbound',
		sql: `
CREATE TABLE IF NOT EXISTS consent_events (
	id {{id}},
	contact_id TEXT NOT NULL,
	channel TEXT NOT NULL,
	purpose TEXT NOT NULL,
	address TEXT,
	action TEXT NOT NULL,
	source TEXT NOT NULL,
	wording TEXT,
	wording_hash TEXT,
	wording_version TEXT,
	ip_address TEXT,
	user_agent TEXT,
	actor TEXT,
	extra TEXT,
	occurred_at BIGINT NOT NULL,
	recorded_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS consent_events_contact ON consent_events (contact_id, occurred_at);
CREATE TABLE IF NOT EXISTS consent_state (
	contact_id TEXT NOT NULL,
	channel TEXT NOT NULL,
	purpose TEXT NOT NULL,
	status TEXT NOT NULL,
	updated_at BIGINT NOT NULL,
	PRIMARY KEY (contact_id, channel, purpose)
);
CREATE TABLE IF NOT EXISTS consent_tokens (
	token_hash TEXT PRIMARY KEY,
	contact_id TEXT NOT NULL,
	channel TEXT NOT NULL,
	purpose TEXT NOT NULL,
	address TEXT,
	expires_at BIGINT NOT NULL,
	used_at BIGINT,
	created_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS consent_tokens_contact ON consent_tokens (contact_id);
CREATE TABLE IF NOT EXISTS suppressions (
	address TEXT NOT NULL,
	channel TEXT NOT NULL,
	reason TEXT NOT NULL,
	note TEXT,
	created_at BIGINT NOT NULL,
	PRIMARY KEY (address, channel)
);
CREATE TABLE IF NOT EXISTS touches (
	idempotency_key TEXT PRIMARY KEY,
	contact_id TEXT NOT NULL,
	channel TEXT NOT NULL,
	purpose TEXT NOT NULL,
	campaign TEXT,
	status TEXT NOT NULL,
	provider_message_id TEXT,
	error_code TEXT,
	error_message TEXT,
	delivery_status TEXT,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS touches_contact_time ON touches (contact_id, created_at);
CREATE INDEX IF NOT EXISTS touches_provider_id ON touches (provider_message_id);
CREATE TABLE IF NOT EXISTS inbound (
	contact_id TEXT NOT NULL,
	channel TEXT NOT NULL,
	last_at BIGINT NOT NULL,
	PRIMARY KEY (contact_id, channel)
);
CREATE TABLE IF NOT EXISTS processed_ids (
	scope TEXT NOT NULL,
	id TEXT NOT NULL,
	at BIGINT NOT NULL,
	PRIMARY KEY (scope, id)
);
CREATE TABLE IF NOT EXISTS erased_addresses (
	address_hash TEXT PRIMARY KEY,
	erased_at BIGINT NOT NULL
);
`,
	},
	{
		id: '002_engagement',
		sql: `
CREATE TABLE IF NOT EXISTS engagement (
	contact_id TEXT PRIMARY KEY,
	score DOUBLE PRECISION NOT NULL,
	updated_at BIGINT NOT NULL
);
`,
	},
	{
		id: '003_journey',
		sql: `
CREATE TABLE IF NOT EXISTS journey_state (
	journey TEXT NOT NULL,
	contact_id TEXT NOT NULL,
	stage TEXT NOT NULL,
	entered_at BIGINT NOT NULL,
	goal_reached_at BIGINT,
	exited_at BIGINT,
	PRIMARY KEY (journey, contact_id)
);
CREATE TABLE IF NOT EXISTS journey_events (
	journey TEXT NOT NULL,
	event_id TEXT NOT NULL,
	contact_id TEXT NOT NULL,
	event TEXT NOT NULL,
	at BIGINT NOT NULL,
	PRIMARY KEY (journey, event_id)
);
CREATE TABLE IF NOT EXISTS journey_transitions (
	id {{id}},
	journey TEXT NOT NULL,
	contact_id TEXT NOT NULL,
	from_stage TEXT,
	to_stage TEXT NOT NULL,
	at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS journey_transitions_journey ON journey_transitions (journey, contact_id, at);
`,
	},
	{
		id: '004_ai',
		sql: `
CREATE TABLE IF NOT EXISTS ai_cache (
	prompt_hash TEXT PRIMARY KEY,
	response TEXT NOT NULL,
	created_at BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS conversation_turns (
	id {{id}},
	contact_id TEXT NOT NULL,
	role TEXT NOT NULL,
	text TEXT NOT NULL,
	at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS conversation_turns_contact ON conversation_turns (contact_id, at);
`,
	},
	{
		id: '005_forms',
		sql: `
CREATE TABLE IF NOT EXISTS form_sessions (
	form TEXT NOT NULL,
	contact_id TEXT NOT NULL,
	status TEXT NOT NULL,
	step TEXT,
	answers TEXT NOT NULL,
	started_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL,
	PRIMARY KEY (form, contact_id)
);
`,
	},
	{
		// Consent state is the fold of the ledger in event-time order; a keyword STOP over a grant is
		// remembered as restorable so that START restores it and nothing else.
		id: '006_consent_order',
		sql: `
ALTER TABLE consent_events ADD COLUMN keyword TEXT;
ALTER TABLE consent_state ADD COLUMN restorable INTEGER NOT NULL DEFAULT 0;
`,
	},
	{
		// People: one contact, many addresses; consent bound to addresses; keyed tombstones.
		id: '007_people',
		sql: `
CREATE TABLE IF NOT EXISTS contacts (
	contact_id TEXT PRIMARY KEY,
	merged_into TEXT,
	name TEXT,
	locale TEXT,
	time_zone TEXT,
	preferred_channel TEXT,
	attributes TEXT,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS contacts_merged_into ON contacts (merged_into);
CREATE TABLE IF NOT EXISTS contact_addresses (
	kind TEXT NOT NULL,
	value TEXT NOT NULL,
	contact_id TEXT NOT NULL,
	source TEXT,
	first_seen BIGINT NOT NULL,
	last_seen BIGINT NOT NULL,
	PRIMARY KEY (kind, value)
);
CREATE INDEX IF NOT EXISTS contact_addresses_value ON contact_addresses (value);
CREATE INDEX IF NOT EXISTS contact_addresses_contact ON contact_addresses (contact_id);
CREATE TABLE IF NOT EXISTS contact_merges (
	id {{id}},
	from_id TEXT NOT NULL,
	into_id TEXT NOT NULL,
	actor TEXT,
	at BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS store_meta (
	name TEXT PRIMARY KEY,
	value TEXT NOT NULL
);
ALTER TABLE consent_state ADD COLUMN addresses TEXT;
ALTER TABLE processed_ids ADD COLUMN contact_id TEXT;
ALTER TABLE ai_cache ADD COLUMN contact_id TEXT;
CREATE INDEX IF NOT EXISTS processed_ids_contact ON processed_ids (contact_id);
CREATE INDEX IF NOT EXISTS ai_cache_contact ON ai_cache (contact_id);
`,
		run: upgradeToPeople,
	},
	{
		// A provider's rate limit is per sender, not per process: one slot clock per credential and
		// sender, shared by every worker on the store (microseconds: 76/s is a 13,158 µs interval).
		id: '008_rate_slots',
		sql: `
CREATE TABLE IF NOT EXISTS rate_slots (
	key TEXT PRIMARY KEY,
	next_at BIGINT NOT NULL
);
`,
	},
	{
		// The durable inbox: a trigger's de-duplication row also keeps the event it emitted, pending
		// until the run that handled it marks it done (Touchpoint Inbox), so a run that died (a killed
		// queue worker) is replayed from the store. The payload is dropped once the event is done.
		id: '009_inbox',
		sql: `
ALTER TABLE processed_ids ADD COLUMN workflow_id TEXT;
ALTER TABLE processed_ids ADD COLUMN state TEXT;
ALTER TABLE processed_ids ADD COLUMN event TEXT;
ALTER TABLE processed_ids ADD COLUMN emitted_at BIGINT;
ALTER TABLE processed_ids ADD COLUMN attempts INTEGER;
ALTER TABLE processed_ids ADD COLUMN done_at BIGINT;
CREATE INDEX IF NOT EXISTS processed_ids_pending ON processed_ids (workflow_id, emitted_at) WHERE state = 'pending';
`,
	},
	{
		// A reservation has no provider message id yet: indexing only the touches that have one keeps
		// 100,000 reservations from each inserting a NULL into this index (status updates look up
		// by id, which the partial index answers).
		id: '010_touches_provider_partial',
		sql: `
DROP INDEX IF EXISTS touches_provider_id;
CREATE INDEX IF NOT EXISTS touches_provider_id ON touches (provider_message_id) WHERE provider_message_id IS NOT NULL;
`,
	},
	{
		// What AI cost: one row per node run that used a model (calls, tokens, cache hits), by campaign,
		// so a campaign's AI cost can be reported. No personal data.
		id: '011_ai_usage',
		sql: `
CREATE TABLE IF NOT EXISTS ai_usage (
	id {{id}},
	at BIGINT NOT NULL,
	workflow_id TEXT,
	execution_id TEXT,
	node TEXT NOT NULL,
	operation TEXT NOT NULL,
	model TEXT NOT NULL,
	campaign TEXT NOT NULL,
	items INTEGER NOT NULL,
	calls INTEGER NOT NULL,
	input_tokens BIGINT NOT NULL,
	output_tokens BIGINT NOT NULL,
	cache_hits INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS ai_usage_at ON ai_usage (at);
`,
	},
	{
		// A/B tests and campaign reports: the variant a send belonged to. No index for reports: every
		// reservation would pay for it on the hot path, and a report reads the touches once (100,000 in
		// a quarter of a second).
		id: '012_touch_variant',
		sql: `
ALTER TABLE touches ADD COLUMN variant TEXT;
`,
	},
	{
		// Campaign reports: how many were blocked and why, counted per campaign, channel, reason and
		// day (a count, not a row per decision: no personal data, nothing on the hot path but an upsert).
		id: '013_blocked_counts',
		sql: `
CREATE TABLE IF NOT EXISTS blocked_counts (
	campaign TEXT NOT NULL,
	channel TEXT NOT NULL,
	reason TEXT NOT NULL,
	day BIGINT NOT NULL,
	count BIGINT NOT NULL,
	PRIMARY KEY (campaign, channel, reason, day)
);
`,
	},
	{
		// In-app messages: kept per person until they expire, for the app to list and mark read.
		id: '014_inapp_messages',
		sql: `
CREATE TABLE IF NOT EXISTS inapp_messages (
	id TEXT PRIMARY KEY,
	contact_id TEXT NOT NULL,
	campaign TEXT,
	title TEXT NOT NULL,
	body TEXT NOT NULL,
	image_url TEXT,
	cta_label TEXT,
	cta_url TEXT,
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL,
	read_at BIGINT
);
CREATE INDEX IF NOT EXISTS inapp_messages_contact ON inapp_messages (contact_id, created_at);
`,
	},
	{
		// Replies: the first message from the person on the channel after a send, kept on the send
		// (the inbound table holds only the latest, so a reply followed by a later message was lost
		// to the report). Stores written before keep what the latest message still shows.
		id: '015_touch_replied_at',
		sql: `
ALTER TABLE touches ADD COLUMN replied_at BIGINT;
UPDATE touches SET replied_at = (
	SELECT i.last_at FROM inbound i
	WHERE i.contact_id = touches.contact_id AND i.channel = touches.channel AND i.last_at > touches.created_at AND i.last_at <= touches.created_at + ${30 * 86_400_000}
)
WHERE status = 'sent';
`,
	},
	{
		// Short tracked links: the code in a link stands for the person, channel, campaign and URL
		// kept here (an SMS link about 30 characters long instead of one carrying all of it).
		id: '016_tracked_links',
		sql: `
CREATE TABLE IF NOT EXISTS tracked_links (
	code TEXT PRIMARY KEY,
	contact_id TEXT NOT NULL,
	channel TEXT NOT NULL,
	campaign TEXT NOT NULL,
	url TEXT NOT NULL,
	created_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS tracked_links_contact ON tracked_links (contact_id);
`,
	},
	{
		// A 429 slows the shared clock instead of only pausing it (limiter.ts SLOW_DOWN): the key's
		// slow factor, when a burst of 429s last raised it and how many bursts came in a row, and
		// the start of the slot last handed out (the interval after it depends on the factor it had).
		id: '017_rate_slow_down',
		sql: `
ALTER TABLE rate_slots ADD COLUMN slot_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rate_slots ADD COLUMN slow_factor DOUBLE PRECISION NOT NULL DEFAULT 1;
ALTER TABLE rate_slots ADD COLUMN slowed_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rate_slots ADD COLUMN slow_streak INTEGER NOT NULL DEFAULT 1;
`,
	},
	{
		// What a send led to, kept apart: when it left (windows are measured from it, not from the
		// reservation a Wait may hold for days), and a complaint or a bounce beside the furthest
		// status it reached instead of over it. Older complaints and bounces keep their time only.
		id: '018_touch_outcomes',
		sql: `
ALTER TABLE touches ADD COLUMN sent_at BIGINT;
ALTER TABLE touches ADD COLUMN complained_at BIGINT;
ALTER TABLE touches ADD COLUMN bounced_at BIGINT;
UPDATE touches SET sent_at = created_at WHERE status = 'sent';
UPDATE touches SET complained_at = updated_at WHERE delivery_status = 'complaint';
UPDATE touches SET bounced_at = updated_at WHERE delivery_status = 'bounced';
`,
	},
	{
		// Reports read a window, not the table: the touches since a time (every campaign) or of one
		// campaign since a time, and the blocked counts since a day. All three are appended to in
		// time order (a campaign's sends land at the end of its range), so the hot path pays a page
		// or two per chunk for them, not a page per row as a key index does.
		id: '019_report_windows',
		sql: `
CREATE INDEX IF NOT EXISTS touches_created ON touches (created_at);
CREATE INDEX IF NOT EXISTS touches_campaign ON touches (campaign, created_at);
CREATE INDEX IF NOT EXISTS blocked_counts_day ON blocked_counts (day);
`,
	},
	{
		// Retention: a send older than the store keeps detail for is counted into daily rollups (the
		// report's counts per day, campaign, channel and A/B arm; beside them failures by why, and
		// replies, opt-outs and each journey's conversions within 1 hour ... 30 days) and only its key, person, channel, purpose, status and time are kept,
		// so it is never sent twice and caps still count it.
		id: '020_retention',
		sql: `
CREATE TABLE IF NOT EXISTS touch_rollups (
	day BIGINT NOT NULL,
	campaign TEXT NOT NULL,
	channel TEXT NOT NULL,
	variant TEXT NOT NULL,
	reserved BIGINT NOT NULL,
	sent BIGINT NOT NULL,
	delivered BIGINT NOT NULL,
	read_count BIGINT NOT NULL,
	clicked BIGINT NOT NULL,
	failed BIGINT NOT NULL,
	replied BIGINT NOT NULL,
	converted BIGINT NOT NULL,
	opt_outs BIGINT NOT NULL,
	complaints BIGINT NOT NULL,
	bounces BIGINT NOT NULL,
	PRIMARY KEY (day, campaign, channel, variant)
);
CREATE INDEX IF NOT EXISTS touch_rollups_campaign ON touch_rollups (campaign, day);
CREATE TABLE IF NOT EXISTS touch_rollup_counts (
	day BIGINT NOT NULL,
	campaign TEXT NOT NULL,
	channel TEXT NOT NULL,
	variant TEXT NOT NULL,
	kind TEXT NOT NULL,
	name TEXT NOT NULL,
	within_hours BIGINT NOT NULL,
	n BIGINT NOT NULL,
	PRIMARY KEY (day, campaign, channel, variant, kind, name, within_hours)
);
CREATE INDEX IF NOT EXISTS touch_rollup_counts_campaign ON touch_rollup_counts (campaign, day);
CREATE TABLE IF NOT EXISTS sent_keys (
	idempotency_key TEXT PRIMARY KEY,
	contact_id TEXT NOT NULL,
	channel TEXT NOT NULL,
	purpose TEXT NOT NULL,
	status TEXT NOT NULL,
	created_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS sent_keys_contact_time ON sent_keys (contact_id, created_at);
CREATE INDEX IF NOT EXISTS journey_state_contact ON journey_state (contact_id);
`,
	},
];

/** Tables holding personal data by contact: export reads them, erase deletes from them. */
export const CONTACT_TABLES: Array<{ table: string; column: string; exportAs: string }> = [
	{ table: 'consent_events', column: 'contact_id', exportAs: 'consentLedgerRows' },
	{ table: 'consent_state', column: 'contact_id', exportAs: 'consentStateRows' },
	{ table: 'consent_tokens', column: 'contact_id', exportAs: 'consentTokens' },
	{ table: 'touches', column: 'contact_id', exportAs: 'touchRows' },
	{ table: 'sent_keys', column: 'contact_id', exportAs: 'sentKeys' },
	{ table: 'inbound', column: 'contact_id', exportAs: 'inboundRows' },
	{ table: 'engagement', column: 'contact_id', exportAs: 'engagement' },
	{ table: 'journey_state', column: 'contact_id', exportAs: 'journeyStates' },
	{ table: 'journey_events', column: 'contact_id', exportAs: 'journeyEvents' },
	{ table: 'journey_transitions', column: 'contact_id', exportAs: 'journeyTransitions' },
	{ table: 'conversation_turns', column: 'contact_id', exportAs: 'conversation' },
	{ table: 'form_sessions', column: 'contact_id', exportAs: 'formSessions' },
	{ table: 'contact_addresses', column: 'contact_id', exportAs: 'addresses' },
	{ table: 'processed_ids', column: 'contact_id', exportAs: 'processedMessages' },
	{ table: 'ai_cache', column: 'contact_id', exportAs: 'aiCache' },
	{ table: 'inapp_messages', column: 'contact_id', exportAs: 'inAppMessages' },
	{ table: 'tracked_links', column: 'contact_id', exportAs: 'trackedLinks' },
];

function render(sql: string, dialect: Dialect): string {
	return sql.replace(
		/\{\{id\}\}/g,
		dialect === 'sqlite' ? 'INTEGER PRIMARY KEY AUTOINCREMENT' : 'BIGSERIAL PRIMARY KEY',
	);
}

export async function migrate(db: SqlDb, schema?: string): Promise<string[]> {
	const applied: string[] = [];
	await db.transaction(async (tx) => {
		if (tx.dialect === 'postgres') {
			// Serialises concurrent first starts (several workers) until this transaction ends.
			await tx.query("SELECT pg_advisory_xact_lock(hashtext('convergent-store-migrations'))");
			if (schema) await tx.exec(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
		}
		await tx.exec(
			'CREATE TABLE IF NOT EXISTS schema_migrations (id TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)',
		);
		const done = new Set(
			(await tx.query<{ id: string }>('SELECT id FROM schema_migrations')).map((r) => r.id),
		);
		for (const m of MIGRATIONS) {
			if (done.has(m.id)) continue;
			await tx.exec(render(m.sql, tx.dialect));
			if (m.run) await m.run(tx);
			await tx.run('INSERT INTO schema_migrations (id, applied_at) VALUES ($1, $2)', [
				m.id,
				Date.now(),
			]);
			applied.push(m.id);
		}
	});
	return applied;
}
