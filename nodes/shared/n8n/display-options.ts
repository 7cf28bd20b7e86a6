import type {
	DisplayCondition,
	ICredentialsDisplayOptions,
	IDisplayOptions,
	INodeProperties,
} from 'n8n-workflow';

function mergeDeep<T extends object>(target: T, source: object): T {
	const out: Record<string, unknown> = { ...(target as Record<string, unknown>) };
	for (const [key, value] of Object.entries(source)) {
		const existing = out[key];
		if (
			value &&
			typeof value === 'object' &&
			!Array.isArray(value) &&
			existing &&
			typeof existing === 'object' &&
			!Array.isArray(existing)
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

/**
 * A canvas subtitle that shows an option's display name ("Route by Rules"), not its internal
 * value (`routeByRules`): `options` are the parameter's own, so the two never drift apart.
 * `prefix` / `suffix` are expression fragments, e.g. suffix ` + ": " + $parameter["journeyName"]`.
 */
export function optionSubtitle(
	options: Array<{ name: string; value: unknown }>,
	parameter = 'operation',
	suffix = '',
): string {
	const names = JSON.stringify(Object.fromEntries(options.map((o) => [String(o.value), o.name])));
	return `={{ (${names}[$parameter["${parameter}"]] ?? $parameter["${parameter}"])${suffix} }}`;
}

/** optionSubtitle for a node with resources: each resource's operations, with an optional prefix ("Contact: "). */
export function resourceOperationSubtitle(
	byResource: Record<string, { prefix?: string; options: Array<{ name: string; value: unknown }> }>,
): string {
	const names = JSON.stringify(
		Object.fromEntries(
			Object.entries(byResource).map(([resource, { prefix = '', options }]) => [
				resource,
				Object.fromEntries(options.map((o) => [String(o.value), `${prefix}${o.name}`])),
			]),
		),
	);
	return `={{ (${names}[$parameter["resource"]] ?? {})[$parameter["operation"]] ?? $parameter["operation"] }}`;
}

/**
 * A credential shown only for some values of a parameter, written as `hide` for the others. The
 * editor treats a parameter that credentials `show` on, with every value covered, as the node's
 * authentication: it takes it out of the panel into the credential dialog (Touchpoint's Channel
 * was a dropdown at the top of "WhatsApp Cloud account"). Under `hide` it stays an ordinary field.
 */
export function credentialFor(
	parameter: string,
	values: string[],
	all: string[],
	more: Record<string, Array<string | boolean | DisplayCondition>> = {},
): ICredentialsDisplayOptions {
	const hide = { [parameter]: all.filter((v) => !values.includes(v)), ...more };
	// The editor checks a credential's conditions with the same displayParameter as a parameter's
	// (n8n-workflow's node-helpers), conditions included; its credential type names only values.
	return { hide } as ICredentialsDisplayOptions;
}

/**
 * Hides a credential while a comma-separated list (Touchpoint's Channel Priority) names none of
 * the words, so Best Available asks only for the channels it will try. Never while the list is an
 * expression: what it gives is known only when the node runs.
 */
export function unlessListed(words: string[]): DisplayCondition {
	const anyCase = (w: string) =>
		[...w].map((c) => (/[a-z]/i.test(c) ? `[${c.toLowerCase()}${c.toUpperCase()}]` : c)).join('');
	return {
		_cnd: { regex: `^(?!=)(?![\\s\\S]*\\b(?:${words.map(anyCase).join('|')})\\b)` },
	};
}
