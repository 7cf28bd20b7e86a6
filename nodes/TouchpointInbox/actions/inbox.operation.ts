/**
 * Touchpoint Inbox, the durable inbox: Mark Done (where each branch of the flow ends) and Replay
 * (on a schedule: the events no run marked done in time).
 */
import type {
	IDataObject,
	IExecuteFunctions,
	INodeExecutionData,
	INodeProperties,
} from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { parseInboxId, replayedItem } from '../../shared/inbound/inbox';
import { errorJson } from '../../shared/n8n/fail-closed';
import { withDownloadedMedia } from '../../shared/n8n/media-download';
import { parameterReader } from '../../shared/n8n/params';
import type { InboxKey, Store } from '../../shared/store/types';
import { MEDIA_HOSTS_DESCRIPTION } from '../../shared/inbound/fetch-policy';

export const description: INodeProperties[] = [
	{
		displayName: 'Inbox ID',
		name: 'inboxId',
		type: 'string',
		default: '',
		displayOptions: { show: { operation: ['markDone'] } },
		placeholder: "={{ $('Touchpoint Trigger').item.json.inboxId }}",
		description:
			"Leave empty to use the item's inboxId field (Consent Guard and Touchpoint keep it on the item; no expression to evaluate per item). After a node that replaced the items, take it from the trigger's item, as in the placeholder.",
	},
	{
		displayName: 'Replay After (Seconds)',
		name: 'replayAfter',
		type: 'number',
		typeOptions: { minValue: 0 },
		default: 300,
		displayOptions: { show: { operation: ['replay'] } },
		description:
			'How long a run may take before its event counts as unfinished. Longer than your slowest normal run: an event replayed while its first run is still going is handled twice (sends stay once: their idempotency keys come from the original event).',
	},
	{
		displayName: 'Max Attempts',
		name: 'maxAttempts',
		type: 'number',
		typeOptions: { minValue: 1 },
		default: 3,
		displayOptions: { show: { operation: ['replay'] } },
		description:
			'Runs an event gets (the first included) before it goes to Abandoned instead of being replayed again',
	},
	{
		displayName: 'Limit',
		name: 'limit',
		type: 'number',
		typeOptions: { minValue: 1 },
		default: 50,
		displayOptions: { show: { operation: ['replay'] } },
		description: 'Max number of results to return',
	},
	{
		displayName: 'Download Media',
		name: 'downloadMedia',
		type: 'boolean',
		default: false,
		displayOptions: { show: { operation: ['replay'] } },
		description:
			"Whether the files in replayed events are fetched again into the item as binary data (media_0, media_1, ...), as the Touchpoint Trigger's Download Media does. The store keeps the references, not the files. WhatsApp media needs a WhatsApp Cloud API credential and Twilio MMS a Twilio Webhook API credential on this node.",
	},
	{
		displayName: 'Max Media Size (MB)',
		name: 'maxMediaSize',
		type: 'number',
		typeOptions: { minValue: 1 },
		default: 25,
		displayOptions: { show: { operation: ['replay'], downloadMedia: [true] } },
		description: 'A larger file is not fetched: its media entry says why',
	},
	{
		displayName: 'Media Hosts',
		name: 'mediaHosts',
		type: 'string',
		default: '',
		placeholder: 'media-proxy.example.com',
		displayOptions: { show: { operation: ['replay'], downloadMedia: [true] } },
		description: MEDIA_HOSTS_DESCRIPTION,
	},
];

/** Replay: read once per execution, whatever its input (a Schedule Trigger's item). */
export async function executeReplay(
	this: IExecuteFunctions,
	store: Store,
): Promise<INodeExecutionData[][]> {
	const replayAfter = this.getNodeParameter('replayAfter', 0, 300) as number;
	const now = Date.now();
	const { replay, abandoned } = await store.claimInboxReplay(String(this.getWorkflow().id ?? ''), {
		olderThan: now - Math.max(0, replayAfter) * 1000,
		maxAttempts: Math.max(1, this.getNodeParameter('maxAttempts', 0, 3) as number),
		limit: Math.max(1, this.getNodeParameter('limit', 0, 50) as number),
		now,
	});
	const pairedItem = { item: 0 };
	let replayed: INodeExecutionData[] = replay.map((e) => ({
		json: replayedItem(e) as IDataObject,
		pairedItem,
	}));
	if (this.getNodeParameter('downloadMedia', 0, false) === true) {
		const credentialsOf = async (type: string) =>
			this.getNode().credentials?.[type] ? await this.getCredentials(type) : undefined;
		const withFiles = await withDownloadedMedia(
			this.helpers,
			replayed.map((item) => item.json),
			credentialsOf,
			Number(this.getNodeParameter('maxMediaSize', 0, 25)) || 25,
			String(this.getNodeParameter('mediaHosts', 0, '')),
		);
		replayed = withFiles.map((item) => ({ ...item, pairedItem }));
	}
	return [
		replayed,
		abandoned.map((e) => ({
			json: { ...(replayedItem(e) as IDataObject), inboxAbandoned: true },
			pairedItem,
		})),
	];
}

/** Mark Done: each item's event handled; its stored payload is dropped, the de-duplication key stays. */
export async function executeMarkDone(
	this: IExecuteFunctions,
	store: Store,
	items: INodeExecutionData[],
): Promise<INodeExecutionData[][]> {
	const keys: Array<InboxKey | undefined> = [];
	const failed = new Set<number>();
	const out: INodeExecutionData[] = [];
	// Read once unless the marketer wrote an expression (then per item).
	const given = parameterReader<unknown>(this, 'inboxId', '');
	for (let i = 0; i < items.length; i++) {
		const raw = given(i);
		const fromItem = raw === '' || raw === undefined || raw === null ? items[i].json.inboxId : raw;
		const value = fromItem === undefined || fromItem === null ? '' : String(fromItem).trim();
		const key = value ? parseInboxId(value) : undefined;
		if (value && !key) {
			const error = new NodeOperationError(
				this.getNode(),
				`Inbox ID "${value.slice(0, 120)}" is not one the Touchpoint Trigger emitted`,
				{
					itemIndex: i,
					description:
						"Leave Inbox ID empty to use the item's inboxId, or take it from the trigger's item: {{ $('Touchpoint Trigger').item.json.inboxId }}",
				},
			);
			if (!this.continueOnFail()) throw error;
			failed.add(i);
			keys.push(undefined);
			out.push({ json: { ...items[i].json, ...errorJson(error) }, pairedItem: { item: i } });
			continue;
		}
		keys.push(key);
		out.push({ json: { ...items[i].json }, pairedItem: { item: i } });
	}
	// One statement per chunk; an event already done (two items of one event, a replay whose first
	// run finished after all) stays done.
	await store.markInboxDone(keys.filter((k): k is InboxKey => !!k));
	keys.forEach((key, i) => {
		if (failed.has(i)) return;
		// An item without an inbox ID came from a test event in the editor (never kept) or from a
		// workflow without the inbox: nothing to mark, and said so rather than silently passed.
		out[i].json.inboxDone = !!key;
		if (!key)
			out[i].json.inboxNote =
				'No inbox ID on this item: nothing to mark (test events from the editor are not kept)';
	});
	return [out];
}
