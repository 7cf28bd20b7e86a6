/**
 * How n8n's canvas draws a workflow, measured from its JSON: each node's box (with its name and
 * subtitle beneath it), each sticky note's box and the block its text fills, and the zoom the
 * editor opens at ("zoom to fit" in a 1440x900 window). The template layout test uses it.
 *
 * Sizes are n8n's: a node is 100x100 and grows 32 px per handle past two; a node that takes a
 * Chat Model or tools (AI Content, Conversational Form, the AI Agent) is drawn 256 wide; a sub-node
 * (a Chat Model) is an 80 px circle; a note is its width x height; note text is 14 px with 20 px
 * lines, about 7.5 px per character.
 */
import type { WorkflowJson } from '../harness';

export interface Box {
	x: number;
	y: number;
	w: number;
	h: number;
}

export interface Drawn {
	name: string;
	kind: 'node' | 'note';
	box: Box;
	/** A note's text block (from its top edge); a node's label under it is part of its box. */
	text?: Box;
}

const STICKY = 'n8n-nodes-base.stickyNote';
/** Nodes that take a Chat Model or tools whatever is connected. */
const CONFIGURABLE = [
	'n8n-nodes-convergent-marketing.aiContent',
	'n8n-nodes-convergent-marketing.conversationalForm',
	'@n8n/n8n-nodes-langchain.agent',
];
const LABEL = { below: 44, side: 30 };
export const TEXT_PX = 14;
const LINE = 20;
const CHAR = 7.5;
const NOTE_PADDING = 12;
/** The canvas in a 1440x900 window, less n8n's sidebar and header; fit leaves a 10 % margin. */
export const CANVAS = { w: 1240, h: 760, margin: 0.1 };
/** The smallest note text a template may open at (the templates opened at 5.5-7.4 px before). */
export const MIN_TEXT_PX = 8;

type Connections = Record<string, Record<string, Array<Array<{ node: string }> | null>>>;

function handles(name: string, connections: Connections): { outputs: number; inputs: number } {
	const outputs = (connections[name]?.main ?? []).length;
	let inputs = 0;
	for (const byType of Object.values(connections))
		for (const list of byType.main ?? [])
			for (const c of list ?? []) if (c.node === name) inputs = Math.max(inputs, 1);
	return { outputs, inputs };
}

function isSubNode(name: string, connections: Connections): boolean {
	const types = Object.keys(connections[name] ?? {});
	return types.length > 0 && types.every((t) => t !== 'main');
}

function takesModels(name: string, type: string, connections: Connections): boolean {
	if (CONFIGURABLE.includes(type)) return true;
	for (const byType of Object.values(connections))
		for (const [kind, lists] of Object.entries(byType))
			if (kind !== 'main')
				for (const list of lists) for (const c of list ?? []) if (c.node === name) return true;
	return false;
}

/** The lines a note's markdown takes at its width. */
export function noteTextHeight(content: string, width: number): number {
	const perLine = Math.max(1, Math.floor((width - 2 * NOTE_PADDING) / CHAR));
	let lines = 0;
	for (const raw of content.split('\n')) {
		const heading = /^#{1,3}\s/.test(raw);
		const text = raw.replace(/[*_`]/g, '').replace(/\[([^\]]*)\]\([^)]*\)/g, '$1');
		const wraps = Math.max(1, Math.ceil((text.length * (heading ? 1.4 : 1)) / perLine));
		lines += heading ? wraps * 1.5 : wraps;
	}
	return Math.ceil(lines * LINE + 2 * NOTE_PADDING);
}

export function draw(workflow: WorkflowJson): Drawn[] {
	const connections = (workflow.connections ?? {}) as unknown as Connections;
	return workflow.nodes.map((node) => {
		const [x, y] = node.position;
		if (node.type === STICKY) {
			const w = Number(node.parameters.width ?? 240);
			const h = Number(node.parameters.height ?? 160);
			const textH = noteTextHeight(String(node.parameters.content ?? ''), w);
			return { name: node.name, kind: 'note', box: { x, y, w, h }, text: { x, y, w, h: textH } };
		}
		if (isSubNode(node.name, connections)) {
			return { name: node.name, kind: 'node', box: { x: x - 30, y, w: 140, h: 80 + LABEL.below } };
		}
		const { outputs, inputs } = handles(node.name, connections);
		const h = 100 + Math.max(0, Math.max(outputs, inputs) - 2) * 32;
		if (takesModels(node.name, node.type, connections)) {
			return { name: node.name, kind: 'node', box: { x, y, w: 256, h: h + LABEL.below } };
		}
		const box = { x: x - LABEL.side, y, w: 100 + 2 * LABEL.side, h: h + LABEL.below };
		return { name: node.name, kind: 'node', box };
	});
}

export const overlaps = (a: Box, b: Box) =>
	a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;

export const inside = (a: Box, b: Box) =>
	a.x >= b.x && a.y >= b.y && a.x + a.w <= b.x + b.w && a.y + a.h <= b.y + b.h;

/** Everything wrong with a template's drawing, as sentences; empty when it reads well. */
export function layoutProblems(workflow: WorkflowJson): string[] {
	const drawn = draw(workflow);
	const nodes = drawn.filter((d) => d.kind === 'node');
	const notes = drawn.filter((d) => d.kind === 'note');
	const out: string[] = [];
	for (let i = 0; i < nodes.length; i++)
		for (let j = i + 1; j < nodes.length; j++)
			if (overlaps(nodes[i].box, nodes[j].box))
				out.push(`node "${nodes[i].name}" is drawn over node "${nodes[j].name}"`);
	for (const note of notes) {
		if (note.text!.h > note.box.h)
			out.push(`note "${note.name}": its text needs ${note.text!.h} px, it is ${note.box.h} high`);
		for (const node of nodes) {
			if (!overlaps(node.box, note.box)) continue;
			if (!inside(node.box, note.box))
				out.push(`node "${node.name}" lies across the edge of note "${note.name}"`);
			else if (overlaps(node.box, note.text!))
				out.push(`node "${node.name}" is drawn over the text of note "${note.name}"`);
		}
	}
	const px = textPixels(drawn);
	if (px < MIN_TEXT_PX)
		out.push(`note text is ${px.toFixed(1)} px at the zoom the editor opens at`);
	return out;
}

/** Note text's height in screen pixels when the editor fits the whole workflow in its window. */
export function textPixels(drawn: Drawn[]): number {
	const xs = drawn.flatMap((d) => [d.box.x, d.box.x + d.box.w]);
	const ys = drawn.flatMap((d) => [d.box.y, d.box.y + d.box.h]);
	const w = Math.max(...xs) - Math.min(...xs);
	const h = Math.max(...ys) - Math.min(...ys);
	const zoom = Math.min(
		1,
		CANVAS.w / (w * (1 + CANVAS.margin)),
		CANVAS.h / (h * (1 + CANVAS.margin)),
	);
	return TEXT_PX * zoom;
}
