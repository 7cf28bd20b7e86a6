/**
 * The policy at send time. Every touch Consent Guard did not reserve goes through the gate
 * (consent, suppression, erasure, caps, quiet hours, windows) and is reserved under the caps; a
 * reservation Consent Guard made is trusted only for the touch it was made for, and only while the
 * person still stands where they stood (a STOP, suppression or erasure since then blocks the send).
 */
import type { IDataObject } from 'n8n-workflow';

import {
	checkBatch,
	recheckStanding,
	type GateDecision,
	type GateRequest,
} from '../../shared/policy';
import { channelBookAddress } from '../../shared/people';
import type { TouchRecord } from '../../shared/store/types';
import type { SendRun } from './context';
import type { ReadyEntry, Round, RoundEntry } from './route';

export async function gateRound(
	run: SendRun,
	round: Round,
	entries: RoundEntry[],
): Promise<{ ready: ReadyEntry[]; touches: Map<string, TouchRecord> }> {
	const now = Date.now();
	const guarded = entries.filter((r) => r.fromGuard);
	const touches = await run.store.getTouches(guarded.map((r) => r.key));
	// A guard's touch that failed earlier is reserved again by the gate (under the caps).
	const toGate = entries.filter(
		(r) => !r.fromGuard || !touches.has(r.key) || touches.get(r.key)!.status === 'failed',
	);
	const ready = await gateNew(run, round, toGate, now);
	const reservedEarlier = guarded
		.filter((g) => touches.has(g.key) && touches.get(g.key)!.status !== 'failed')
		.filter((r) => reservationFits(run, round, r, touches.get(r.key)!));
	await recheckReserved(run, round, reservedEarlier, touches, now, ready);
	return { ready, touches };
}

const messageKind = (r: RoundEntry): GateRequest['messageKind'] => {
	const json =
		r.built.kind === 'http' ? (r.built.request.json as IDataObject | undefined) : undefined;
	if (r.channel === 'whatsapp' && json?.type === 'template') return 'template';
	return json?.messaging_type === 'MESSAGE_TAG' ? 'tagged' : 'free-form';
};

async function gateNew(
	run: SendRun,
	round: Round,
	toGate: RoundEntry[],
	now: number,
): Promise<ReadyEntry[]> {
	const requests: GateRequest[] = toGate.map((r) => ({
		contact: r.pd.contact,
		channel: r.channel,
		purpose: run.purpose,
		campaign: run.p.campaign(r.pd.i) || undefined,
		idempotencyKey: r.key,
		reserve: true,
		addressOwned: r.pd.person.owns(channelBookAddress(r.pd.contact, r.channel)),
		messageKind: messageKind(r),
	}));
	const decisions = requests.length
		? await checkBatch(run.store, requests, { ...run.policy, now })
		: [];
	await countBlocked(run, requests, decisions, now);
	const ready: ReadyEntry[] = [];
	toGate.forEach((r, j) => {
		const d = decisions[j];
		if (!d.allowed) {
			round.advance(r.pd, {
				channel: r.channel,
				reason: d.reason,
				message: d.message,
				retryAt: d.retryAt ?? null,
			});
			return;
		}
		if (d.deduplicated && d.previousStatus === 'sent') {
			round.out.alreadySent(r.pd.i, r.channel, r.key);
			return;
		}
		ready.push({ ...r, newlyReserved: !d.deduplicated });
	});
	return ready;
}

/** Campaign reports count who was blocked and why (not for a preview). */
async function countBlocked(
	run: SendRun,
	requests: GateRequest[],
	decisions: GateDecision[],
	at: number,
): Promise<void> {
	if (run.dryRun) return;
	const blocked = decisions.flatMap((d, j) =>
		d.allowed
			? []
			: [
					{
						campaign: requests[j].campaign,
						channel: requests[j].channel,
						reason: String(d.reason),
						at,
					},
				],
	);
	if (blocked.length) await run.store.countBlocked(blocked);
}

function reservationFits(run: SendRun, round: Round, r: RoundEntry, t: TouchRecord): boolean {
	if (t.contactId === r.pd.contact.id && t.channel === r.channel && t.purpose === run.purpose)
		return true;
	round.notSent(r.pd, {
		channel: r.channel,
		reason: 'RESERVATION_MISMATCH',
		idempotencyKey: r.key,
		message: `The Consent Guard reservation ${r.key} was made for contact ${t.contactId} on ${t.channel} (${t.purpose}), not for contact ${r.pd.contact.id} on ${r.channel} (${run.purpose}): not sent. Check that the items reaching Touchpoint are the ones Consent Guard checked.`,
	});
	return false;
}

async function recheckReserved(
	run: SendRun,
	round: Round,
	reservedEarlier: RoundEntry[],
	touches: Map<string, TouchRecord>,
	now: number,
	ready: ReadyEntry[],
): Promise<void> {
	const standing = await recheckStanding(
		run.store,
		reservedEarlier.map((r) => ({
			contact: r.pd.contact,
			channel: r.channel,
			purpose: run.purpose,
			addressOwned: r.pd.person.owns(channelBookAddress(r.pd.contact, r.channel)),
		})),
		{ ...run.policy, now },
	);
	const stillAllowed: RoundEntry[] = [];
	for (const [j, r] of reservedEarlier.entries()) {
		const d = standing[j];
		if (d.allowed) {
			stillAllowed.push(r);
			continue;
		}
		// The reservation no longer stands: free its place under the caps.
		if (touches.get(r.key)!.status === 'reserved') await run.store.releaseTouches([r.key]);
		round.advance(r.pd, {
			channel: r.channel,
			reason: d.reason,
			message: d.message,
			retryAt: d.retryAt ?? null,
		});
	}
	for (const r of stillAllowed) {
		const t = touches.get(r.key)!;
		if (t.status === 'sent')
			round.out.alreadySent(r.pd.i, r.channel, r.key, {
				providerMessageId: t.providerMessageId ?? null,
			});
		else ready.push({ ...r, newlyReserved: false });
	}
}
