/**
 * Reading parameters without paying for expressions that are not there.
 * n8n 2.x evaluates every `={{ }}` in an isolated VM (~1 ms/item, measured in n8n 2.40.7),
 * and even a plain value read through getNodeParameter per item costs far more than our own
 * per-item work. So: read a parameter once when its raw value holds no expression, and per item
 * only when the marketer wrote one.
 */
import type { IExecuteFunctions } from 'n8n-workflow';

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
