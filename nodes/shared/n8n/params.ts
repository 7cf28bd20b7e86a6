/**
 * Reading parameters without paying for expressions that are not there.
 * n8n 2.x evaluates every `={{ }}` in an isolated VM (~1 ms/item, measured in n8n 2.40.7),
 * and even a plain value read through getNodeParameter per item costs far more than our own
 * per-item work. So: read a parameter once when its raw value holds no expression, and per item
 * only when the marketer wrote one.
 */
import { NodeOperationError, type IExecuteFunctions } from 'n8n-workflow';

function getRaw(parameters: unknown, name: string): unknown {
	let value: unknown = parameters;
	for (const key of name.split('.')) {
		if (value === null || typeof value !== 'object') return undefined;
		value = (value as Record<string, unknown>)[key];
	}
	return value;
}

function containsExpression(value: unknown): boolean {
	if (typeof value === 'string') return value.startsWith('=');
	if (Array.isArray(value)) return value.some(containsExpression);
	if (value && typeof value === 'object') return Object.values(value).some(containsExpression);
	return false;
}

/** Whether the parameter (or anything inside it) is an expression in the saved workflow. */
export function isExpressionParameter(ctx: IExecuteFunctions, name: string): boolean {
	return containsExpression(getRaw(ctx.getNode().parameters, name));
}

/**
 * Returns a per-item reader for a parameter: a constant when the parameter holds no expression
 * (read once), else a function that evaluates it for the given item.
 */
export function parameterReader<T>(
	ctx: IExecuteFunctions,
	name: string,
	fallback: T,
): (itemIndex: number) => T {
	if (!isExpressionParameter(ctx, name)) {
		const value = ctx.getNodeParameter(name, 0, fallback) as T;
		return () => value;
	}
	return (itemIndex) => ctx.getNodeParameter(name, itemIndex, fallback) as T;
}

/**
 * A setting the node applies once for the whole run (a report, a test's decision, a sample written
 * once): read once when it holds no expression; with one, evaluated for every item, and the items
 * must agree. Never item 0's value silently applied to all: a difference is an error naming the
 * field, the two items and their values.
 */
export function runParameter<T>(
	ctx: IExecuteFunctions,
	name: string,
	fallback: T,
	label: string,
): T {
	const at = parameterReader(ctx, name, fallback);
	const first = at(0);
	if (!isExpressionParameter(ctx, name)) return first;
	const count = ctx.getInputData().length;
	for (let i = 1; i < count; i++) {
		const value = at(i);
		if (JSON.stringify(value) !== JSON.stringify(first))
			throw new NodeOperationError(ctx.getNode(), `${label} differs between items`, {
				itemIndex: i,
				description: `Item 0 gives ${JSON.stringify(first).slice(0, 80)}, item ${i} ${JSON.stringify(value).slice(0, 80)}. ${label} applies to the whole run: give it one value, or split the items into separate runs.`,
			});
	}
	return first;
}
