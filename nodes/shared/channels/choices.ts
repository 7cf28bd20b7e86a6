/** Answers a person can pick, as a parameter gives them and as a channel without buttons shows them. */
export interface Choice {
	id: string;
	title: string;
}

/**
 * Choices as a parameter gives them: a list of { id, title } (Conversational Form's `reply.choices`;
 * `label` is taken for `title`) or of titles, that list as JSON text, or comma-separated
 * `id:Title` / `Title`. Throws an Error naming what is wrong.
 */
export function parseChoices(value: unknown): Choice[] {
	if (value === undefined || value === null || value === '') return [];
	let list: unknown = value;
	if (typeof value === 'string') {
		const text = value.trim();
		list = text.startsWith('[')
			? JSON.parse(text)
			: text
					.split(',')
					.map((part) => part.trim())
					.filter(Boolean)
					.map((part) => {
						const colon = part.indexOf(':');
						return colon > 0
							? { id: part.slice(0, colon).trim(), title: part.slice(colon + 1).trim() }
							: part;
					});
	}
	if (!Array.isArray(list))
		throw new Error(`Choices must be a list, not ${JSON.stringify(value).slice(0, 60)}`);
	return list.map((c, k) => {
		if (typeof c === 'string' || typeof c === 'number') return { id: String(c), title: String(c) };
		const o = (c ?? {}) as Record<string, unknown>;
		const title = o.title ?? o.label;
		if (title === undefined || title === null || title === '')
			throw new Error(`Choice ${k + 1} has no title (give { id, title })`);
		return { id: String(o.id ?? title), title: String(title) };
	});
}

/** The choices as numbered lines under the text: what a channel without buttons shows (a number is a valid answer). */
export function numberedChoices(text: string, choices: Choice[]): string {
	return `${text}\n${choices.map((c, i) => `${i + 1}. ${c.title}`).join('\n')}`;
}
