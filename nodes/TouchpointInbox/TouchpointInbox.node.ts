import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeType, INodeTypeDescription } from 'n8n-workflow';
import { NodeConnectionTypes, NodeOperationError } from 'n8n-workflow';

import { normalizePhone } from '../shared/address';
import type { ConversationEvent } from '../shared/contact';
import { INBOX_NODE, parseInboxId, replayedItem } from '../shared/inbound/inbox';
import { keywordMatcher } from '../shared/inbound/keywords';
import { recordMessages } from '../shared/inbound/record';
import { optionSubtitle } from '../shared/n8n/display-options';
import { errorJson } from '../shared/n8n/fail-closed';
import { parameterReader } from '../shared/n8n/params';
import { convergentStoreApiTest, getStore } from '../shared/n8n/store';
import { toolAware } from '../shared/n8n/tool-mode';
import { clickKey, verifyClick } from '../shared/insights/clicks';
import { inboxKey, verifyInboxToken } from '../shared/insights/inapp';
import { compileFieldPath } from '../shared/n8n/field-path';
import { personIdsOf } from '../shared/people';
import { toTime } from '../shared/segment/rules';
import type { InboxKey, Store } from '../shared/store/types';

const OPERATIONS = [
	{ name: 'List In-App Messages', value: 'inAppList', description: 'The unexpired in-app messages of the person whose inbox code the app sent', action: 'List the in-app messages of a person' },
	{ name: 'Mark Done', value: 'markDone', description: 'Mark the inbound event of each item as handled', action: 'Mark inbound events as handled' },
	{ name: 'Mark In-App Messages Read', value: 'inAppRead', description: 'Mark messages of the person whose inbox code the app sent as read', action: 'Mark in app messages read' },
	{ name: 'Record Link Click', value: 'recordClick', description: 'Verify a tracked link\'s token (Touchpoint Click Tracking), record the click on the send it came with, and give the URL to redirect to', action: 'Record a click on a tracked link' },
	{ name: 'Record Inbound Message', value: 'recordInbound', description: 'Record messages that reached n8n another way (or sample messages) as the Touchpoint Trigger does: the sender\'s contact, the service window, STOP', action: 'Record inbound messages' },
	{ name: 'Replay', value: 'replay', description: 'Emit again the events no run marked done in time, with their original IDs', action: 'Replay events no run finished' },
];

const CONVERSATION_CHANNELS = ['whatsapp', 'messenger', 'instagram', 'sms'];

