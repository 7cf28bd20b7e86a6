/**
 * Fail closed under every "On Error" setting.
 *
 * When a node throws and its On Error setting is Continue (regular or error output), n8n copies
 * the node's input items to output 0, which for Consent Guard is Allowed and for Touchpoint is
 * Sent. So a node whose output 0 means "go ahead" must never let an error escape when
 * continue-on-fail is on: `failClosed` runs the node's work, and on any error
 * - without continue-on-fail, rethrows it (the node fails, n8n's Error Workflow runs);
 * - with it, puts every input item that has no output yet on `errorOutput` (Blocked, Not Sent,
 *   No Segment...) with the error, and keeps the items already placed where they are.
 */
import type {
	IDataObject,
	IExecuteFunctions,
	INode,
	INodeExecutionData,
	NodeApiError,
} from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

export function errorJson(error: unknown): IDataObject {
	const e = error as { message?: string; description?: string | null; httpCode?: string | null };
	return {
		error: e?.message ?? String(error),
		...(e?.description ? { description: e.description } : {}),
		...(e?.httpCode ? { httpCode: e.httpCode } : {}),
	};
}

/**
 * n8n shows and routes its own error types: anything else is wrapped, never thrown raw, keeping its
 * message also when it is not an Error of this realm (n8n-workflow reads the message of an
 * `instanceof Error` only; node:sqlite's errors under a test runner's vm context are not), and its
 * `hint` (what to do: a contact mapping's, a person's) as the description n8n shows under it.
 */
export function asNodeError(
	node: INode,
	error: unknown,
	itemIndex?: number,
): NodeOperationError | NodeApiError {
	if (error instanceof NodeOperationError || (error as { name?: string })?.name === 'NodeApiError')
		return error as NodeOperationError | NodeApiError;
	const hint = (error as { hint?: unknown })?.hint;
	const options = {
		...(itemIndex !== undefined ? { itemIndex } : {}),
		...(typeof hint === 'string' && hint ? { description: hint } : {}),
	};
	if (error instanceof Error) return new NodeOperationError(node, error, options);
	const message = (error as { message?: unknown })?.message;
	return new NodeOperationError(
		node,
		typeof message === 'string' && message ? message : String(error),
		options,
	);
}

/** The items on `outputs`, by input index (pairedItem). */
function placedItems(outputs: INodeExecutionData[][]): Set<number> {
	const placed = new Set<number>();
	for (const out of outputs) {
		for (const item of out) {
			const p = item.pairedItem;
			for (const pi of Array.isArray(p) ? p : p === undefined ? [] : [p])
				placed.add(typeof pi === 'number' ? pi : pi.item);
		}
	}
	return placed;
}

/** Takes a finished result's outputs as the node's (no copying: 100,000 items do not fit a spread). */
export function adopt(outputs: INodeExecutionData[][], result: INodeExecutionData[][]): void {
	result.forEach((out, k) => {
		outputs[k] = out;
	});
}

export async function failClosed(
	ctx: IExecuteFunctions,
	outputs: INodeExecutionData[][],
	errorOutput: number,
	run: () => Promise<void>,
): Promise<INodeExecutionData[][]> {
	try {
		await run();
		return outputs;
	} catch (error) {
		const nodeError = asNodeError(ctx.getNode(), error);
		if (!ctx.continueOnFail()) throw nodeError;
		const placed = placedItems(outputs);
		const items = ctx.getInputData();
		for (let i = 0; i < items.length; i++) {
			if (placed.has(i)) continue;
			outputs[errorOutput].push({
				json: { ...items[i].json, ...errorJson(nodeError) },
				pairedItem: { item: i },
			});
		}
		return outputs;
	}
}
