#!/usr/bin/env node
// Runs every bench/*.bench.js (each exports `async run()` that prints its own figures) in turn.
// Benchmarks print ratios against a baseline measured in the same process; they assert nothing.
// `npm run bench -- segment` runs only the benchmarks whose file name contains "segment".
const fs = require('node:fs');
const path = require('node:path');

async function main() {
	const dir = path.join(__dirname, '..', 'bench');
	const filter = process.argv[2];
	const files = fs
		.readdirSync(dir)
		.filter((f) => f.endsWith('.bench.js') && (!filter || f.includes(filter)))
		.sort();
	if (files.length === 0) {
		console.log('No benchmarks matched.');
		return;
	}
	for (const file of files) {
		console.log(`\n=== ${file} ===`);
		const started = process.hrtime.bigint();
		await require(path.join(dir, file)).run();
		console.log(`(${file} took ${Number(process.hrtime.bigint() - started) / 1e9} s)`);
	}
}

main().catch((error) => {
	console.error(error);
	process.exit(1);
});