export class TouchpointInbox implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Touchpoint Inbox',
		name: INBOX_NODE,
		icon: { light: 'file:touchpointInbox.svg', dark: 'file:touchpointInbox.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: optionSubtitle(OPERATIONS),
		description: 'Marks inbound events handled, and replays the ones a run never finished (a worker that died)',
		defaults: { name: 'Touchpoint Inbox' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: `={{ $parameter.operation === "replay" ? [{ "type": "main", "displayName": "Replayed" }, { "type": "main", "displayName": "Abandoned" }] : [{ "type": "main" }] }}`,
		credentials: [{ name: 'convergentStoreApi', required: false, testedBy: 'convergentStoreApiTest' }],
		properties: [
			{
				displayName:
					'With this node in the workflow, the Touchpoint Trigger keeps every event in the store until it is marked done. Put Mark Done where each branch ends, and run Replay on a schedule (Schedule Trigger, every minute) into the node after the trigger.',
				name: 'inboxNotice',
				type: 'notice',
				default: '',
			},
			{
				displayName: 'Operation',
				name: 'operation',
				type: 'options',
				noDataExpression: true,
				options: OPERATIONS,
				default: 'markDone',
			},
			{
				displayName: 'Inbox ID',
				name: 'inboxId',
				type: 'string',
				default: '',
				displayOptions: { show: { operation: ['markDone'] } },
				placeholder: "={{ $('Touchpoint Trigger').item.json.inboxId }}",
				description: "Leave empty to use the item's inboxId field (Consent Guard and Touchpoint keep it on the item; no expression to evaluate per item). After a node that replaced the items, take it from the trigger's item, as in the placeholder.",
			},
			{
				displayName:
					'Each item is a message in the Touchpoint Trigger\'s shape: { channel, contact: { phone, whatsappId, psid, instagramId, name }, text, timestamp, providerMessageId }. A STOP withdraws consent; START never restores it here (only the trigger, which verifies the provider\'s signature, may).',
				name: 'recordInboundNotice',
				type: 'notice',
				default: '',
				displayOptions: { show: { operation: ['recordInbound'] } },
			},
			{ displayName: 'Inbox Code Field', name: 'inboxCodeField', type: 'string', requiresDataPath: 'single', default: 'headers.x-inbox-code', description: 'Where the app\'s inbox code is (the inboxToken of its in-app messages; a header keeps it out of URLs and logs)', displayOptions: { show: { operation: ['inAppList', 'inAppRead'] } } },
			{ displayName: 'Message IDs Field', name: 'inAppIdsField', type: 'string', requiresDataPath: 'single', default: 'body.ids', description: 'A list of message IDs to mark read', displayOptions: { show: { operation: ['inAppRead'] } } },
			{ displayName: 'Limit', name: 'inAppLimit', type: 'number', default: 50, typeOptions: { minValue: 1 }, description: 'Max number of results to return', displayOptions: { show: { operation: ['inAppList'] } } },
			{ displayName: 'Link Code Field', name: 'clickCodeField', type: 'string', requiresDataPath: 'single', default: 'query.c', description: 'Where the tracked link\'s signed code is (a Webhook node puts the query string in "query")', displayOptions: { show: { operation: ['recordClick'] } } },
			{
				displayName: 'Consent Purposes for Keywords',
				name: 'keywordPurposes',
				type: 'string',
				default: 'marketing, service',
				displayOptions: { show: { operation: ['recordInbound'] } },
				description: 'Purposes that STOP withdraws on the channel, comma-separated',
			},
			{
				displayName: 'Replay After (Seconds)',
				name: 'replayAfter',
				type: 'number',
				typeOptions: { minValue: 0 },
				default: 300,
				displayOptions: { show: { operation: ['replay'] } },
				description: 'How long a run may take before its event counts as unfinished. Longer than your slowest normal run: an event replayed while its first run is still going is handled twice (sends stay once: their idempotency keys come from the original event).',
			},
			{
				displayName: 'Max Attempts',
				name: 'maxAttempts',
				type: 'number',
				typeOptions: { minValue: 1 },
				default: 3,
				displayOptions: { show: { operation: ['replay'] } },
				description: 'Runs an event gets (the first included) before it goes to Abandoned instead of being replayed again',
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
		],
	};

	methods = { credentialTest: { convergentStoreApiTest } };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const operation = this.getNodeParameter('operation', 0) as string;
		const store = await getStore(this);
		if (operation === 'replay') {
			// Read once: Replay runs once per execution, whatever its input (a Schedule Trigger's item).
			const replayAfter = this.getNodeParameter('replayAfter', 0, 300) as number;
			const now = Date.now();
			const { replay, abandoned } = await store.claimInboxReplay(String(this.getWorkflow().id ?? ''), {
				olderThan: now - Math.max(0, replayAfter) * 1000,
				maxAttempts: Math.max(1, this.getNodeParameter('maxAttempts', 0, 3) as number),
				limit: Math.max(1, this.getNodeParameter('limit', 0, 50) as number),
				now,
			});
			const pairedItem = { item: 0 };
			return toolAware(this, [
				replay.map((e) => ({ json: replayedItem(e) as IDataObject, pairedItem })),
				abandoned.map((e) => ({ json: { ...(replayedItem(e) as IDataObject), inboxAbandoned: true }, pairedItem })),
			], ['Replayed', 'Abandoned']);
		}

		const items = this.getInputData();
		if (operation === 'recordInbound') return [await recordInbound(this, store, items)];
		if (operation === 'recordClick') return [await recordClick(this, store, items)];
		if (operation === 'inAppList' || operation === 'inAppRead') return [await inAppInbox(this, store, items, operation)];
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
				const error = new NodeOperationError(this.getNode(), `Inbox ID "${value.slice(0, 120)}" is not one the Touchpoint Trigger emitted`, {
					itemIndex: i,
					description: 'Leave Inbox ID empty to use the item\'s inboxId, or take it from the trigger\'s item: {{ $(\'Touchpoint Trigger\').item.json.inboxId }}',
				});
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
			if (!key) out[i].json.inboxNote = 'No inbox ID on this item: nothing to mark (test events from the editor are not kept)';
		});
		return [out];
	}
}

