/**
 * An output item's JSON with what the node decided as its first fields and the input's after it:
 * n8n's Table view takes its columns in key order, so a marketer reads the decision (blocked and
 * why, sent or previewed) before the fields the item came with. A field of the same name in the
 * input is replaced, never kept beside it.
 */
import type { IDataObject } from 'n8n-workflow';

export function resultFirst(result: IDataObject, input: IDataObject): IDataObject {
	const out: IDataObject = { ...result };
	for (const [key, value] of Object.entries(input)) if (!(key in result)) out[key] = value;
	return out;
}
