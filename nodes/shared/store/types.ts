/**
 * The Convergent store contract. Two implementations (SQLite through node:sqlite, PostgreSQL
 * through pg) pass the same contract suite (test/store). Everything durable the nodes know
 * lives behind this interface; SQL lives only in nodes/shared/store.
 *
 * Batching rule: every "many" method takes a list and costs O(list / chunk) queries.
 * Times are epoch milliseconds (numbers) at this boundary.
 */
import type { Channel, Purpose } from '../contact';

export type ConsentStatus = 'granted' | 'withdrawn' | 'pending';

/** What a person agreed to (or withdrew), and the proof. GDPR art. 7: who, when, how, what wording. */
export interface ConsentEvidence {
	/** Where consent was collected: web form URL, 'whatsapp-keyword', 'import:crm-2026-05', ... */
	source: string;
	/** The exact wording shown, or a version label of it. */
	wording?: string;
	/** sha256 of the wording (computed when wording is given). */
	wordingHash?: string;
	wordingVersion?: string;
	ipAddress?: string;
	userAgent?: string;
	/** Who recorded it: 'contact', 'agent:maria', 'workflow:123'. */
	actor?: string;
	/** Anything else the caller wants kept with the event. */
	extra?: Record<string, unknown>;
}

export interface ConsentEventInput {
	contactId: string;
	channel: Channel;
	purpose: Purpose;
	/** The address the consent is for (phone, e-mail...). Optional: kept for evidence and erase. */
	address?: string;
	/**
	 * grant / confirm: an explicit, worded opt-in. withdraw: an opt-out. request: double opt-in
	 * pending. restore: an opt-in keyword (START, UNSTOP, YES...), which only undoes a keyword STOP
	 * that withdrew a grant; it never grants a purpose that was not granted before.
	 */
	action: 'grant' | 'withdraw' | 'request' | 'confirm' | 'restore';
	/** 'stop' on a withdrawal made by an opt-out keyword (a later restore may undo it). */
	keyword?: 'stop' | 'start';
	evidence: ConsentEvidence;
	/** When the person acted (epoch ms); defaults to now. */
	occurredAt?: number;
	/** For 'request' (double opt-in): token hash and expiry. */
	confirmTokenHash?: string;
	confirmExpiresAt?: number;
}

export interface ConsentState {
	contactId: string;
	channel: Channel;
	purpose: Purpose;
	status: ConsentStatus;
	/** When the event that decided the status occurred (not when it arrived). */
	updatedAt: number;
	/** Withdrawn by a keyword STOP over a grant: an opt-in keyword may restore it. */
	restorable?: boolean;
	/**
	 * The normalised addresses the grant covers (recorded with grant/confirm events). Empty for a
	 * grant recorded without an address: it then covers the addresses the person holds in the
	 * contact book, and nothing else.
	 */
	addresses?: string[];
}

export interface ConsentLedgerEntry extends ConsentEventInput {
	id: number;
	occurredAt: number;
	recordedAt: number;
	/** Set by recordConsent when an event counted after this one decides the status (the time rule). */
	supersededBy?: { action: ConsentEventInput['action']; at: number };
}

export interface ConsentKey {
	contactId: string;
	channel: Channel;
	purpose: Purpose;
}

export interface SuppressionEntry {
	/** Normalised address: lower-case e-mail, E.164 phone, token... */
	address: string;
	channel?: Channel; // undefined = all channels
	reason: 'bounced' | 'complained' | 'manual' | 'unsubscribed' | 'erased' | string;
	note?: string;
	createdAt?: number;
}

/**
 * reserved (cap slot taken) -> sending (one execution claimed it) -> sent | failed | unknown.
 * failed: the provider refused it or the connection was refused, so it provably never arrived:
 * a later reservation with the same key takes it again (under the caps, like a new touch).
 * unknown: the request may have reached the provider (a 502/504, a reset after sending, a 200
 * without a message id): never sent again automatically, and counted by the caps.
 */
export type TouchStatus = 'reserved' | 'sending' | 'sent' | 'failed' | 'unknown';
export type ClaimResult = 'claimed' | 'sending' | 'sent' | 'failed' | 'unknown' | 'missing';

