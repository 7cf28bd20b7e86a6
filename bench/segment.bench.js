/**
 * Segment at scale inside n8n-core's WorkflowExecute (the in-process harness, compiled by
 * `npm run bench`): 100,000 contacts through 8 segments of 3 conditions. Printed, not asserted:
 *  - items/s of the Segment node,
 *  - ratio to a plain JavaScript loop doing the same evaluation (target: within 3x),
 *  - ratio to n8n's own Switch node on the same rules, same process (target: >= 100x faster per
 *    item). Switch evaluates each condition as an expression in an isolated VM, so it runs on
 *    fewer items (SWITCH_ITEMS) and the comparison is per item.
 */
const path = require('node:path');

const N = Number(process.env.BENCH_CONTACTS || 100000);
const SWITCH_ITEMS = Number(process.env.SWITCH_ITEMS || 2000);
const COUNTRIES = ['ES', 'PT', 'FR', 'DE', 'IT', 'GB', 'NL', 'BE'];

function data(n) {
	const items = [];
	let seed = 42;
	const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
	for (let i = 0; i < n; i++) {
		items.push({
			contact: { id: `c${i}`, country: COUNTRIES[Math.floor(rnd() * 8)] },
			spent: Math.floor(rnd() * 2000),
			visits: Math.floor(rnd() * 50),
		});
	}
	return items;
}

const RULES = COUNTRIES.map((country, k) => ({
	name: `Seg ${country}`,
	country,
	minSpent: 200 + k * 100,
	maxVisits: 40 - k,
}));

/** Segment's Route by Rules over `rules` (each: name, country, minSpent, maxVisits); bench:n8n uses it too. */
function segmentParams(rules = RULES) {
	return {
		operation: 'routeByRules',
		segments: {
			values: rules.map((r) => ({
				name: r.name,
				combine: 'and',
				conditions: {
					condition: [
						{ field: 'contact.country', operator: 'equals', value: r.country },
						{ field: 'spent', operator: 'gte', value: String(r.minSpent) },
						{ field: 'visits', operator: 'lt', value: String(r.maxVisits) },
					],
				},
			})),
		},
	};
}

/** n8n's own Switch v3.2 with the same rules, conditions as expressions. */
function switchNode(rules = RULES) {
	const cond = (left, op, type, right) => ({
		leftValue: left,
		rightValue: right,
		operator: { type, operation: op },
	});
	return {
		type: 'n8n-nodes-base.switch',
		name: 'Switch',
		typeVersion: 3.2,
		parameters: {
			rules: {
				values: rules.map((r) => ({
					outputKey: r.name,
					renameOutput: true,
					conditions: {
						options: { caseSensitive: false, leftValue: '', typeValidation: 'loose' },
						combinator: 'and',
						conditions: [
							cond('={{ $json.contact.country }}', 'equals', 'string', r.country),
							cond('={{ $json.spent }}', 'gte', 'number', r.minSpent),
							cond('={{ $json.visits }}', 'lt', 'number', r.maxVisits),
						],
					},
				})),
			},
			options: { fallbackOutput: 'extra' },
		},
	};
}

function plainLoop(items) {
	const counts = new Array(RULES.length + 1).fill(0);
	for (const it of items) {
		let hit = RULES.length;
		for (let k = 0; k < RULES.length; k++) {
			const r = RULES[k];
			if (
				String(it.contact.country).toLowerCase() === r.country.toLowerCase() &&
				Number(it.spent) >= r.minSpent &&
				Number(it.visits) < r.maxVisits
			) {
				hit = k;
				break;
			}
		}
		counts[hit]++;
	}
	return counts;
}

const secs = (t) => Number(process.hrtime.bigint() - t) / 1e9;

async function run() {
	process.env.N8N_USER_FOLDER =
		process.env.N8N_USER_FOLDER ||
		require('node:fs').mkdtempSync(path.join(require('node:os').tmpdir(), 'cm-bench-'));
	const { manualWorkflow, runWorkflow } = require('../.cache/bench-build/test/harness');
	const items = data(N);

	let t = process.hrtime.bigint();
	const plainCounts = plainLoop(items);
	const plainS = secs(t);

	// Warm up the engine once, then measure.
	await runWorkflow(
		manualWorkflow({
			items: items.slice(0, 100),
			node: { type: 'segment', parameters: segmentParams() },
		}),
	);
	t = process.hrtime.bigint();
	const seg = await runWorkflow(
		manualWorkflow({ items, node: { type: 'segment', parameters: segmentParams() } }),
	);
	const segS = secs(t);
	const segCounts = seg.outputs('Segment').map((o) => o.length);
	if (JSON.stringify(segCounts) !== JSON.stringify(plainCounts)) {
		console.log(`MISMATCH: Segment ${segCounts} vs plain loop ${plainCounts}`);
	}
	// The same workflow with no Segment node: n8n's own cost of moving the items.
	t = process.hrtime.bigint();
	await runWorkflow(manualWorkflow({ items, chain: [] }));
	const emptyS = secs(t);

	const few = items.slice(0, SWITCH_ITEMS);
	await runWorkflow(manualWorkflow({ items: few.slice(0, 10), node: switchNode() }));
	t = process.hrtime.bigint();
	const sw = await runWorkflow(manualWorkflow({ items: few, node: switchNode() }));
	const swS = secs(t);
	const swCounts = sw.outputs('Switch').map((o) => o.length);
	const expected = plainLoop(few);
	if (JSON.stringify(swCounts) !== JSON.stringify(expected))
		console.log(`Switch routed ${swCounts}, plain loop ${expected}`);

	const segPerItem = segS / N;
	const swPerItem = swS / SWITCH_ITEMS;
	console.log(`rules: 8 segments x 3 conditions; ${N} contacts; routed ${segCounts.join('/')}`);
	console.log(`plain JavaScript loop: ${plainS.toFixed(3)} s (${Math.round(N / plainS)} items/s)`);
	console.log(
		`Segment node in WorkflowExecute: ${segS.toFixed(3)} s (${Math.round(N / segS)} items/s) = ${(segS / plainS).toFixed(1)}x the plain loop`,
	);
	console.log(
		`  (the same workflow without Segment, n8n moving ${N} pinned items: ${emptyS.toFixed(3)} s)`,
	);
	console.log(
		`n8n Switch v3 on the same rules: ${SWITCH_ITEMS} items in ${swS.toFixed(2)} s (${Math.round(SWITCH_ITEMS / swS)} items/s)`,
	);
	console.log(`Segment is ${(swPerItem / segPerItem).toFixed(0)}x faster per item than Switch`);
}

module.exports = { run, segmentParams, switchNode };
if (require.main === module)
	run().catch((e) => {
		console.error(e);
		process.exit(1);
	});
