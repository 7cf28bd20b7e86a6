/**
 * The Store contract implemented once over SqlDb, for SQLite and PostgreSQL alike: a composition of
 * the domain modules beside it (consent, suppressions, touches, inbox, rate slots, engagement,
 * conversations, insights, journeys, people, merge, rights), each a set of functions over the SQL
 * layer. Every list method works in chunks: a fixed number of statements per chunk, never per item.
 */
import { createHmac } from 'node:crypto';
import type { Channel } from '../contact';
import type { SqlDb } from './db';
import { migrate } from './migrations';
import * as people from './people';
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
	InboxKey,
	JourneyStateRow,
	JourneyTransitionRow,
	PersonRef,
	ProfileInput,
	ReservationRequest,
	ReservationResult,
	ResolveOptions,
	ResolvedPerson,
	Store,
	SuppressionEntry,
	TouchRecord,
	TrackedLink,
} from './types';
import * as consent from './consent';
import * as conversations from './conversations';
import * as engagement from './engagement';
import * as inboxes from './inbox';
import * as insights from './insights';
import * as journeys from './journeys';
import * as merge from './merge';
import * as rateSlots from './rate-slots';
import * as rights from './rights';
import * as suppressions from './suppressions';
import * as touches from './touches';
import * as profiles from './profiles';
import { ensureSecret } from './secret';

/** How erased addresses are remembered (rights.ts); the store's tests read it from here. */
export { addressHash } from './rights';

export class SqlStore implements Store {
	private initialised?: Promise<void>;

	constructor(
		readonly db: SqlDb,
		private readonly schema?: string,
	) {}

	get dialect() {
		return this.db.dialect;
	}

	init(): Promise<void> {
		this.initialised ??= migrate(this.db, this.schema).then(() => undefined);
		return this.initialised;
	}

	async close(): Promise<void> {
		await this.db.close();
	}

	async atomically<T>(fn: (store: Store) => Promise<T>): Promise<T> {
		await this.init();
		return await this.db.transaction(async (tx) => {
			const inTx = new SqlStore(tx, this.schema);
			inTx.initialised = this.initialised;
			return await fn(inTx);
		});
	}

	resolveContacts(refs: PersonRef[], options?: ResolveOptions): Promise<ResolvedPerson[]> {
		return people.resolveContacts(this.db, refs, options);
	}

	knownPhones(values: string[]): Promise<Set<string>> {
		return people.knownPhones(this.db, values);
	}

	upsertProfiles(rows: Array<ProfileInput & { contactId: string }>): Promise<void> {
		return profiles.upsertProfiles(this.db, rows);
	}

	getTimeZones(contactIds: string[]): Promise<Map<string, string>> {
		return profiles.getTimeZones(this.db, contactIds);
	}

	getAddresses(contactIds: string[]): Promise<AddressRecord[]> {
		return profiles.getAddresses(this.db, contactIds);
	}

	private secret?: Promise<string>;

	private addressSecret(): Promise<string> {
		this.secret ??= ensureSecret(this.db).catch((error) => {
			this.secret = undefined;
			throw error;
		});
		return this.secret;
	}

	async linkKey(): Promise<string> {
		return createHmac('sha256', await this.addressSecret())
			.update('convergent:links:v1')
			.digest('hex');
	}

	recordConsent(events: ConsentEventInput[]): Promise<ConsentLedgerEntry[]> {
		return consent.recordConsent(this.db, events);
	}

	getConsentStates(keys: ConsentKey[]): Promise<Map<string, ConsentState>> {
		return consent.getConsentStates(this.db, keys);
	}

	confirmConsent(tokenHash: string, evidence: ConsentEvidence, now = Date.now()) {
		return consent.confirmConsent(this.db, tokenHash, evidence, now);
	}

	addSuppressions(entries: SuppressionEntry[]): Promise<void> {
		return suppressions.addSuppressions(this.db, entries);
	}

	removeSuppressions(entries: Array<{ address: string; channel?: Channel }>): Promise<number> {
		return suppressions.removeSuppressions(this.db, entries);
	}

