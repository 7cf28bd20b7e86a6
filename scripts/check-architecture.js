#!/usr/bin/env node
// What ARCHITECTURE.md promises and lint cannot see: no import cycle under nodes/ (fails the run),
// and the rooms still too large (files over 400 lines, functions over 80), printed so the numbers
// only go down. The floors themselves are lint rules (eslint.config.mjs).
const fs = require('node:fs');
const ts = require('typescript');
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

/**
 * Every function (declarations, methods, arrow functions, function expressions) and its length in
 * lines, as TypeScript parses it: a signature over several lines is measured like one on one line.
 */
function longFunctions(file) {
	const text = fs.readFileSync(file, 'utf8');
	const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
	const out = [];
	const lineOf = (pos) => source.getLineAndCharacterOfPosition(pos).line + 1;
	const nameOf = (node) => {
		if (node.name && ts.isIdentifier(node.name)) return node.name.text;
		if (node.name) return node.name.getText(source);
		const parent = node.parent;
		if (parent && (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent)))
			return parent.name.getText(source);
		if (ts.isConstructorDeclaration(node)) return 'constructor';
		return '(anonymous)';
	};
	const visit = (node) => {
		if (ts.isFunctionLike(node) && node.body) {
			const first = lineOf(node.getStart(source));
			const lines = lineOf(node.end) - first + 1;
			if (lines > MAX_FUNCTION) out.push(`${rel(file)}:${first} ${nameOf(node)} ${lines} lines`);
		}
		ts.forEachChild(node, visit);
	};
	visit(source);
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
