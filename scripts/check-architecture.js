#!/usr/bin/env node
// What ARCHITECTURE.md promises and lint cannot see: no import cycle under nodes/, no file over 400
// lines and no function over 80, except the ones still listed in scripts/architecture-debt.json,
// each at most its listed size (the list only shrinks: an entry that fits the limit again, or a
// new room over it, fails the run). The floors themselves are lint rules (eslint.config.mjs).
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
			if (lines > MAX_FUNCTION) out.push({ key: `${rel(file)}:${nameOf(node)}`, first, lines });
		}
		ts.forEachChild(node, visit);
	};
	visit(source);
	return out;
}

const DEBT_FILE = path.join(__dirname, 'architecture-debt.json');
const debt = JSON.parse(fs.readFileSync(DEBT_FILE, 'utf8'));
const bigFiles = files
	.map((f) => ({ key: rel(f), lines: fs.readFileSync(f, 'utf8').split('\n').length }))
	.filter(({ key, lines }) => lines > MAX_FILE && !key.endsWith('migrations.ts'));
// Several anonymous functions of one file share a key: the largest counts.
const bigFunctions = [
	...files
		.flatMap(longFunctions)
		.reduce(
			(m, f) => m.set(f.key, m.has(f.key) && m.get(f.key).lines > f.lines ? m.get(f.key) : f),
			new Map(),
		)
		.values(),
];

/** What is over its limit and not allowed (new, or grown), and what the list allows but no longer needs. */
function judge(kind, found, allowed, limit) {
	const problems = [];
	for (const { key, lines } of found) {
		if (!(key in allowed)) problems.push(`${key}: ${lines} lines, over ${limit} (a new ${kind})`);
		else if (lines > allowed[key])
			problems.push(`${key}: ${lines} lines, grown past the ${allowed[key]} listed`);
	}
	const present = new Set(found.map((f) => f.key));
	for (const key of Object.keys(allowed))
		if (!present.has(key))
			problems.push(
				`${key}: within ${limit} lines now; take it off scripts/architecture-debt.json`,
			);
	return problems;
}

const problems = [
	...judge('file', bigFiles, debt.files, MAX_FILE),
	...judge('function', bigFunctions, debt.functions, MAX_FUNCTION),
];
console.log(
	`architecture: ${files.length} files under nodes/ and credentials/, ${cycles.length} import cycles; ` +
		`still listed as too large: ${bigFiles.length} files over ${MAX_FILE} lines, ${bigFunctions.length} functions over ${MAX_FUNCTION}`,
);
if (process.argv.includes('--list'))
	console.log(
		JSON.stringify(
			{
				files: Object.fromEntries(bigFiles.map((f) => [f.key, f.lines])),
				functions: Object.fromEntries(bigFunctions.map((f) => [f.key, f.lines])),
			},
			null,
			'\t',
		),
	);
if (cycles.length) {
	console.error(
		`Import cycles (ARCHITECTURE.md: an import only goes down):\n  ${cycles.join('\n  ')}`,
	);
	process.exit(1);
}
if (problems.length) {
	console.error(
		`Rooms over their size (ARCHITECTURE.md "Size"; split them, or shrink scripts/architecture-debt.json):\n  ${problems.join('\n  ')}`,
	);
	process.exit(1);
}
