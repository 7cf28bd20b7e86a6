/**
 * A provider's answer, placed and kept: Sent with the provider's message id, or Not Sent with its
 * reason (falling through to the next channel of Best Available where the answer says this one
 * cannot reach the person); then what the answers teach the store.
 */
import type { IDataObject } from 'n8n-workflow';

import { channelBookAddress } from '../../shared/people';
import { recordProviderOptOuts } from '../../shared/policy/opt-out';
import type { SendOutcome } from '../transport';
import type { SendRun } from './context';
import type { ReadyEntry, Round } from './route';

/** The item's A/B variant, kept with its touch whatever the outcome. */
export const variantOf = (run: SendRun, i: number) =>
	String(run.p.variant(i) ?? '').trim() || undefined;

/** Answers after which the next channel of Best Available is tried. */
const FALL_THROUGH = new Set(['WINDOW_CLOSED', 'DEAD_TOKEN', 'INVALID_ADDRESS', 'UNSUBSCRIBED']);

export function placeOutcome(run: SendRun, round: Round, r: ReadyEntry, o: SendOutcome): void {
	if (o.ok) {
		const variant = variantOf(run, r.pd.i);
		round.out.sentItem(r.pd.i, {
			channel: r.channel,
			providerMessageId: o.providerMessageId,
			idempotencyKey: r.key,
			deduplicated: false,
			attempts: o.attempts,
			...(variant ? { variant } : {}),
			addressLinked: r.pd.person.owns(channelBookAddress(r.pd.contact, r.channel)),
			...(r.info ?? {}),
		});
		return;
	}
	const unknown = o.error.reason === 'UNKNOWN_OUTCOME';
	const info: IDataObject = {
		channel: r.channel,
		reason: o.error.reason ?? 'PROVIDER_ERROR',
		message: o.error.message,
		providerError: { code: o.error.code, httpStatus: o.error.httpStatus ?? null },
		attempts: o.attempts,
		idempotencyKey: r.key,
		...(unknown ? { status: 'unknown' } : {}),
	};
	// An unknown outcome never falls through to another channel: the person may have it.
	if (!unknown && r.pd.candidates.length > 1 && FALL_THROUGH.has(String(o.error.reason)))
		round.advance(r.pd, info);
	else
		round.notSent(r.pd, r.pd.reasons.length ? { ...info, tried: [...r.pd.reasons, info] } : info);
}

/**
 * The store is written once every answer is placed, so a store error here still reports what
 * went. An opt-out the provider reports in its answer (Twilio 21610, WhatsApp 131050) is kept, so
 * the next Check blocks it without asking the provider again; the in-app messages that went are
 * kept in the person's in-app inbox, in one write.
 */
export async function recordAfterSend(
	run: SendRun,
	claimed: ReadyEntry[],
	outcomes: SendOutcome[],
): Promise<void> {
	await recordProviderOptOuts(
		run.store,
		claimed.flatMap((r, k) => {
			const o = outcomes[k];
			return !o.ok && o.error.reason === 'UNSUBSCRIBED'
				? [
						{
							contactId: r.pd.contact.id,
							channel: r.channel,
							address: channelBookAddress(r.pd.contact, r.channel)?.value,
							code: o.error.code,
						},
					]
				: [];
		}),
	);
	const sentAt = Date.now();
	await run.store.addInAppMessages(
		claimed.flatMap((r, k) => {
			if (!outcomes[k].ok || r.built.kind !== 'fcm' || !r.built.info.inAppId) return [];
			const data = r.built.message.data as Record<string, string>;
			return [
				{
					id: r.built.info.inAppId,
					contactId: r.pd.contact.id,
					campaign: run.p.campaign(r.pd.i) || undefined,
					title: data.title,
					body: data.body,
					imageUrl: data.imageUrl,
					ctaLabel: data.ctaLabel,
					ctaUrl: data.ctaUrl,
					createdAt: sentAt,
					expiresAt: Date.parse(data.expiresAt),
				},
			];
		}),
	);
}
