/**
 * withDeadline: the one way an outside call is bounded. A call that never settles, and one that
 * ignores its abort signal, both answer at the deadline; the signal is aborted for those that listen.
 */
import { DeadlineError, withDeadline } from '../../../nodes/shared/deadline';

describe('withDeadline', () => {
	it('a call that never answers and ignores its signal is answered at the deadline with DeadlineError, and its signal is aborted', async () => {
		jest.useFakeTimers({ now: 1_800_000_000_000 });
		try {
			let seen: AbortSignal | undefined;
			const outcome = withDeadline('The test provider', 2000, (signal) => {
				seen = signal;
				return new Promise<string>(() => undefined);
			}).then(
				(v) => v,
				(e: unknown) => e,
			);
			await jest.advanceTimersByTimeAsync(1999);
			expect(seen?.aborted).toBe(false);
			await jest.advanceTimersByTimeAsync(1);
			const error = await outcome;
			expect(error).toBeInstanceOf(DeadlineError);
			expect((error as DeadlineError).message).toBe(
				'The test provider did not answer within 2 s and was ended',
			);
			expect(seen?.aborted).toBe(true);
		} finally {
			jest.useRealTimers();
		}
	});

	it('a call that answers in time is answered as it was, and a call that rejects on abort is reported as the deadline', async () => {
		await expect(withDeadline('x', 1000, async () => 'ok')).resolves.toBe('ok');
		await expect(
			withDeadline('x', 1000, async () => Promise.reject(new Error('refused'))),
		).rejects.toThrow('refused');
		const listening = withDeadline(
			'The listening provider',
			20,
			(signal) =>
				new Promise((_, reject) =>
					signal.addEventListener('abort', () => reject(new Error('aborted by the signal'))),
				),
		);
		await expect(listening).rejects.toBeInstanceOf(DeadlineError);
	});

	it('a deadline longer than a timer can hold is not a timer that fires after 1 ms (Node would): the call is still running', async () => {
		jest.useFakeTimers({ now: 1_800_000_000_000 });
		try {
			let settled = false;
			void withDeadline(
				'The patient provider',
				2 ** 40,
				() => new Promise<string>(() => undefined),
			).then(
				() => (settled = true),
				() => (settled = true),
			);
			await jest.advanceTimersByTimeAsync(60_000);
			expect(settled).toBe(false);
		} finally {
			jest.useRealTimers();
		}
	});
});