export interface TouchRecord {
	idempotencyKey: string;
	contactId: string;
	channel: Channel;
	purpose: Purpose;
	campaign?: string;
	status: TouchStatus;
	providerMessageId?: string;
	errorCode?: string;
	errorMessage?: string;
	deliveryStatus?: string;
	/** The A/B arm the message belonged to. */
	variant?: string;
	createdAt: number;
	updatedAt: number;
	/** When it left (claimed just before its request); reply, conversion and opt-out windows start here. */
	sentAt?: number;
	/** Marked as spam (kept beside deliveryStatus, never over it). */
	complainedAt?: number;
	bouncedAt?: number;
}

/** A rolling-window frequency cap, e.g. max 2 marketing messages per 7 days on all channels. */
export interface FrequencyCapRule {
	/** Stable id shown in blocked reasons, e.g. 'marketing-2-per-7d'. */
	id: string;
	max: number;
	windowMs: number;
	/** undefined = all channels */
	channel?: Channel;
	/** undefined = all purposes */
	purpose?: Purpose;
}

export interface ReservationRequest {
	idempotencyKey: string;
	contactId: string;
	channel: Channel;
	purpose: Purpose;
	campaign?: string;
	/** Caps that apply to this touch (already filtered: transactional exemption is the caller's). */
	caps: FrequencyCapRule[];
}

export type ReservationResult =
	| { idempotencyKey: string; outcome: 'reserved' }
	/** The key exists already: nothing new reserved. `existing` says what happened to it. */
	| { idempotencyKey: string; outcome: 'duplicate'; existing: TouchRecord }
	/** A cap is full. retryAt = when the oldest counted touch leaves the window. */
	| { idempotencyKey: string; outcome: 'capped'; capId: string; retryAt: number };

export interface InboundRecord {
	contactId: string;
	channel: Channel;
	at: number;
}

/** Address kinds in the contact book. WhatsApp and SMS share 'phone'; 'whatsapp' is a wa_id / business-scoped id without a phone. */
export const ADDRESS_KINDS = [
	'email',
	'phone',
	'whatsapp',
	'messenger',
	'instagram',
	'push',
] as const;
export type AddressKind = (typeof ADDRESS_KINDS)[number];

/** A normalised address: lower-case e-mail, E.164 phone, the provider's id as given. */
export interface ContactAddress {
	kind: AddressKind;
	value: string;
}

export interface AddressRecord extends ContactAddress {
	contactId: string;
	source?: string;
	firstSeen: number;
	lastSeen: number;
}

export interface ContactProfile {
	contactId: string;
	name?: string;
	locale?: string;
	timeZone?: string;
	preferredChannel?: string;
	attributes?: Record<string, unknown>;
	createdAt: number;
	updatedAt: number;
}

export type ProfileInput = Partial<
	Pick<ContactProfile, 'name' | 'locale' | 'timeZone' | 'preferredChannel' | 'attributes'>
>;

/** What an item says about a person: an id (may be empty) and any addresses. */
export interface PersonRef {
	id?: string;
	addresses: ContactAddress[];
	/** Id for a new contact when neither the id nor any address is known (inbound: the phone, messenger:<PSID>...). */
	fallbackId?: string;
	profile?: ProfileInput;
}

export interface ResolveOptions {
	/** Create the contact when it is not in the book (default false: read only). */
	create?: boolean;
	/** Link the ref's addresses that have no owner to the person (default false). */
	link?: boolean;
	/** An address that belongs to someone else: 'error' (default) or 'move' it to this person. */
	onConflict?: 'error' | 'move';
	source?: string;
	now?: number;
}

export interface ResolvedPerson {
	/** The person's id (a merged id resolves to the id it was merged into); empty when unknown. */
	contactId: string;
	/** Whether the person is in the contact book (after this call). */
	known: boolean;
	created: boolean;
	/** Owner of each of the ref's addresses that has one, by `${kind}:${value}`. */
	owners: Map<string, string>;
	profile?: Pick<ContactProfile, 'name' | 'locale' | 'timeZone'>;
	/** An address of the ref that belongs to another person (nothing was linked or created). */
	conflict?: { address: ContactAddress; owner: string };
}

export const addressKey = (a: ContactAddress) => `${a.kind}:${a.value}`;

export interface ContactExport {
	contactId: string;
	consentLedger: ConsentLedgerEntry[];
	consentStates: ConsentState[];
	suppressions: SuppressionEntry[];
	touches: TouchRecord[];
	inbound: InboundRecord[];
	/** Tables added by later nodes (journey, forms, conversations...) contribute here by name. */
	[other: string]: unknown;
}

