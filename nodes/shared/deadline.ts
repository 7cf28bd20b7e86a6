/**
 * Every call to the outside world has a deadline that really ends it (ARCHITECTURE.md: deadline): a
 * provider that accepts the connection and never answers, or answers a byte a minute, cannot hold
 * a run longer than the deadline. The call is given an AbortSignal (n8n's httpRequest, fetch and
 * the googleapis client abort on it), and the caller is answered when the deadline passes whether
 * or not the call listened: the run goes on.
 */

/** A request's deadline unless the node says otherwise (Touchpoint's Request Timeout option). */
export const REQUEST_DEADLINE_MS = 30_000;

/** A model's answer (AI Content, Conversational Form): longer texts take longer than a send. */
export const AI_DEADLINE_MS = 60_000;

/** The call ran past its deadline: it may or may not have reached the other side. */
export class DeadlineError extends Error {
	readonly code = 'DEADLINE_EXCEEDED';
	constructor(
		readonly what: string,
		readonly ms: number,
	) {
		super(`${what} did not answer within ${ms / 1000} s and was ended`);
	}
}

/** The longest wait a timer can hold: Node fires a timer of more than 2^31-1 ms after 1 ms. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Runs `call` with a signal that aborts at `ms` (at most MAX_TIMER_MS), and answers by then at the latest. */
export async function withDeadline<T>(
	what: string,
	asked: number,
	call: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
	// A deadline the timer cannot hold (or none given) is the longest it can.
	const ms = asked > 0 ? Math.min(asked, MAX_TIMER_MS) : MAX_TIMER_MS;
	const controller = new AbortController();
	let timer: ReturnType<typeof setTimeout> | undefined;
	const late = new Promise<never>((_, reject) => {
		timer = setTimeout(() => {
			const error = new DeadlineError(what, ms);
			// Rejected before the abort, so the caller hears the deadline, not the call's own abort error.
			reject(error);
			controller.abort(error);
		}, ms);
	});
	const running = call(controller.signal);
	// A call that fails after its deadline has no one left to tell.
	running.catch(() => undefined);
	try {
		return await Promise.race([running, late]);
	} finally {
		clearTimeout(timer);
	}
}
