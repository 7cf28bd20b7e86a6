import type { IDisplayOptions, INodeProperties } from 'n8n-workflow';

function mergeDeep<T extends object>(target: T, source: object): T {
	const out: Record<string, unknown> = { ...(target as Record<string, unknown>) };
	for (const [key, value] of Object.entries(source)) {
		const existing = out[key];
		if (
			value && typeof value === 'object' && !Array.isArray(value) &&
			existing && typeof existing === 'object' && !Array.isArray(existing)
		) {
			out[key] = mergeDeep(existing as object, value as object);
		} else {
			out[key] = value;
		}
	}
	return out as T;
}

/**
 * Wraps an operation's bare properties with the display options that select it, keeping each
 * property's own `show`/`hide` conditions (a deep merge, as nodes-base's helper does).
 *   updateDisplayOptions({ show: { operation: ['check'] } }, properties)
 */
export function updateDisplayOptions(
	displayOptions: IDisplayOptions,
	properties: INodeProperties[],
): INodeProperties[] {
	return properties.map((property) => ({
		...property,
		displayOptions: mergeDeep(property.displayOptions ?? {}, displayOptions),
	}));
}