export interface InAppMessage {
	id: string;
	contactId: string;
	campaign?: string;
	title: string;
	body: string;
	imageUrl?: string;
	ctaLabel?: string;
	ctaUrl?: string;
	createdAt: number;
	expiresAt: number;
	readAt?: number;
}

export interface CampaignReportRow {
	campaign: string;
	channel: string;
	variant: string;
	/** Held for a send that has not gone (yet). */
	reserved: number;
	sent: number;
	delivered: number;
	read: number;
	clicked: number;
	failed: number;
	/** Why sends failed: the provider's code or the delivery status, with a count each. */
	failedBy: Record<string, number>;
	/** The person wrote back on the channel within the reply window after the send. */
	replied: number;
	/** The person reached the journey's goal within the conversion window after the send. */
	converted: number;
	/** The person withdrew consent on the channel within the conversion window after the send. */
	optOuts: number;
	/** Marked as spam by the person (kept beside delivered / read / clicked, never over them). */
	complaints: number;
	/** Bounced (beside what came before: a bounce after a click leaves the click). */
	bounces: number;
}

export interface CampaignReport {
	rows: CampaignReportRow[];
	/** Blocked decisions per campaign and channel, by reason (not per variant: a blocked message has none). */
	blocked: Array<{
		campaign: string;
		channel: string;
		byReason: Record<string, number>;
		total: number;
	}>;
}

export type AbMetric = 'delivered' | 'read' | 'clicked' | 'replied' | 'converted';

export interface AiUsageRow {
	at: number;
	workflowId?: string;
	executionId?: string;
	node: string;
	operation: string;
	model: string;
	campaign: string;
	items: number;
	calls: number;
	inputTokens: number;
	outputTokens: number;
	cacheHits: number;
}

export interface AiUsageTotal {
	campaign: string;
	model: string;
	operation: string;
	runs: number;
	items: number;
	calls: number;
	inputTokens: number;
	outputTokens: number;
	cacheHits: number;
	firstAt: number;
	lastAt: number;
}

export interface Store {
	readonly dialect: 'sqlite' | 'postgres';

	/** Applies pending migrations (idempotent; safe when two processes start at once). */
	init(): Promise<void>;
	close(): Promise<void>;

	// Consent ledger (append-only) + current state.
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

	// Suppression.
	addSuppressions(entries: SuppressionEntry[]): Promise<void>;
	removeSuppressions(entries: Array<{ address: string; channel?: Channel }>): Promise<number>;
	/** Returns the suppressions that match any of the addresses (channel-specific or global). */
	findSuppressions(addresses: string[]): Promise<SuppressionEntry[]>;

	// Touch log: atomic cap + idempotency reservation, then the outcome.
	reserveTouches(requests: ReservationRequest[], now?: number): Promise<ReservationResult[]>;
	completeTouch(
		idempotencyKey: string,
		outcome:
			| { status: 'sent'; providerMessageId?: string; variant?: string }
			| {
					status: 'failed' | 'unknown';
					errorCode?: string;
					errorMessage?: string;
					variant?: string;
			  },
	): Promise<void>;
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
	/** A click on a tracked link: the person's latest sent touch of the campaign on the channel becomes clicked. */
	recordClick(
		contactId: string,
		channel: string,
		campaign: string,
	): Promise<TouchRecord | undefined>;
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
	/** Records delivery state (delivered/read/failed) from a status webhook. */
	/** The touch the status is about (its person, campaign, key), or undefined when no send has that id. */
	updateDeliveryStatus(
		providerMessageId: string,
		deliveryStatus: string,
	): Promise<TouchRecord | undefined>;

	// Inbound log (service windows).
	recordInbound(records: InboundRecord[]): Promise<void>;
	/** Last inbound time per contact+channel; key: `${contactId}\u0000${channel}` */
	getLastInbound(
		keys: Array<{ contactId: string; channel: Channel }>,
	): Promise<Map<string, number>>;