/** Record Inbound Message: validate each item, then record them all in one transaction. */
async function recordInbound(ctx: IExecuteFunctions, store: Store, items: INodeExecutionData[]): Promise<INodeExecutionData[]> {
	const node = ctx.getNode();
	const match = keywordMatcher();
	const now = Date.now();
	const out: INodeExecutionData[] = new Array(items.length);
	const messages: Array<{ i: number; e: ConversationEvent; startIgnored: boolean }> = [];
	for (let i = 0; i < items.length; i++) {
		const json = items[i].json;
		const contact = (json.contact ?? {}) as ConversationEvent['contact'];
		const channel = String(json.channel ?? '');
		const at = json.timestamp === undefined || json.timestamp === '' ? now : toTime(json.timestamp);
		const problem = inboundProblem(json, contact, channel, at, now);
		if (problem) {
			const error = new NodeOperationError(node, problem[0], { itemIndex: i, description: problem[1] });
			if (!ctx.continueOnFail()) throw error;
			out[i] = { json: { ...json, ...errorJson(error) }, pairedItem: { item: i } };
			continue;
		}
		const keyword = match(typeof json.text === 'string' ? json.text : undefined);
		const e = {
			...(json as unknown as ConversationEvent),
			channel: channel as ConversationEvent['channel'],
			kind: (json.kind as ConversationEvent['kind']) || 'text',
			contact,
			providerMessageId: String(json.providerMessageId ?? `recorded:${now}:${i}`),
			timestamp: new Date(at!).toISOString(),
		} as ConversationEvent;
		delete e.keyword;
		delete e.keywordConditional;
		// Only a STOP or HELP counts here: a START would undo an opt-out on an item nobody verified.
		if (keyword && keyword.keyword !== 'start') e.keyword = keyword.keyword;
		messages.push({ i, e, startIgnored: keyword?.keyword === 'start' });
	}
	const purposes = String(ctx.getNodeParameter('keywordPurposes', 0, 'marketing, service'));
	const { personOf, personId } = await store.atomically(async (tx) => await recordMessages(tx, messages.map((m) => m.e), purposes));
	for (const { i, e, startIgnored } of messages) {
		const person = personOf.get(e);
		out[i] = {
			json: {
				...items[i].json,
				...(e as unknown as IDataObject),
				contactId: personId(e),
				...(startIgnored ? { keywordIgnored: 'start' } : {}),
				...(person?.error ? { identityConflict: { message: person.error.message, description: person.error.hint } } : {}),
			},
			pairedItem: { item: i },
		};
	}
	return out;
}

/** Why an item is not a message this operation can record, as [message, what to do]; undefined when it is. */
function inboundProblem(json: IDataObject, contact: ConversationEvent['contact'], channel: string, at: number | undefined, now: number): [string, string] | undefined {
	if (json.kind === 'status') return ['A delivery status is not a message', 'Record only messages; statuses update the send log through the Touchpoint Trigger.'];
	if (!CONVERSATION_CHANNELS.includes(channel)) return [`Unknown channel "${channel}"`, `channel must be one of ${CONVERSATION_CHANNELS.join(', ')}.`];
	if (!(contact.phone || contact.whatsappId || contact.psid || contact.instagramId)) return ['The message has no sender', 'Give contact.phone, contact.whatsappId, contact.psid or contact.instagramId.'];
	if (contact.phone) {
		const phone = normalizePhone(String(contact.phone));
		if (!phone.ok) return [`Invalid phone "${String(contact.phone).slice(0, 40)}" at contact.phone`, phone.message];
	}
	if (at === undefined || at > now + 5 * 60_000) return [`timestamp "${String(json.timestamp).slice(0, 40)}" is not a past date and time`, 'Use an ISO 8601 date-time or epoch; empty means now.'];
	return undefined;
}

