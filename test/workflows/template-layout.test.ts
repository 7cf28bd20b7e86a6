/**
 * What a marketer sees when a template opens: nothing drawn over anything else, every note's text
 * inside its note and readable at the zoom the editor opens at, and the big Execute workflow
 * button running Try It (the demo), not a trigger that waits for a call.
 */
import fs from 'node:fs';
import path from 'node:path';

import { PROJECT_ROOT, type WorkflowJson } from '../harness';
import { draw, layoutProblems, MIN_TEXT_PX, textPixels } from './layout';
import { loadTemplate } from './template-helpers';

const templates = fs
	.readdirSync(path.join(PROJECT_ROOT, 'workflows'))
	.filter((f) => f.endsWith('.json'));

/**
 * The trigger n8n's canvas puts on its Execute workflow button when a workflow opens (the editor's
 * findTriggerNodeToAutoSelect): among triggers that are switched on and are not a chat, the
 * highest priority (form 10, webhook 9, other apps' triggers 8, schedule 7, manual 6, workflow 5,
 * error 4, n8n's other core triggers 0), and the first in the workflow's node list on a tie.
 */
function buttonTrigger(wf: WorkflowJson): string | undefined {
	const priority: Record<string, number> = {
		'n8n-nodes-base.formTrigger': 10,
		'n8n-nodes-base.webhook': 9,
		'n8n-nodes-base.scheduleTrigger': 7,
		'n8n-nodes-base.manualTrigger': 6,
		'n8n-nodes-base.executeWorkflowTrigger': 5,
		'n8n-nodes-base.errorTrigger': 4,
	};
	const isTrigger = (type: string) =>
		type in priority || /trigger$/i.test(type) || type.endsWith('.webhook');
	const rank = (type: string) => priority[type] ?? (type.startsWith('n8n-nodes-base.') ? 0 : 8);
	return wf.nodes
		.filter((n) => isTrigger(n.type) && !n.disabled && !/chatTrigger$/.test(n.type))
		.sort((a, b) => rank(b.type) - rank(a.type))[0]?.name;
}

describe('template layout', () => {
	it.each(templates)('%s: nothing drawn over anything, notes readable', (file) => {
		expect(layoutProblems(loadTemplate(file))).toEqual([]);
	});

	it.each(templates)('%s: the Execute workflow button runs Try It', (file) => {
		expect(buttonTrigger(loadTemplate(file))).toBe('Try It');
	});

	it('finds a node drawn over another, a node over a note, text that overflows or is too small', () => {
		const wf = loadTemplate('abandoned-cart.json');
		const at = (name: string) => wf.nodes.find((n) => n.name === name)!;
		at('Write Reminder').position = [
			at('Send Best Channel').position[0] - 200,
			at('Send Best Channel').position[1],
		];
		const note = wf.nodes.find((n) => n.name === 'Try It: About')!;
		at('Reminded').position = [note.position[0] + 10, note.position[1] + 10];
		note.parameters.height = 60;
		const problems = layoutProblems(wf).join('\n');
		expect(problems).toContain('node "Write Reminder" is drawn over node "Send Best Channel"');
		expect(problems).toContain('note "Try It: About"');
		expect(problems).toContain('"Reminded"');

		const far = loadTemplate('abandoned-cart.json');
		far.nodes[0].position = [far.nodes[0].position[0] - 3000, far.nodes[0].position[1]];
		expect(textPixels(draw(far))).toBeLessThan(MIN_TEXT_PX);
		expect(layoutProblems(far).join('\n')).toContain('px at the zoom the editor opens at');
	});

	it('win-back: `n8n execute` runs Run Now, not Try It', () => {
		// n8n execute (2.40.7) starts at the first manual or Execute Workflow trigger in the node list
		// (checked against the CLI: with Try It listed first it ran Try It); the editor's button still
		// prefers a manual trigger (6) to an Execute Workflow trigger (5), so it runs Try It.
		const starts = ['n8n-nodes-base.manualTrigger', 'n8n-nodes-base.executeWorkflowTrigger'];
		const wf = loadTemplate('win-back.json');
		expect(wf.nodes.find((n) => starts.includes(n.type))?.name).toBe('Run Now');
		expect(buttonTrigger(wf)).toBe('Try It');
	});

	it('a template that ships its real trigger on would run it from the button, not Try It', () => {
		const wf = loadTemplate('abandoned-cart.json');
		wf.nodes.find((n) => n.name === 'Cart Abandoned')!.disabled = false;
		expect(buttonTrigger(wf)).toBe('Cart Abandoned');
	});
});
