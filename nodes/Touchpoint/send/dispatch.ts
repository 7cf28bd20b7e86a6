/**
 * Dispatch: each message claimed just before it is sent, sent through the transport, its outcome
 * kept as soon as the provider answers and placed on Sent or Not Sent.
 *
 * Of several executions holding one key (queue-mode workers, a retried execution) exactly one
 * sends, and a claim left by one that stopped mid-send is never sent again (the contact may have
 * it). A run that stops midway leaves only the messages in flight undecided: the ones sent are in
 * the send log, the rest stay reserved for a re-run to send. A store error stops the run (no
 * message starts after it), but what the provider already answered is reported as it went.
 */
import { NodeApiError, type JsonObject } from 'n8n-workflow';

import type { ProviderError } from '../../shared/channels/errors';
import type { pool } from '../../shared/pool';
import type { ClaimResult } from '../../shared/store/types';
import { send, type SendOutcome } from '../transport';
import type { SendRun } from './context';
import { placeOutcome, recordAfterSend, variantOf } from './outcome';
import type { ReadyEntry, Round } from './route';

type Attempt = { claim?: ClaimResult; outcome?: SendOutcome };
export type Fatal = { r: ReadyEntry; error: ProviderError };

/** Provider answers that will fail every item: a broken credential or sender. */
const FATAL = new Set(['AUTH', 'CONFIG']);

export async function dispatchRound(
	run: SendRun,
	round: Round,
	ready: ReadyEntry[],
	inFlight: ReturnType<typeof pool>,
	endTurn: () => void,
	settle: Array<(sent: boolean) => void>,
): Promise<void> {
	// Two items of this batch with one key are one message: the first is sent, the others
	// share its outcome (deduplicated), never a second request.
	const dupes: ReadyEntry[] = [];
	const unique = ready.filter((r) => {
		if (run.firstOfKey.has(r.key)) {
			dupes.push(r);
			return false;
		}
		run.firstOfKey.set(r.key, {
			i: r.pd.i,
			sent: new Promise<boolean>((resolve) => settle.push(resolve)),
		});
		return true;
	});
	endTurn();
	const attempts = await inFlight.map(unique, async (r) => await attemptSend(run, r));
	const sentKeys = new Set<string>();
	const claimed: ReadyEntry[] = [];
	const outcomes: SendOutcome[] = [];
	unique.forEach((r, k) => {
		const { claim, outcome } = attempts[k];
		if (outcome) {
			claimed.push(r);
			outcomes.push(outcome);
		} else if (placeClaim(round, r, claim)) sentKeys.add(r.key);
	});
	let fatal: Fatal | undefined;
	claimed.forEach((r, k) => {
		const o = outcomes[k];
		if (o.ok) sentKeys.add(r.key);
		else if (FATAL.has(String(o.error.reason))) fatal ??= { r, error: o.error };
		placeOutcome(run, round, r, o);
	});
	unique.forEach((r, k) => settle[k](sentKeys.has(r.key)));
	await recordAfterSend(run, claimed, outcomes);
	await placeDupes(run, round, dupes);
	// A broken credential or sender fails every item: the node fails (n8n's Error Workflow
	// runs) unless continue-on-fail is on, where each item is on Not Sent with the reason.
	if (fatal && !run.fn.continueOnFail()) throw fatalError(run, fatal);
}

async function attemptSend(run: SendRun, r: ReadyEntry): Promise<Attempt> {
	if (run.stop.stopped) return {};
	let claim: ClaimResult | undefined;
	let outcome: SendOutcome | undefined;
	try {
		claim = (await run.store.claimTouches([r.key])).get(r.key);
		if (claim !== 'claimed' && claim !== 'missing') return { claim };
		outcome = await send(
			run.fn,
			r.channel,
			r.built,
			(await run.creds.for(r.channel))!,
			run.maxRetries,
			run.limiter,
			run.mediaIds,
			run.deadlineMs,
		);
		const variant = variantOf(run, r.pd.i);
		if (outcome.ok)
			await run.store.completeTouch(r.key, {
				status: 'sent',
				providerMessageId: outcome.providerMessageId,
				variant,
			});
		else
			await run.store.completeTouch(r.key, {
				status: outcome.error.reason === 'UNKNOWN_OUTCOME' ? 'unknown' : 'failed',
				errorCode: outcome.error.code,
				errorMessage: outcome.error.message,
				variant,
			});
	} catch (error) {
		run.stop.stopped = true;
		run.stop.firstError ??= error;
	}
	return { claim, outcome };
}

/** A message this run did not send because of its claim; true when it went earlier. */
function placeClaim(round: Round, r: ReadyEntry, claim: ClaimResult | undefined): boolean {
	// Not attempted, or stopped before the provider answered: left to the error (failClosed).
	if (claim === undefined || claim === 'claimed' || claim === 'missing') return false;
	if (claim === 'sent') {
		round.out.alreadySent(r.pd.i, r.channel, r.key);
		return true;
	}
	if (claim === 'unknown')
		round.notSent(r.pd, {
			channel: r.channel,
			status: 'unknown',
			reason: 'UNKNOWN_OUTCOME',
			idempotencyKey: r.key,
			message: `An earlier attempt at this message (idempotency key ${r.key}) ended without a clear answer from the provider, so it may have arrived. It is not sent again; check the provider's message log.`,
		});
	else
		round.notSent(r.pd, {
			channel: r.channel,
			reason: 'SEND_IN_PROGRESS',
			idempotencyKey: r.key,
			message: `Another execution claimed this message (idempotency key ${r.key}) and is sending it, or stopped while sending it. It is not sent again, so the contact never gets it twice.`,
		});
	return false;
}

/** Items of this run that carry a message another item sent: they share its outcome. */
async function placeDupes(run: SendRun, round: Round, dupes: ReadyEntry[]): Promise<void> {
	for (const r of dupes) {
		const first = run.firstOfKey.get(r.key)!;
		if (await first.sent) {
			round.out.alreadySent(r.pd.i, r.channel, r.key, { duplicateOfItem: first.i });
		} else {
			round.notSent(r.pd, {
				channel: r.channel,
				reason: 'DUPLICATE_IN_BATCH',
				idempotencyKey: r.key,
				duplicateOfItem: first.i,
				message: `Item ${first.i} of this batch carries the same message (idempotency key ${r.key}) and was not sent, so neither is this one.`,
			});
		}
	}
}

function fatalError(run: SendRun, { r, error }: Fatal): NodeApiError {
	return new NodeApiError(run.node, { code: error.code, message: error.message } as JsonObject, {
		itemIndex: r.pd.i,
		httpCode: error.httpStatus ? String(error.httpStatus) : undefined,
		message: `${r.channel} provider refused the credential or sender (${error.code}): ${error.message}`,
		description:
			'Nothing more is sent until the credential is fixed. Check the access token, account and sender (phone number ID, From, Messaging Service) in the credential.',
	});
}
