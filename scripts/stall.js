// A busy machine, made on purpose: preloaded into every Node process of a test run, it blocks the
// event loop for STALL_MS every STALL_EVERY_MS (20 ms every 70 ms by default), as other work on a
// loaded 2-core CI machine does. A test that passes only when timers fire on time fails under it.
//
//   NODE_OPTIONS="--require ./scripts/stall.js" npx jest --ci
//
// The interval is unref'd: it never keeps a process alive on its own.
const stallMs = Number(process.env.STALL_MS ?? 20);
const everyMs = Number(process.env.STALL_EVERY_MS ?? 70);

if (stallMs > 0 && everyMs > 0) {
	setInterval(() => {
		const until = Date.now() + stallMs;
		while (Date.now() < until) {
			// the event loop stands still
		}
	}, everyMs).unref();
}
