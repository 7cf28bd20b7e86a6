/**
 * Records the opt-outs that providers report in error codes (channels/errors.ts providerOptOut):
 * a suppression of the address on the channel, or a withdrawal of the purpose, with the provider's
 * code as evidence. Used by Touchpoint (the send's answer) and the Touchpoint Trigger (a status).
 */
import type { Channel } from '../contact';
import { providerOptOut } from '../channels/errors';
import type { Store } from '../store/types';
import type { ConsentEventInput, SuppressionEntry } from '../domain';

export interface ReportedOptOut {
	contactId: string;
	channel: Channel;
	/** The normalised address the provider refused (E.164 phone). */
	address?: string;
	code: unknown;
	at?: number;
}

/** Writes what each report means; returns how many were opt-outs. */
export async function recordProviderOptOuts(
	store: Pick<Store, 'addSuppressions' | 'recordConsent'>,
	reports: ReportedOptOut[],
): Promise<number> {
	const suppressions: SuppressionEntry[] = [];
	const withdrawals: ConsentEventInput[] = [];
	for (const r of reports) {
		const o = providerOptOut(r.channel, r.code);
		if (!o) continue;
		if (o.action === 'suppress' && r.address)
			suppressions.push({
				address: r.address,
				channel: r.channel,
				reason: 'unsubscribed',
				note: `${o.source}: the provider reports this person opted out`,
			});
		if (o.action === 'withdraw')
			withdrawals.push({
				contactId: r.contactId,
				channel: r.channel,
				purpose: o.purpose!,
				address: r.address,
				action: 'withdraw',
				evidence: { source: o.source, actor: 'provider' },
				occurredAt: r.at,
			});
	}
	if (suppressions.length) await store.addSuppressions(suppressions);
	if (withdrawals.length) await store.recordConsent(withdrawals);
	return suppressions.length + withdrawals.length;
}

/**
 * A person asked in their own words to stop getting messages (an AI Classify found it): their
 * consent on the channel is withdrawn for the purposes, with the message as evidence. Never a grant.
 */
export async function recordFreeTextOptOuts(
	store: Pick<Store, 'recordConsent'>,
	optOuts: Array<{
		contactId: string;
		channel: Channel;
		text: string;
		purposes: string[];
		model?: string;
	}>,
): Promise<void> {
	const events: ConsentEventInput[] = optOuts.flatMap((o) =>
		o.purposes.map((purpose) => ({
			contactId: o.contactId,
			channel: o.channel,
			purpose,
			action: 'withdraw' as const,
			evidence: {
				source: `${o.channel}-free-text`,
				wording: o.text.slice(0, 2000),
				actor: 'contact',
				extra: { detectedBy: o.model ?? 'ai-classify' },
			},
		})),
	);
	if (events.length) await store.recordConsent(events);
}
