import type {
	INodeType,
	INodeTypeDescription,
	ISupplyDataFunctions,
	SupplyData,
} from 'n8n-workflow';
import { NodeConnectionTypes, NodeOperationError } from 'n8n-workflow';

import type { ScriptTurn } from '../shared/ai/script';
import { ScriptedChatModel } from './model';

/**
 * A Chat Model sub-node with scripted answers, so a template's Try It runs n8n's real AI Agent
 * with its real tools and no AI account: each turn matches the person's message, may call a tool,
 * and answers (another answer when the tool refused). Every answer is labelled [Sample].
 */
export class SampleChatModel implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Sample Chat Model',
		name: 'sampleChatModel',
		icon: { light: 'file:sampleChatModel.svg', dark: 'file:sampleChatModel.dark.svg' },
		group: ['transform'],
		version: 1,
		description:
			'Scripted answers for trying an AI Agent without an AI account: calls the tools you name and answers, labelled [Sample]',
		subtitle: 'Scripted answers',
		defaults: { name: 'Sample Chat Model' },
		inputs: [],
		outputs: [NodeConnectionTypes.AiLanguageModel],
		outputNames: ['Model'],
		properties: [
			{
				displayName:
					'Not a model: it answers from the script below, so an agent can be tried with no AI account. Connect a real Chat Model to go live.',
				name: 'notice',
				type: 'notice',
				default: '',
			},
			{
				displayName: 'Turns',
				name: 'turns',
				type: 'fixedCollection',
				typeOptions: { multipleValues: true, sortable: true },
				placeholder: 'Add Turn',
				default: {},
				description: 'The first turn whose words the message contains answers it',
				options: [
					{
						displayName: 'Turn',
						name: 'turn',
						// In the order a turn happens: the message, the tool, the answers.
						// eslint-disable-next-line n8n-nodes-base/node-param-fixed-collection-type-unsorted-items
						values: [
							{
								displayName: 'When the Message Contains',
								name: 'whenContains',
								type: 'string',
								default: '',
								placeholder: 'e.g. book',
								description: "Words in the person's message (any case). Empty: any message.",
							},
							{
								displayName: 'Call Tool',
								name: 'tool',
								type: 'string',
								default: '',
								placeholder: 'e.g. Track Booking',
								description: 'The tool node to call, by its name. Empty: answer without a tool.',
							},
							{
								displayName: 'With Arguments (JSON)',
								name: 'args',
								type: 'json',
								default: '{}',
							},
							{ displayName: 'Answer', name: 'answer', type: 'string', default: '' },
							{
								displayName: 'Answer If the Tool Refused',
								name: 'answerIfRefused',
								type: 'string',
								default: '',
								description: 'When the tool answered refused, blocked or not sent. Empty: Answer.',
							},
						],
					},
				],
			},
			{
				displayName: 'Answer Otherwise',
				name: 'fallback',
				type: 'string',
				default: 'This is a sample model: connect a real Chat Model for real answers.',
			},
		],
	};

	async supplyData(this: ISupplyDataFunctions, itemIndex: number): Promise<SupplyData> {
		const raw = (this.getNodeParameter('turns.turn', itemIndex, []) ?? []) as Array<
			Record<string, unknown>
		>;
		const turns: ScriptTurn[] = raw.map((t, k) => ({
			whenContains: String(t.whenContains ?? ''),
			tool: String(t.tool ?? ''),
			args: parseArgs(this, t.args, k),
			answer: String(t.answer ?? ''),
			answerIfRefused: String(t.answerIfRefused ?? ''),
		}));
		const fallback = String(this.getNodeParameter('fallback', itemIndex, ''));
		return { response: new ScriptedChatModel(turns, fallback) };
	}
}

function parseArgs(fn: ISupplyDataFunctions, value: unknown, k: number): Record<string, unknown> {
	if (value && typeof value === 'object') return value as Record<string, unknown>;
	const text = String(value ?? '').trim() || '{}';
	try {
		const parsed = JSON.parse(text) as unknown;
		if (parsed && typeof parsed === 'object' && !Array.isArray(parsed))
			return parsed as Record<string, unknown>;
	} catch {
		// named below
	}
	throw new NodeOperationError(fn.getNode(), `Turn ${k + 1}: With Arguments is not a JSON object`, {
		description: `"${text.slice(0, 80)}" must be an object such as {"contact": "+34600111222"}.`,
	});
}