/**
 * Record Link Click: a tracked link's token, verified with the store's key. A valid one marks the
 * person's latest send of the campaign on the channel clicked and gives the URL to redirect to; an
 * altered or foreign token gives `click.valid: false` and no URL (never an open redirect).
 */
async function recordClick(ctx: IExecuteFunctions, store: Store, items: INodeExecutionData[]): Promise<INodeExecutionData[]> {
	const tokenOf = compileFieldPath(String(ctx.getNodeParameter('clickCodeField', 0, 'query.c')));
	const key = clickKey(await store.linkKey());
	const out: INodeExecutionData[] = [];
	for (let i = 0; i < items.length; i++) {
		const target = verifyClick(key, tokenOf(items[i].json));
		if (!target) {
			out.push({ json: { ...items[i].json, click: { valid: false, message: 'Not a valid tracked link: nothing recorded' } }, pairedItem: { item: i } });
			continue;
		}
		const person = (await personIdsOf(store, [target.contactId])).get(target.contactId) ?? target.contactId;
		const touch = await store.recordClick(person, target.channel, target.campaign);
		out.push({
			json: { ...items[i].json, contactId: person, click: { valid: true, contactId: person, channel: target.channel, campaign: target.campaign || null, url: target.url, at: new Date().toISOString(), ...(touch ? { idempotencyKey: touch.idempotencyKey, variant: touch.variant ?? null } : {}) } },
			pairedItem: { item: i },
		});
	}
	return out;
}

/**
 * The in-app inbox as the app reads it: the inbox code (signed for one person by the store's key)
 * says whose; List gives their unexpired messages, newest first; Mark Read marks only their own.
 * A missing or altered code gives `inbox.valid: false` and nothing else.
 */
async function inAppInbox(ctx: IExecuteFunctions, store: Store, items: INodeExecutionData[], operation: string): Promise<INodeExecutionData[]> {
	const codeOf = compileFieldPath(String(ctx.getNodeParameter('inboxCodeField', 0, 'headers.x-inbox-code')));
	const idsOf = compileFieldPath(String(ctx.getNodeParameter('inAppIdsField', 0, 'body.ids')));
	const limit = Number(ctx.getNodeParameter('inAppLimit', 0, 50));
	const key = inboxKey(await store.linkKey());
	const out: INodeExecutionData[] = [];
	for (let i = 0; i < items.length; i++) {
		const contactId = verifyInboxToken(key, codeOf(items[i].json));
		if (!contactId) {
			out.push({ json: { inbox: { valid: false, message: 'Not a valid inbox code: nothing listed or changed' } }, pairedItem: { item: i } });
			continue;
		}
		const now = Date.now();
		if (operation === 'inAppRead') {
			const raw = idsOf(items[i].json);
			const ids = (Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.split(',') : []).map((x) => String(x).trim()).filter(Boolean).slice(0, 500);
			out.push({ json: { inbox: { valid: true, marked: await store.markInAppRead(contactId, ids, now) } }, pairedItem: { item: i } });
			continue;
		}
		const messages = await store.listInAppMessages(contactId, now, limit);
		out.push({
			json: { inbox: { valid: true, unread: messages.filter((m) => m.readAt === undefined).length, messages: messages.map((m) => ({ id: m.id, title: m.title, body: m.body, imageUrl: m.imageUrl ?? null, ctaLabel: m.ctaLabel ?? null, ctaUrl: m.ctaUrl ?? null, sentAt: new Date(m.createdAt).toISOString(), expiresAt: new Date(m.expiresAt).toISOString(), read: m.readAt !== undefined })) as unknown as IDataObject[] } },
			pairedItem: { item: i },
		});
	}
	return out;
}
