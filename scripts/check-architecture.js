#!/usr/bin/env node
// What ARCHITECTURE.md promises and lint cannot see: no import cycle under nodes/ (fails the run),
// and the rooms still too large (files over 400 lines, functions over 80), printed so the numbers
// only go down. The floors themselves are lint rules (eslint.config.mjs).
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.join(__dirname, '..');
const MAX_FILE = 400;
const MAX_FUNCTION = 80;

function sources(dir) {
	return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
		const p = path.join(dir, e.name);
		if (e.isDirectory()) return sources(p);
		return e.name.endsWith('.ts') ? [p] : [];
	});
}

const files = [...sources(path.join(ROOT, 'nodes')), ...sources(path.join(ROOT, 'credentials'))];
const rel = (f) => path.relative(ROOT, f);

/** Local imports of a file, resolved to files (type-only imports too: they tie the design as well). */
function importsOf(file) {
	const text = fs.readFileSync(file, 'utf8');
	const out = [];
	for (const m of text.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+'(\.{1,2}\/[^']+)'/gm)) {
		const base = path.resolve(path.dirname(file), m[1]);
		const found = [`${base}.ts`, path.join(base, 'index.ts')].find((c) => fs.existsSync(c));
		if (found) out.push(found);
	}
	return out;
}

const graph = new Map(files.map((f) => [f, importsOf(f)]));
const cycles = [];
const state = new Map();
const stack = [];
function visit(f) {
	state.set(f, 'open');
	stack.push(f);
	for (const g of graph.get(f) ?? []) {
		if (state.get(g) === 'open')
			cycles.push([...stack.slice(stack.indexOf(g)), g].map(rel).join(' -> '));
		else if (!state.has(g)) visit(g);
	}
	stack.pop();
	state.set(f, 'done');
}
for (const f of files) if (!state.has(f)) visit(f);

/** Functions (declarations, methods, arrow functions assigned to a name) and their length in lines. */
function longFunctions(file) {
	const lines = fs.readFileSync(file, 'utf8').split('\n');
	const out = [];
	const start =
		/^(\t*)(?:export\s+)?(?:async\s+)?(?:function\s+(\w+)|(?:const|let)\s+(\w+)\s*=\s*(?:async\s*)?(?:\([^)]*\)|\w+)\s*(?::[^=]+)?=>\s*\{$|(?:async\s+)?(\w+)\s*\([^)]*\)\s*(?::\s*[^{]+)?\{$)/;
	lines.forEach((line, i) => {
		const m = start.exec(line);
		if (!m || !/\{\s*$/.test(line)) return;
		const indent = m[1];
		const name = m[2] ?? m[3] ?? m[4];
		if (!name || ['if', 'for', 'while', 'switch', 'catch'].includes(name)) return;
		for (let j = i + 1; j < lines.length; j++) {
			if (lines[j].startsWith(`${indent}}`)) {
				if (j - i + 1 > MAX_FUNCTION) out.push(`${rel(file)}:${i + 1} ${name} ${j - i + 1} lines`);
				return;
			}
		}
	});
	return out;
}

const bigFiles = files
	.map((f) => [rel(f), fs.readFileSync(f, 'utf8').split('\n').length])
	.filter(([f, n]) => n > MAX_FILE && !f.endsWith('migrations.ts'));
const bigFunctions = files.flatMap(longFunctions);
console.log(
	`architecture: ${files.length} files under nodes/ and credentials/, ${cycles.length} import cycles`,
);
console.log(
	`  over ${MAX_FILE} lines (migrations' SQL excepted): ${bigFiles.length ? bigFiles.map(([f, n]) => `${f} ${n}`).join(', ') : 'none'}`,
);
console.log(
	`  functions over ${MAX_FUNCTION} lines: ${bigFunctions.length ? bigFunctions.join(', ') : 'none'}`,
);
if (cycles.length) {
	console.error(
		`Import cycles (ARCHITECTURE.md: an import only goes down):\n  ${cycles.join('\n  ')}`,
	);
	process.exit(1);
}