	findSuppressions(addresses: string[]): Promise<SuppressionEntry[]> {
		return suppressions.findSuppressions(this.db, addresses);
	}

	reserveTouches(requests: ReservationRequest[], now = Date.now()): Promise<ReservationResult[]> {
		return touches.reserveTouches(this.db, requests, now);
	}

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
	): Promise<void> {
		return touches.completeTouch(this.db, idempotencyKey, outcome);
	}

	claimTouches(idempotencyKeys: string[], now = Date.now()): Promise<Map<string, ClaimResult>> {
		return touches.claimTouches(this.db, idempotencyKeys, now);
	}

	releaseTouches(idempotencyKeys: string[]): Promise<void> {
		return touches.releaseTouches(this.db, idempotencyKeys);
	}

	getTouches(idempotencyKeys: string[]): Promise<Map<string, TouchRecord>> {
		return touches.getTouches(this.db, idempotencyKeys);
	}

	updateDeliveryStatus(
		providerMessageId: string,
		deliveryStatus: string,
	): Promise<TouchRecord | undefined> {
		return touches.updateDeliveryStatus(this.db, providerMessageId, deliveryStatus);
	}

	recordInbound(records: InboundRecord[]): Promise<void> {
		return inboxes.recordInbound(this.db, records);
	}

	getLastInbound(
		keys: Array<{ contactId: string; channel: Channel }>,
	): Promise<Map<string, number>> {
		return inboxes.getLastInbound(this.db, keys);
	}

	findProcessed(scope: string, ids: string[]): Promise<Set<string>> {
		return inboxes.findProcessed(this.db, scope, ids);
	}

	markProcessed(
		scope: string,
		ids: string[],
		contactOf?: Map<string, string>,
		inbox?: { workflowId: string; events: Map<string, string> },
	): Promise<Set<string>> {
		return inboxes.markProcessed(this.db, scope, ids, contactOf, inbox);
	}

	markInboxDone(events: InboxKey[], now = Date.now()): Promise<Set<string>> {
		return inboxes.markInboxDone(this.db, events, now);
	}

	claimInboxReplay(
		workflowId: string,
		options: { olderThan: number; limit: number; maxAttempts: number; now?: number },
	) {
		return inboxes.claimInboxReplay(this.db, workflowId, options);
	}

	takeRateSlot(key: string, intervalUs: number, nowUs: number): Promise<number> {
		return rateSlots.takeRateSlot(this.db, key, intervalUs, nowUs);
	}

	slowRate(key: string, intervalUs: number, nowUs: number): Promise<void> {
		return rateSlots.slowRate(this.db, key, intervalUs, nowUs);
	}

	clockOffsetMs(): Promise<number> {
		return rateSlots.clockOffsetMs(this.db);
	}

	pauseRate(key: string, untilUs: number): Promise<void> {
		return rateSlots.pauseRate(this.db, key, untilUs);
	}

	getEngagement(contactIds: string[]): Promise<Map<string, { score: number; updatedAt: number }>> {
		return engagement.getEngagement(this.db, contactIds);
	}

	saveEngagement(
		rows: Array<{ contactId: string; score: number; updatedAt: number }>,
	): Promise<void> {
		return engagement.saveEngagement(this.db, rows);
	}

	addInAppMessages(rows: InAppMessage[]): Promise<void> {
		return engagement.addInAppMessages(this.db, rows);
	}

	saveTrackedLinks(links: TrackedLink[]): Promise<void> {
		return engagement.saveTrackedLinks(this.db, links);
	}

	findTrackedLinks(codes: string[]): Promise<Map<string, TrackedLink>> {
		return engagement.findTrackedLinks(this.db, codes);
	}

	listInAppMessages(contactId: string, now: number, limit: number): Promise<InAppMessage[]> {
		return engagement.listInAppMessages(this.db, contactId, now, limit);
	}

	markInAppRead(contactId: string, ids: string[], now: number): Promise<number> {
		return engagement.markInAppRead(this.db, contactId, ids, now);
	}

	recordClick(
		contactId: string,
		channel: string,
		campaign: string,
	): Promise<TouchRecord | undefined> {
		return engagement.recordClick(this.db, contactId, channel, campaign);
	}

	getCached(hashes: string[]): Promise<Map<string, string>> {
		return conversations.getCached(this.db, hashes);
	}

	putCached(entries: Array<{ hash: string; response: string; contactId?: string }>): Promise<void> {
		return conversations.putCached(this.db, entries);
	}

	addTurns(
		turns: Array<{ contactId: string; role: 'user' | 'assistant'; text: string; at: number }>,
	): Promise<void> {
		return conversations.addTurns(this.db, turns);
	}

	getTurns(
		contactIds: string[],
		limit: number,
	): Promise<Map<string, Array<{ role: 'user' | 'assistant'; text: string; at: number }>>> {
		return conversations.getTurns(this.db, contactIds, limit);
	}

	getFormSessions(form: string, contactIds: string[]): Promise<Map<string, FormSession>> {
		return conversations.getFormSessions(this.db, form, contactIds);
	}

	saveFormSessions(
		form: string,
		sessions: Array<FormSession & { contactId: string }>,
	): Promise<void> {
		return conversations.saveFormSessions(this.db, form, sessions);
	}

	countBlocked(
		rows: Array<{ campaign?: string; channel: string; reason: string; at: number }>,
	): Promise<void> {
		return insights.countBlocked(this.db, rows);
	}

	campaignReport(options: {
		since: number;
		campaign?: string;
		replyWindowMs: number;
		conversionWindowMs: number;
		journey: string;
	}): Promise<CampaignReport> {
		return insights.campaignReport(this.db, options);
	}

	abTestResults(
		campaign: string,
		metric: AbMetric,
		options: { windowMs: number; journey?: string },
	): Promise<Array<{ variant: string; sent: number; successes: number }>> {
		return insights.abTestResults(this.db, campaign, metric, options);
	}

	recordAiUsage(rows: AiUsageRow[]): Promise<void> {
		return insights.recordAiUsage(this.db, rows);
	}

	aiUsageReport(since: number): Promise<AiUsageTotal[]> {
		return insights.aiUsageReport(this.db, since);
	}

	trackJourneyEvents<R extends { state: JourneyStateRow }>(
		journey: string,
		events: Array<{ eventId: string; contactId: string; event: string; at: number }>,
		apply: (state: JourneyStateRow | undefined, event: string, at: number) => R,
	): Promise<Array<{ duplicate: true } | { duplicate: false; result: R }>> {
		return journeys.trackJourneyEvents(this.db, journey, events, apply);
	}

	getJourneyStates(journey: string, contactIds: string[]): Promise<Map<string, JourneyStateRow>> {
		return journeys.getJourneyStates(this.db, journey, contactIds);
	}

	getAllJourneyStates(journey: string): Promise<Array<JourneyStateRow & { contactId: string }>> {
		return journeys.getAllJourneyStates(this.db, journey);
	}

	getJourneyTransitions(journey: string, contactId?: string): Promise<JourneyTransitionRow[]> {
		return journeys.getJourneyTransitions(this.db, journey, contactId);
	}

	mergeContacts(fromId: string, intoId: string, actor?: string): Promise<{ moved: number }> {
		return merge.mergeContacts(this.db, fromId, intoId, actor);
	}

	exportContact(contactId: string): Promise<ContactExport> {
		return rights.exportContact(this.db, contactId);
	}

	async eraseContact(
		contactId: string,
		addresses: string[],
	): Promise<{ tablesTouched: number; ids: string[] }> {
		return await rights.eraseContact(
			this.db,
			async () => await this.addressSecret(),
			contactId,
			addresses,
		);
	}

	async findErasedAddresses(addresses: string[]): Promise<Set<string>> {
		return await rights.findErasedAddresses(
			this.db,
			async () => await this.addressSecret(),
			addresses,
		);
	}
}
