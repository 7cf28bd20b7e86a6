/**
 * One operation contract for every node, and the one runner that applies what no node may forget:
 * an AI agent's limits (operations it is never given, operations about the conversation's person
 * only), fail-closed (an error never reaches n8n's continue path, which copies the input to output
 * 0; it lands on the operation's last output) and tool mode (an agent reads every output as one list).
 */
import {
	NodeOperationError,
	type IDataObject,
	type IExecuteFunctions,
	type INodeExecutionData,
} from 'n8n-workflow';

import { adopt, failClosed } from './fail-closed';
import { getStore } from './store';
import { isToolCall, toolAware } from './tool-mode';
import { conversationRefusal } from './tool-scope';

export interface Operation {
	/** The outputs' names, in order (an agent reads them); errors go to the last output. */
	outputs: (fn: IExecuteFunctions) => string[];
	/** How many outputs the node has, when its panel counts them otherwise than `outputs`. */
	count?: (fn: IExecuteFunctions) => number;
	/** Where errors go, when not the last output (Touchpoint: Not Sent, before Dry Run). */
	errorOutput?: number;
	/**
	 * Returns the outputs, or writes into the node's own (`outputs`) as it goes, so what it placed
	 * before an error stays placed (Touchpoint: a message the provider took stays on Sent).
	 */
	run: (
		fn: IExecuteFunctions,
		items: INodeExecutionData[],
		outputs: INodeExecutionData[][],
	) => Promise<INodeExecutionData[][]>;
	/** As an AI Agent's tool. */
	tool?: {
		/** Never given to an agent: every item answers this (and nothing is changed). */
		refused?: string;
		/** Answers only about the person of the conversation, named by this parameter (tool-scope.ts). */
		conversationContact?: string;
		/** Items the agent may not have done, answered before the operation runs (on the first output). */
		screen?: (
			fn: IExecuteFunctions,
			items: INodeExecutionData[],
		) => { work: INodeExecutionData[]; refused: INodeExecutionData[] };
		/** How an agent reads an item of each output. */
		summary?: (output: number, json: IDataObject) => IDataObject;
	};
}

export type Operations = Record<string, Operation>;

export async function runOperation(
	fn: IExecuteFunctions,
	operations: Operations,
	operation: string,
	options: { nothingWhenEmpty?: boolean } = {},
): Promise<INodeExecutionData[][]> {
	const op = Object.hasOwn(operations, operation) ? operations[operation] : undefined;
	if (!op) throw new NodeOperationError(fn.getNode(), `The operation "${operation}" is not known`);
	const items = fn.getInputData();
	const tool = isToolCall(fn) ? op.tool : undefined;
	if (tool?.refused) return [refusedItems(items, `${tool.refused} Nothing was changed.`)];
	if (op.tool?.conversationContact) {
		const outside = await conversationRefusal(
			fn,
			async () => await getStore(fn),
			op.tool.conversationContact,
		);
		if (outside) return outside;
	}
	const { work, refused } = tool?.screen ? tool.screen(fn, items) : { work: items, refused: [] };
	const names = op.outputs(fn);
	const outputs: INodeExecutionData[][] = Array.from(
		{ length: op.count ? op.count(fn) : names.length },
		() => [],
	);
	const errorOutput = op.errorOutput ?? outputs.length - 1;
	const result = await failClosed(fn, outputs, errorOutput, async () => {
		const nothing = !work.length && (refused.length > 0 || options.nothingWhenEmpty === true);
		adopt(outputs, nothing ? outputs : await op.run(fn, work, outputs));
	});
	if (refused.length) result[0] = [...refused, ...result[0]];
	return toolAware(fn, result, names, op.tool?.summary);
}

function refusedItems(items: INodeExecutionData[], message: string): INodeExecutionData[] {
	return items.map((item, i) => ({
		json: { ...item.json, outcome: 'Refused', status: 'refused', message },
		pairedItem: { item: i },
	}));
}
