/**
 * Touchpoint Inbox, List In-App Messages and Mark In-App Messages Read.
 */
import type {
	IDataObject,
	IExecuteFunctions,
	INodeExecutionData,
	INodeProperties,
} from 'n8n-workflow';

import { inboxKey, verifyInboxToken } from '../../shared/insights/inapp';
import { personIdsOf } from '../../shared/people';
import { compileFieldPath } from '../../shared/field-path';
import type { Store } from '../../shared/store/types';

export const description: INodeProperties[] = [
	{
		displayName: 'Inbox Code Field',
		name: 'inboxCodeField',
		type: 'string',
		requiresDataPath: 'single',
		default: 'headers.x-inbox-code',
		description:
			"Where the app's inbox code is (the inboxToken of its in-app messages; a header keeps it out of URLs and logs)",
		displayOptions: { show: { operation: ['inAppList', 'inAppRead'] } },
	},
	{
		displayName: 'Message IDs Field',
		name: 'inAppIdsField',
		type: 'string',
		requiresDataPath: 'single',
		default: 'body.ids',
		description: 'A list of message IDs to mark read',
		displayOptions: { show: { operation: ['inAppRead'] } },
	},
	{
		displayName: 'Limit',
		name: 'inAppLimit',
		type: 'number',
		default: 50,
		typeOptions: { minValue: 1 },
		description: 'Max number of results to return',
		displayOptions: { show: { operation: ['inAppList'] } },
	},
];

/**
 * The in-app inbox as the app reads it: the inbox code (signed for one person by the store's key)
 * says whose; List gives their unexpired messages, newest first; Mark Read marks only their own.
 * A missing or altered code gives `inbox.valid: false` and nothing else.
 */
export async function inAppInbox(
	ctx: IExecuteFunctions,
	store: Store,
	items: INodeExecutionData[],
	operation: string,
): Promise<INodeExecutionData[]> {
	const codeOf = compileFieldPath(
		String(ctx.getNodeParameter('inboxCodeField', 0, 'headers.x-inbox-code')),
	);
	const idsOf = compileFieldPath(String(ctx.getNodeParameter('inAppIdsField', 0, 'body.ids')));
	const limit = Number(ctx.getNodeParameter('inAppLimit', 0, 50));
	const key = inboxKey(await store.linkKey());
	const out: INodeExecutionData[] = [];
	for (let i = 0; i < items.length; i++) {
		const signedFor = verifyInboxToken(key, codeOf(items[i].json));
		if (!signedFor) {
			out.push({
				json: {
					inbox: { valid: false, message: 'Not a valid inbox code: nothing listed or changed' },
				},
				pairedItem: { item: i },
			});
			continue;
		}
		// The code names the contact it was made for; a contact merged since is the person it joined.
		const contactId = (await personIdsOf(store, [signedFor])).get(signedFor) ?? signedFor;
		const now = Date.now();
		if (operation === 'inAppRead') {
			const raw = idsOf(items[i].json);
			const ids = (Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.split(',') : [])
				.map((x) => String(x).trim())
				.filter(Boolean)
				.slice(0, 500);
			out.push({
				json: { inbox: { valid: true, marked: await store.markInAppRead(contactId, ids, now) } },
				pairedItem: { item: i },
			});
			continue;
		}
		const messages = await store.listInAppMessages(contactId, now, limit);
		out.push({
			json: {
				inbox: {
					valid: true,
					unread: messages.filter((m) => m.readAt === undefined).length,
					messages: messages.map((m) => ({
						id: m.id,
						title: m.title,
						body: m.body,
						imageUrl: m.imageUrl ?? null,
						ctaLabel: m.ctaLabel ?? null,
						ctaUrl: m.ctaUrl ?? null,
						sentAt: new Date(m.createdAt).toISOString(),
						expiresAt: new Date(m.expiresAt).toISOString(),
						read: m.readAt !== undefined,
					})) as unknown as IDataObject[],
				},
			},
			pairedItem: { item: i },
		});
	}
	return out;
}
