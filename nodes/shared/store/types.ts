/**
 * The Convergent store contract. Two implementations (SQLite through node:sqlite, PostgreSQL
 * through pg) pass the same contract suite (test/store). Everything durable the nodes know
 * lives behind this interface; SQL lives only in nodes/shared/store.
 *
 * Batching rule: every "many" method takes a list and costs O(list / chunk) queries.
 * Times are epoch milliseconds (numbers) at this boundary.
 */
import type { Channel } from '../contact';
import type {
	AbMetric,
	AddressRecord,
	AiUsageRow,
	AiUsageTotal,
	CampaignReport,
	ClaimResult,
	ConsentEventInput,
	ConsentEvidence,
	ConsentKey,
	ConsentLedgerEntry,
	ConsentState,
	ContactExport,
	FormSession,
	InAppMessage,
	InboundRecord,
	InboxEvent,
	InboxKey,
	JourneyStateRow,
	JourneyTransitionRow,
	PersonRef,
	ProfileInput,
	ReservationRequest,
	ReservationResult,
	ResolveOptions,
	ResolvedPerson,
	SuppressionEntry,
	TouchOutcome,
	TouchRecord,
	TrackedLink,
} from '../domain';

// The domain vocabulary lives in nodes/shared/domain; it is named here too for the store's callers.
export * from '../domain';

/** The store itself: its engine, migrations, transactions. */
export interface StoreLifecycle {
	readonly dialect: 'sqlite' | 'postgres';
	/** Applies pending migrations (idempotent; safe when two processes start at once). */
	init(): Promise<void>;
	close(): Promise<void>;
	/** Runs `fn` against this store inside one transaction: everything it writes lands, or nothing. */
	atomically<T>(fn: (store: Store) => Promise<T>): Promise<T>;
}

/** Consent ledger (append-only) and the current state it folds into. */
export interface ConsentStore {
	recordConsent(events: ConsentEventInput[]): Promise<ConsentLedgerEntry[]>;
	getConsentStates(keys: ConsentKey[]): Promise<Map<string, ConsentState>>; // key: consentKeyString
	/** Double opt-in: finds the pending request by token hash; single use; checks expiry. */
	confirmConsent(
		tokenHash: string,
		evidence: ConsentEvidence,
		now?: number,
	): Promise<
		| { outcome: 'confirmed'; entry: ConsentLedgerEntry }
		| { outcome: 'expired' | 'unknown' | 'used' }
	>;
}

/** Addresses never to contact. */
export interface SuppressionStore {
	addSuppressions(entries: SuppressionEntry[]): Promise<void>;
	removeSuppressions(entries: Array<{ address: string; channel?: Channel }>): Promise<number>;
	/** Returns the suppressions that match any of the addresses (channel-specific or global). */
	findSuppressions(addresses: string[]): Promise<SuppressionEntry[]>;
}

/** Touch log: atomic cap and idempotency reservation, the claim, then the outcome. */
export interface TouchStore {
	reserveTouches(requests: ReservationRequest[], now?: number): Promise<ReservationResult[]>;
	completeTouch(idempotencyKey: string, outcome: TouchOutcome): Promise<void>;
	/**
	 * Claims reserved touches for sending: 'reserved' -> 'sending', atomically, so that of several
	 * executions holding the same key (n8n queue mode, a retried execution) exactly one sends.
	 * Returns per key: 'claimed' (send it), 'sent', 'sending' (another execution has it, or one
	 * that stopped mid-send: never sent again), 'failed', or 'missing' (no reservation).
	 */
	claimTouches(idempotencyKeys: string[], now?: number): Promise<Map<string, ClaimResult>>;
	/** Frees reservations that were never attempted (a later node blocked them, a preview, a Check that only looked). */
	releaseTouches(idempotencyKeys: string[]): Promise<void>;
	getTouches(idempotencyKeys: string[]): Promise<Map<string, TouchRecord>>;
	/**
	 * Rolls the sends created more than `keepMs` ago (at least a month) into the report's daily
	 * rollups, keeping only what keeps them from going twice and caps exact (retention.ts). At most
	 * one batch per call, oldest first; returns how many were rolled up.
	 */
	applyRetention(options: { keepMs: number; now?: number }): Promise<number>;
	/** Records delivery state (delivered/read/failed) from a status webhook. */
	/** The touch the status is about (its person, campaign, key), or undefined when no send has that id. */
	updateDeliveryStatus(
		providerMessageId: string,
		deliveryStatus: string,
	): Promise<TouchRecord | undefined>;
}

