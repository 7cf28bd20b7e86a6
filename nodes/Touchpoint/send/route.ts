/**
 * Routing a round: each waiting item's message for its next channel (Best Available falls through
 * to the next one), then the policy (consent, caps, quiet hours, windows) for every touch Consent
 * Guard did not reserve, and a recheck of the standing of those it did.
 */
import type { IDataObject } from 'n8n-workflow';

import { builtFingerprint, type BuiltRequest } from '../../shared/channels/message';
import { buildRequest } from '../../shared/channels/registry';
import { channelAddress, type Channel } from '../../shared/contact';
import { inAppId } from '../../shared/insights/inapp';
import { defaultIdempotencyKey } from '../../shared/policy';
import type { TrackedLink } from '../../shared/store/types';
import type { TemplateCheck } from '../transport/templates';
import type { SendRun } from './context';
import type { Pending } from './items';
import { messageFor } from './message';
import type { Outcomes } from './place';

export interface RoundEntry {
	pd: Pending;
	channel: Channel;
	built: BuiltRequest;
	key: string;
	/** Consent Guard reserved this touch (its key, its channel). */
	fromGuard: boolean;
	info?: IDataObject;
	/** The tracked links the message carries, kept once it is about to go. */
	links: TrackedLink[];
}

export interface ReadyEntry extends RoundEntry {
	newlyReserved: boolean;
}

/** One pass over the items waiting in a wave: those to try again on their next channel. */
export class Round {
	readonly next: Pending[] = [];

	constructor(readonly out: Outcomes) {}

	notSent(pd: Pending, info: IDataObject): void {
		this.out.notSentItem(pd.i, info);
	}

	/** This channel did not take the item: the next candidate, or Not Sent with the telling reason. */
	advance(pd: Pending, reason: IDataObject): void {
		pd.reasons.push(reason);
		pd.ci++;
		if (pd.ci < pd.candidates.length) {
			this.next.push(pd);
			return;
		}
		// Report the most telling reason: a policy or provider answer beats "no address".
		const main = pd.reasons.find((r) => r.reason !== 'NO_ROUTE') ?? reason;
		this.notSent(pd, pd.reasons.length > 1 ? { ...main, tried: pd.reasons } : main);
	}
}

export async function buildRound(
	run: SendRun,
	round: Round,
	pending: Pending[],
	templates: TemplateCheck,
): Promise<RoundEntry[]> {
	const entries: RoundEntry[] = [];
	for (const pd of pending) {
		const entry = await buildEntry(run, round, pd, templates);
		if (entry) entries.push(entry);
	}
	return entries;
}

async function buildEntry(
	run: SendRun,
	round: Round,
	pd: Pending,
	templates: TemplateCheck,
): Promise<RoundEntry | undefined> {
	const channel = pd.candidates[pd.ci];
	const multi = pd.candidates.length > 1;
	if (multi && (!channelAddress(pd.contact, channel) || !(await run.creds.for(channel)))) {
		round.advance(pd, {
			channel,
			reason: 'NO_ROUTE',
			message: `No ${channel} address or credential for this contact`,
		});
		return undefined;
	}
	const creds = await run.creds.for(channel);
	if (!creds) throw run.creds.missing(channel);
	let built: { message: ReturnType<typeof messageFor>['message']; links: TrackedLink[] };
	try {
		built = messageFor(run.message, pd.i, pd.contact, channel);
	} catch (error) {
		round.advance(pd, { channel, reason: 'INVALID_MESSAGE', message: (error as Error).message });
		return undefined;
	}
	const result = buildRequest(built.message, {
		apiVersion: String(creds.data.apiVersion ?? 'v21.0'),
		phoneNumberId: String(creds.data.phoneNumberId ?? ''),
		accountSid: String(creds.data.accountSid ?? ''),
		smsFrom: String(creds.data.from ?? '') || undefined,
		messagingServiceSid: String(creds.data.messagingServiceSid ?? '') || undefined,
		emailFrom: String(creds.data.fromEmail ?? '') || undefined,
	});
	if (!result.ok) {
		round.advance(pd, {
			channel,
			reason: 'INVALID_MESSAGE',
			message: result.violations.map((v) => v.message).join(' '),
			violations: result.violations as unknown as IDataObject[],
		});
		return undefined;
	}
	const templateIssue = await templates.problems(creds, result.built);
	if (templateIssue) {
		round.advance(pd, { channel, reason: 'INVALID_MESSAGE', message: templateIssue });
		return undefined;
	}
	const { key, fromGuard } = keyFor(run, pd, channel, result.built);
	stampInApp(result.built, key);
	const info =
		result.built.kind === 'http' || result.built.kind === 'fcm' ? result.built.info : undefined;
	return {
		pd,
		channel,
		built: result.built,
		key,
		fromGuard,
		info: info as IDataObject | undefined,
		links: built.links,
	};
}

/** The touch's idempotency key: Consent Guard's reservation, the item's own key, or the content's. */
function keyFor(
	run: SendRun,
	pd: Pending,
	channel: Channel,
	built: BuiltRequest,
): { key: string; fromGuard: boolean } {
	const json = run.items[pd.i].json;
	const consent = json.consent as IDataObject | undefined;
	const fromGuard =
		!!consent?.idempotencyKey && consent.channel === channel && consent.reserved === true;
	if (fromGuard) return { key: String(consent!.idempotencyKey), fromGuard };
	const ownKey = run.keyOf?.(json);
	const multi = pd.candidates.length > 1;
	const key =
		ownKey !== undefined && ownKey !== null && ownKey !== ''
			? `${String(ownKey)}${multi ? `:${channel}` : ''}`
			: defaultIdempotencyKey({
					contactId: pd.contact.id,
					channel,
					purpose: run.purpose,
					campaign: run.p.campaign(pd.i) || undefined,
					content: builtFingerprint(built),
				});
	return { key, fromGuard };
}

/** An in-app message's id comes from its send's key: a replayed send is the same message. */
function stampInApp(built: BuiltRequest, key: string): void {
	if (built.kind !== 'fcm' || built.info.inAppId === undefined) return;
	const id = inAppId(key);
	const data = built.message.data as Record<string, string>;
	built.info.inAppId = id;
	data.id = id;
	data.expiresAt = new Date(
		Date.now() + Number(built.info.inAppExpiresHours ?? 72) * 3_600_000,
	).toISOString();
}
