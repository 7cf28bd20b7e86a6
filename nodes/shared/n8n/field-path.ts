/**
 * Field paths as n8n's data-transformation nodes address item data: 'contact.email',
 * 'orders[0].total', 'a.b.c'. Compiled once per execution, applied per item without any
 * expression evaluation (DESIGN.md performance facts).
 */
export type FieldGetter = (json: unknown) => unknown;

const cache = new Map<string, FieldGetter>();

export function compileFieldPath(path: string): FieldGetter {
	const trimmed = path.trim();
	const hit = cache.get(trimmed);
	if (hit) return hit;
	const segments: Array<string | number> = [];
	for (const part of trimmed.split('.')) {
		const re = /([^[\]]+)|\[(\d+)\]/g;
		let m: RegExpExecArray | null;
		while ((m = re.exec(part)) !== null) {
			if (m[1] !== undefined) segments.push(m[1]);
			else segments.push(Number(m[2]));
		}
	}
	let getter: FieldGetter;
	if (segments.length === 1) {
		const key = segments[0];
		getter = (json) => (json === null || json === undefined ? undefined : (json as Record<string | number, unknown>)[key]);
	} else {
		getter = (json) => {
			let value: unknown = json;
			for (const key of segments) {
				if (value === null || value === undefined) return undefined;
				value = (value as Record<string | number, unknown>)[key];
			}
			return value;
		};
	}
	cache.set(trimmed, getter);
	return getter;
}

export function getField(json: unknown, path: string): unknown {
	return compileFieldPath(path)(json);
}
