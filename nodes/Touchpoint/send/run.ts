/**
 * Touchpoint's send, as a pipeline: read the run's settings → read the items and their people →
 * in waves, rounds of route (message, fallback, policy) → dispatch (claim, send, outcome) → place.
 *
 * Waves: the batch goes on in waves of WAVE items, each prepared (messages, the gate, claims)
 * while the waves before it are sending, so the first request leaves once the first wave is
 * ready instead of once every item is (190 ms for 2,000 items in a fresh n8n process). One
 * wave prepares at a time, in order, with a turn of the event loop between, so the pacer's
 * timers are never held up long; sends share one pool of requests in flight, and come out in
 * the order the items came in.
 */
import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import { inFlightFor } from '../../shared/channels/limiter';
import { asNodeError } from '../../shared/n8n/fail-closed';
import { pool, turns } from '../../shared/pool';
import { TemplateCheck } from '../transport/templates';
import { startRun, type SendRun } from './context';
import { dispatchRound } from './dispatch';
import { gateRound } from './gate';
import { readPending, type Pending } from './items';
import { Outcomes } from './place';
import { placePreviews } from './preview';
import { buildRound, Round } from './route';

/** Items prepared at a time while earlier ones are sending. */
const WAVE = 100;

export async function sendAll(
	fn: IExecuteFunctions,
	sent: INodeExecutionData[],
	notSent: INodeExecutionData[],
	previews: INodeExecutionData[],
): Promise<void> {
	const run = await startRun(fn);
	const out = new Outcomes(run.items, sent, notSent, previews);
	const pending = await readPending(fn, run, run.p, run.store, run.files, out);
	// A channel an item can only go by, without its credential, fails the node before anything is
	// sent (not once the waves before that item have sent theirs).
	for (const channel of new Set(
		pending.filter((pd) => pd.candidates.length === 1).map((pd) => pd.candidates[0]),
	)) {
		if (!(await run.creds.for(channel))) throw run.creds.missing(channel);
	}
	const waves: Pending[][] = [];
	if (run.dryRun) waves.push(pending);
	else for (let k = 0; k < pending.length; k += WAVE) waves.push(pending.slice(k, k + WAVE));
	const waveOut = waves.map(() => new Outcomes(run.items));
	const stage: WaveStage = {
		inFlight: pool(await concurrencyFor(run, pending)),
		prepTurn: turns(),
		templates: new TemplateCheck(fn),
	};
	await Promise.all(
		waves.map(async (wave, w) => {
			try {
				await runWave(run, stage, wave, waveOut[w]);
			} catch (error) {
				// Nothing more starts: the items not placed yet are the error's (failClosed).
				run.stop.stopped = true;
				run.stop.firstError ??= error;
			}
		}),
	);
	for (const w of waveOut) out.append(w);
	if (run.stop.firstError !== undefined) throw asNodeError(run.node, run.stop.firstError);
}

interface WaveStage {
	inFlight: ReturnType<typeof pool>;
	prepTurn: ReturnType<typeof turns>;
	templates: TemplateCheck;
}

async function concurrencyFor(run: SendRun, pending: Pending[]): Promise<number> {
	if (Number(run.options.concurrency) > 0) return Number(run.options.concurrency);
	const channels = [...new Set(pending.flatMap((pd) => pd.candidates))];
	return inFlightFor(
		await Promise.all(channels.map(async (c) => (await run.creds.for(c))?.ratePerSecond ?? 0)),
	);
}

/** A wave's rounds: each tries every waiting item on its next channel, until none waits. */
async function runWave(
	run: SendRun,
	stage: WaveStage,
	wave: Pending[],
	out: Outcomes,
): Promise<void> {
	let pending = wave;
	while (pending.length && !run.stop.stopped) {
		const endTurn = await stage.prepTurn();
		const settle: Array<(sent: boolean) => void> = [];
		try {
			if (run.stop.stopped) return;
			const round = new Round(out);
			const entries = await buildRound(run, round, pending, stage.templates);
			const { ready, touches } = await gateRound(run, round, entries);
			// A tracked link works from the moment a message carries it (a preview's too).
			const links = ready.flatMap((r) => r.links);
			if (links.length) await run.store.saveTrackedLinks(links);
			if (run.dryRun) await placePreviews(run, round, ready, touches);
			else await dispatchRound(run, round, ready, stage.inFlight, endTurn, settle);
			pending = round.next;
		} finally {
			endTurn();
			// A message this wave never got to tells the items waiting on it that it was not sent.
			for (const done of settle) done(false);
		}
	}
}