/** Engagement: in-app messages, tracked links and clicks, scores carried across runs. */
export interface EngagementStore {
	/** In-app messages sent to people's apps (an existing id is left as it is: a replayed send is one message). */
	addInAppMessages(rows: InAppMessage[]): Promise<void>;
	/** Short tracked links: each code with what it stands for (kept once; the same code is the same link). */
	saveTrackedLinks(links: TrackedLink[]): Promise<void>;
	/** The links these codes stand for; an unknown code is absent. */
	findTrackedLinks(codes: string[]): Promise<Map<string, TrackedLink>>;
	/** A person's unexpired in-app messages, newest first. */
	listInAppMessages(contactId: string, now: number, limit: number): Promise<InAppMessage[]>;
	/** Marks the person's messages read (only theirs); returns how many changed. */
	markInAppRead(contactId: string, ids: string[], now: number): Promise<number>;
	/** A click on a tracked link: the person's latest sent touch of the campaign on the channel becomes clicked. */
	recordClick(
		contactId: string,
		channel: string,
		campaign: string,
	): Promise<TouchRecord | undefined>;
	getEngagement(contactIds: string[]): Promise<Map<string, { score: number; updatedAt: number }>>;
	saveEngagement(
		rows: Array<{ contactId: string; score: number; updatedAt: number }>,
	): Promise<void>;
}

/** Reports: blocked counts, the campaign report, A/B results, AI usage. */
export interface InsightStore {
	/** Blocked decisions, counted per campaign, channel, reason and UTC day. */
	countBlocked(
		rows: Array<{ campaign?: string; channel: string; reason: string; at: number }>,
	): Promise<void>;
	/** The campaign report over the send log (see CampaignReportRow), for sends at or after `since`. */
	campaignReport(options: {
		since: number;
		campaign?: string;
		replyWindowMs: number;
		conversionWindowMs: number;
		journey: string;
	}): Promise<CampaignReport>;
	/**
	 * A campaign's sends per A/B variant and how many of them reached the metric: delivered, read,
	 * clicked (delivery status), replied (the person wrote on the channel within `windowMs` of the
	 * send) or converted (reached the goal of `journey` within `windowMs`).
	 */
	abTestResults(
		campaign: string,
		metric: AbMetric,
		options: { windowMs: number; journey?: string },
	): Promise<Array<{ variant: string; sent: number; successes: number }>>;
	/** One row per node run that used a model. */
	recordAiUsage(rows: AiUsageRow[]): Promise<void>;
	/** Usage summed by campaign, model and operation, for runs at or after `since` (epoch ms). */
	aiUsageReport(since: number): Promise<AiUsageTotal[]>;
}

/** Inbound log (service windows) and the durable inbox of provider events. */
export interface InboxStore {
	recordInbound(records: InboundRecord[]): Promise<void>;
	/** Last inbound time per contact+channel; key: `${contactId}\u0000${channel}` */
	getLastInbound(
		keys: Array<{ contactId: string; channel: Channel }>,
	): Promise<Map<string, number>>;
	/**
	 * Webhook de-duplication: returns the ids that were NOT seen before, and records them. With
	 * `inbox`, each new id that has an event there is kept pending in the durable inbox (replayable
	 * for `workflowId` until markInboxDone); the others are done on arrival.
	 */
	markProcessed(
		scope: string,
		ids: string[],
		contactOf?: Map<string, string>,
		inbox?: { workflowId: string; events: Map<string, string> },
	): Promise<Set<string>>;
	/** Marks inbox events done and drops their payload; returns the ids that were pending. */
	markInboxDone(events: InboxKey[], now?: number): Promise<Set<string>>;
	/**
	 * Takes the workflow's pending events emitted before `olderThan` (oldest first, at most `limit`)
	 * for one more attempt; those already emitted `maxAttempts` times are abandoned instead. Atomic:
	 * two replays never take the same event.
	 */
	claimInboxReplay(
		workflowId: string,
		options: { olderThan: number; limit: number; maxAttempts: number; now?: number },
	): Promise<{ replay: InboxEvent[]; abandoned: InboxEvent[] }>;
	/** The ids already marked processed (read only). */
	findProcessed(scope: string, ids: string[]): Promise<Set<string>>;
}