	// Shared rate limits (channels/limiter.ts sharedLimiter, RateSlots): one atomic statement per send.
	/** Takes the key's next slot, `intervalUs` x the key's slow factor after the previous one (not before `nowUs`); returns its start (µs). */
	takeRateSlot(key: string, intervalUs: number, nowUs: number): Promise<number>;
	/** A 429 on the key at `nowUs`: its pace slows (SLOW_DOWN) and its next slot moves one slowed interval on. */
	slowRate(key: string, intervalUs: number, nowUs: number): Promise<void>;
	/** No slot of the key before `untilUs`. */
	pauseRate(key: string, untilUs: number): Promise<void>;
	/** How far the store's clock is ahead of this process's (ms): the shared rate clock runs on the store's time. */
	clockOffsetMs(): Promise<number>;

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
	/** Runs `fn` against this store inside one transaction: everything it writes lands, or nothing. */
	atomically<T>(fn: (store: Store) => Promise<T>): Promise<T>;
	/** The ids already marked processed (read only). */
	findProcessed(scope: string, ids: string[]): Promise<Set<string>>;

	// Engagement scores carried across runs (Segment > Engagement Score).
	getEngagement(contactIds: string[]): Promise<Map<string, { score: number; updatedAt: number }>>;
	saveEngagement(
		rows: Array<{ contactId: string; score: number; updatedAt: number }>,
	): Promise<void>;

	// Journeys (Journey node). `apply` is the journey core's transition function.
	trackJourneyEvents<R extends { state: JourneyStateRow }>(
		journey: string,
		events: Array<{ eventId: string; contactId: string; event: string; at: number }>,
		apply: (state: JourneyStateRow | undefined, event: string, at: number) => R,
	): Promise<Array<{ duplicate: true } | { duplicate: false; result: R }>>;
	getJourneyStates(journey: string, contactIds: string[]): Promise<Map<string, JourneyStateRow>>;
	getJourneyTransitions(journey: string, contactId?: string): Promise<JourneyTransitionRow[]>;
	getAllJourneyStates(journey: string): Promise<Array<JourneyStateRow & { contactId: string }>>;

	// AI Content: response cache by prompt hash, and conversation history per contact.
	getCached(hashes: string[]): Promise<Map<string, string>>;
	/** `contactId` on an entry whose prompt held the person's data: erased with the person. */
	putCached(entries: Array<{ hash: string; response: string; contactId?: string }>): Promise<void>;
	/** One row per node run that used a model. */
	recordAiUsage(rows: AiUsageRow[]): Promise<void>;
	/** Usage summed by campaign, model and operation, for runs at or after `since` (epoch ms). */
	aiUsageReport(since: number): Promise<AiUsageTotal[]>;
	addTurns(
		turns: Array<{ contactId: string; role: 'user' | 'assistant'; text: string; at: number }>,
	): Promise<void>;
	/** The last `limit` turns of each contact, oldest first. */
	getTurns(
		contactIds: string[],
		limit: number,
	): Promise<Map<string, Array<{ role: 'user' | 'assistant'; text: string; at: number }>>>;

	// Conversational forms: one session per form and contact.
	getFormSessions(form: string, contactIds: string[]): Promise<Map<string, FormSession>>;
	saveFormSessions(
		form: string,
		sessions: Array<FormSession & { contactId: string }>,
	): Promise<void>;

	// People: one contact, many addresses (store/people.ts).
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

	// Data subject rights: per person, under every id and address they are known by.
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

export interface InboxKey {
	scope: string;
	id: string;
}

export interface InboxEvent extends InboxKey {
	/** The event as the trigger emitted it (JSON). */
	event: string;
	attempts: number;
	receivedAt: number;
}

export function consentKeyString(key: ConsentKey): string {
	return `${key.contactId}\u0000${key.channel}\u0000${key.purpose}`;
}

export function inboundKeyString(contactId: string, channel: Channel): string {
	return `${contactId}\u0000${channel}`;
}

export interface JourneyStateRow {
	stage: string;
	enteredAt: number;
	goalReachedAt?: number;
	exitedAt?: number;
}

export interface JourneyTransitionRow {
	contactId: string;
	fromStage: string | null;
	toStage: string;
	at: number;
}

export interface FormSession {
	status: 'active' | 'completed' | 'cancelled';
	/** Key of the question waiting for an answer. */
	step?: string;
	answers: Record<string, unknown>;
	startedAt: number;
	updatedAt: number;
}

export interface TrackedLink {
	code: string;
	contactId: string;
	channel: Channel;
	campaign: string;
	url: string;
}
