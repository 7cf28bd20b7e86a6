/**
 * The Store contract implemented once over SqlDb, for SQLite and PostgreSQL alike: a composition of
 * the domain modules beside it (consent, suppressions, touches, inbox, rate slots, engagement,
 * conversations, insights, journeys, people, merge, rights), each a set of functions over the SQL
 * layer. Every list method works in chunks: a fixed number of statements per chunk, never per item.
 */
import { createHmac } from 'node:crypto';
import type { SqlDb } from './db';
import { migrate } from './migrations';
import * as people from './people';
import type { JourneyStateRow, Store } from './types';
import * as consent from './consent';
import * as conversations from './conversations';
import * as engagement from './engagement';
import * as inboxes from './inbox';
import * as insights from './insights';
import * as journeys from './journeys';
import * as merge from './merge';
import * as rateSlots from './rate-slots';
import * as retention from './retention';
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

	resolveContacts(...a: Parameters<Store['resolveContacts']>) {
		return people.resolveContacts(this.db, ...a);
	}

	knownPhones(...a: Parameters<Store['knownPhones']>) {
		return people.knownPhones(this.db, ...a);
	}

	upsertProfiles(...a: Parameters<Store['upsertProfiles']>) {
		return profiles.upsertProfiles(this.db, ...a);
	}

	getTimeZones(...a: Parameters<Store['getTimeZones']>) {
		return profiles.getTimeZones(this.db, ...a);
	}

	getAddresses(...a: Parameters<Store['getAddresses']>) {
		return profiles.getAddresses(this.db, ...a);
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

	recordConsent(...a: Parameters<Store['recordConsent']>) {
		return consent.recordConsent(this.db, ...a);
	}

	getConsentStates(...a: Parameters<Store['getConsentStates']>) {
		return consent.getConsentStates(this.db, ...a);
	}

	confirmConsent(...a: Parameters<Store['confirmConsent']>) {
		return consent.confirmConsent(this.db, ...a);
	}

	addSuppressions(...a: Parameters<Store['addSuppressions']>) {
		return suppressions.addSuppressions(this.db, ...a);
	}

	removeSuppressions(...a: Parameters<Store['removeSuppressions']>) {
		return suppressions.removeSuppressions(this.db, ...a);
	}

	findSuppressions(...a: Parameters<Store['findSuppressions']>) {
		return suppressions.findSuppressions(this.db, ...a);
	}

	reserveTouches(...a: Parameters<Store['reserveTouches']>) {
		return touches.reserveTouches(this.db, ...a);
	}

	completeTouch(...a: Parameters<Store['completeTouch']>) {
		return touches.completeTouch(this.db, ...a);
	}

	claimTouches(...a: Parameters<Store['claimTouches']>) {
		return touches.claimTouches(this.db, ...a);
	}

	releaseTouches(...a: Parameters<Store['releaseTouches']>) {
		return touches.releaseTouches(this.db, ...a);
	}

	getTouches(...a: Parameters<Store['getTouches']>) {
		return touches.getTouches(this.db, ...a);
	}

	updateDeliveryStatus(...a: Parameters<Store['updateDeliveryStatus']>) {
		return touches.updateDeliveryStatus(this.db, ...a);
	}

	recordInbound(...a: Parameters<Store['recordInbound']>) {
		return inboxes.recordInbound(this.db, ...a);
	}

	getLastInbound(...a: Parameters<Store['getLastInbound']>) {
		return inboxes.getLastInbound(this.db, ...a);
	}

	findProcessed(...a: Parameters<Store['findProcessed']>) {
		return inboxes.findProcessed(this.db, ...a);
	}

	markProcessed(...a: Parameters<Store['markProcessed']>) {
		return inboxes.markProcessed(this.db, ...a);
	}

	markInboxDone(...a: Parameters<Store['markInboxDone']>) {
		return inboxes.markInboxDone(this.db, ...a);
	}

	claimInboxReplay(...a: Parameters<Store['claimInboxReplay']>) {
		return inboxes.claimInboxReplay(this.db, ...a);
	}

	takeRateSlot(...a: Parameters<Store['takeRateSlot']>) {
		return rateSlots.takeRateSlot(this.db, ...a);
	}

	slowRate(...a: Parameters<Store['slowRate']>) {
		return rateSlots.slowRate(this.db, ...a);
	}

	clockOffsetMs(...a: Parameters<Store['clockOffsetMs']>) {
		return rateSlots.clockOffsetMs(this.db, ...a);
	}

	pauseRate(...a: Parameters<Store['pauseRate']>) {
		return rateSlots.pauseRate(this.db, ...a);
	}

	getEngagement(...a: Parameters<Store['getEngagement']>) {
		return engagement.getEngagement(this.db, ...a);
	}

	saveEngagement(...a: Parameters<Store['saveEngagement']>) {
		return engagement.saveEngagement(this.db, ...a);
	}

	addInAppMessages(...a: Parameters<Store['addInAppMessages']>) {
		return engagement.addInAppMessages(this.db, ...a);
	}

	saveTrackedLinks(...a: Parameters<Store['saveTrackedLinks']>) {
		return engagement.saveTrackedLinks(this.db, ...a);
	}

	findTrackedLinks(...a: Parameters<Store['findTrackedLinks']>) {
		return engagement.findTrackedLinks(this.db, ...a);
	}

	listInAppMessages(...a: Parameters<Store['listInAppMessages']>) {
		return engagement.listInAppMessages(this.db, ...a);
	}

	markInAppRead(...a: Parameters<Store['markInAppRead']>) {
		return engagement.markInAppRead(this.db, ...a);
	}

	recordClick(...a: Parameters<Store['recordClick']>) {
		return engagement.recordClick(this.db, ...a);
	}

	getCached(...a: Parameters<Store['getCached']>) {
		return conversations.getCached(this.db, ...a);
	}

	putCached(...a: Parameters<Store['putCached']>) {
		return conversations.putCached(this.db, ...a);
	}

	addTurns(...a: Parameters<Store['addTurns']>) {
		return conversations.addTurns(this.db, ...a);
	}

	getTurns(...a: Parameters<Store['getTurns']>) {
		return conversations.getTurns(this.db, ...a);
	}

	getFormSessions(...a: Parameters<Store['getFormSessions']>) {
		return conversations.getFormSessions(this.db, ...a);
	}

	saveFormSessions(...a: Parameters<Store['saveFormSessions']>) {
		return conversations.saveFormSessions(this.db, ...a);
	}

	countBlocked(...a: Parameters<Store['countBlocked']>) {
		return insights.countBlocked(this.db, ...a);
	}

	campaignReport(...a: Parameters<Store['campaignReport']>) {
		return insights.campaignReport(this.db, ...a);
	}

	applyRetention(...a: Parameters<Store['applyRetention']>) {
		return retention.applyRetention(this.db, ...a);
	}

	abTestResults(...a: Parameters<Store['abTestResults']>) {
		return insights.abTestResults(this.db, ...a);
	}

	recordAiUsage(...a: Parameters<Store['recordAiUsage']>) {
		return insights.recordAiUsage(this.db, ...a);
	}

	aiUsageReport(...a: Parameters<Store['aiUsageReport']>) {
		return insights.aiUsageReport(this.db, ...a);
	}

	trackJourneyEvents<R extends { state: JourneyStateRow }>(
		journey: string,
		events: Array<{ eventId: string; contactId: string; event: string; at: number }>,
		apply: (state: JourneyStateRow | undefined, event: string, at: number) => R,
	): Promise<Array<{ duplicate: true } | { duplicate: false; result: R }>> {
		return journeys.trackJourneyEvents(this.db, journey, events, apply);
	}

	getJourneyStates(...a: Parameters<Store['getJourneyStates']>) {
		return journeys.getJourneyStates(this.db, ...a);
	}

	getAllJourneyStates(...a: Parameters<Store['getAllJourneyStates']>) {
		return journeys.getAllJourneyStates(this.db, ...a);
	}

	getJourneyTransitions(...a: Parameters<Store['getJourneyTransitions']>) {
		return journeys.getJourneyTransitions(this.db, ...a);
	}

	mergeContacts(...a: Parameters<Store['mergeContacts']>) {
		return merge.mergeContacts(this.db, ...a);
	}

	exportContact(...a: Parameters<Store['exportContact']>) {
		return rights.exportContact(this.db, ...a);
	}

	async eraseContact(...a: Parameters<Store['eraseContact']>) {
		return await rights.eraseContact(this.db, async () => await this.addressSecret(), ...a);
	}

	async findErasedAddresses(...a: Parameters<Store['findErasedAddresses']>) {
		return await rights.findErasedAddresses(this.db, async () => await this.addressSecret(), ...a);
	}
}
