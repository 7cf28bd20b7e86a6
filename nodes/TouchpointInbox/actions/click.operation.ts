/**
 * Touchpoint Inbox, Record Link Click (Touchpoint Click Tracking).
 */
import type { IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import { clickKey, isShortClickCode, verifyClick } from '../../shared/insights/clicks';
import { compileFieldPath } from '../../shared/field-path';
import { personIdsOf } from '../../shared/people';
import type { Store } from '../../shared/store/types';

export const description: INodeProperties[] = [
	{
		displayName: 'Link Code Field',
		name: 'clickCodeField',
		type: 'string',
		requiresDataPath: 'single',
		default: 'query.c',
		description:
			'Where the tracked link\'s signed code is (a Webhook node puts the query string in "query")',
		displayOptions: { show: { operation: ['recordClick'] } },
	},
];

/**
 * Record Link Click: a tracked link's code, looked up in the store (or, for a long token from an
 * earlier version, verified with the store's key). A valid one marks the
 * person's latest send of the campaign on the channel clicked and gives the URL to redirect to; an
 * altered or foreign token gives `click.valid: false` and no URL (never an open redirect).
 */
export async function recordClick(
	ctx: IExecuteFunctions,
	store: Store,
	items: INodeExecutionData[],
): Promise<INodeExecutionData[]> {
	const tokenOf = compileFieldPath(String(ctx.getNodeParameter('clickCodeField', 0, 'query.c')));
	const key = clickKey(await store.linkKey());
	const tokens = items.map((item) => tokenOf(item.json));
	// Short codes (what Touchpoint writes) are looked up together; the long signed tokens of earlier sends verify on their own.
	const short = await store.findTrackedLinks(tokens.filter(isShortClickCode));
	const out: INodeExecutionData[] = [];
	for (let i = 0; i < items.length; i++) {
		const token = tokens[i];
		const target = isShortClickCode(token) ? short.get(token) : verifyClick(key, token);
		if (!target) {
			out.push({
				json: {
					...items[i].json,
					click: { valid: false, message: 'Not a valid tracked link: nothing recorded' },
				},
				pairedItem: { item: i },
			});
			continue;
		}
		const person =
			(await personIdsOf(store, [target.contactId])).get(target.contactId) ?? target.contactId;
		const touch = await store.recordClick(person, target.channel, target.campaign);
		out.push({
			json: {
				...items[i].json,
				contactId: person,
				click: {
					valid: true,
					contactId: person,
					channel: target.channel,
					campaign: target.campaign || null,
					url: target.url,
					at: new Date().toISOString(),
					...(touch
						? { idempotencyKey: touch.idempotencyKey, variant: touch.variant ?? null }
						: {}),
				},
			},
			pairedItem: { item: i },
		});
	}
	return out;
}