/** Shared rate limits (channels/limiter.ts sharedLimiter, RateSlots): one atomic statement per send. */
export interface RateSlotStore {
	/** Takes the key's next slot, `intervalUs` x the key's slow factor after the previous one (not before `nowUs`); returns its start (µs). */
	takeRateSlot(key: string, intervalUs: number, nowUs: number): Promise<number>;
	/** A 429 on the key at `nowUs`: its pace slows (SLOW_DOWN) and its next slot moves one slowed interval on. */
	slowRate(key: string, intervalUs: number, nowUs: number): Promise<void>;
	/** No slot of the key before `untilUs`. */
	pauseRate(key: string, untilUs: number): Promise<void>;
	/** How far the store's clock is ahead of this process's (ms): the shared rate clock runs on the store's time. */
	clockOffsetMs(): Promise<number>;
}

/** Journeys (Journey node); `apply` is the journey core's transition function. */
export interface JourneyStore {
	trackJourneyEvents<R extends { state: JourneyStateRow }>(
		journey: string,
		events: Array<{ eventId: string; contactId: string; event: string; at: number }>,
		apply: (state: JourneyStateRow | undefined, event: string, at: number) => R,
	): Promise<Array<{ duplicate: true } | { duplicate: false; result: R }>>;
	getJourneyStates(journey: string, contactIds: string[]): Promise<Map<string, JourneyStateRow>>;
	getJourneyTransitions(journey: string, contactId?: string): Promise<JourneyTransitionRow[]>;
	getAllJourneyStates(journey: string): Promise<Array<JourneyStateRow & { contactId: string }>>;
}

/** AI Content: response cache by prompt hash, conversation history per contact; Conversational Form sessions. */
export interface ConversationStore {
	getCached(hashes: string[]): Promise<Map<string, string>>;
	/** `contactId` on an entry whose prompt held the person's data: erased with the person. */
	putCached(entries: Array<{ hash: string; response: string; contactId?: string }>): Promise<void>;
	addTurns(
		turns: Array<{ contactId: string; role: 'user' | 'assistant'; text: string; at: number }>,
	): Promise<void>;
	/** The last `limit` turns of each contact, oldest first. */
	getTurns(
		contactIds: string[],
		limit: number,
	): Promise<Map<string, Array<{ role: 'user' | 'assistant'; text: string; at: number }>>>;
	getFormSessions(form: string, contactIds: string[]): Promise<Map<string, FormSession>>;
	saveFormSessions(
		form: string,
		sessions: Array<FormSession & { contactId: string }>,
	): Promise<void>;
}

/** People: one contact, many addresses (store/people.ts). */
export interface PeopleStore {
	/** Resolves each ref to its person (batched); creates and links only when asked. */
	resolveContacts(refs: PersonRef[], options?: ResolveOptions): Promise<ResolvedPerson[]>;
	/** Which of these E.164 numbers the contact book holds (normalised when linked: known valid). */
	knownPhones(values: string[]): Promise<Set<string>>;
	/** Sets profile attributes (fields not given are kept; attributes are merged key by key). */
	upsertProfiles(rows: Array<ProfileInput & { contactId: string }>): Promise<void>;
	/** The profile time zones of these contacts (only those that have one): the hot path of quiet hours. */
	getTimeZones(contactIds: string[]): Promise<Map<string, string>>;
	getAddresses(contactIds: string[]): Promise<AddressRecord[]>;
	/**
	 * Moves everything of `fromId` to `intoId` (ledger, state refolded in event time so the later
	 * withdrawal wins, touches, caps, inbound, journeys, conversations, sessions, addresses) and
	 * records the merge; `fromId` then resolves to `intoId`.
	 */
	mergeContacts(fromId: string, intoId: string, actor?: string): Promise<{ moved: number }>;
}

/** Data subject rights: per person, under every id and address they are known by. */
export interface RightsStore {
	exportContact(contactId: string): Promise<ContactExport>;
	/**
	 * A key for signing links (one-click unsubscribe), derived from the store's own secret: every
	 * n8n process on this store signs and verifies alike, and the secret itself never leaves the store.
	 */
	linkKey(): Promise<string>;
	/** Removes the person's data from every table; leaves a keyed hash (HMAC under this store's
	 *  secret) of each address so an erased address is recognised on re-import. */
	eraseContact(
		contactId: string,
		addresses: string[],
	): Promise<{ tablesTouched: number; ids: string[] }>;
	/** True when the (normalised) address belongs to an erased contact. */
	findErasedAddresses(addresses: string[]): Promise<Set<string>>;
}

/** The whole store: every role. A caller takes the narrowest role it needs. */
export interface Store
	extends StoreLifecycle,
		ConsentStore,
		SuppressionStore,
		TouchStore,
		EngagementStore,
		InsightStore,
		InboxStore,
		RateSlotStore,
		JourneyStore,
		ConversationStore,
		PeopleStore,
		RightsStore {}
