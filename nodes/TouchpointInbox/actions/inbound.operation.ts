/**
 * Touchpoint Inbox, Record Inbound Message: messages that reached n8n another way, recorded by the trigger's own code.
 */
import type {
	IDataObject,
	IExecuteFunctions,
	INodeExecutionData,
	INodeProperties,
} from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { normalizePhone } from '../../shared/address';
import type { ConversationEvent } from '../../shared/contact';
import { keywordMatcher } from '../../shared/inbound/keywords';
import { recordMessages } from '../../shared/inbound/record';
import { errorJson } from '../../shared/n8n/fail-closed';
import { toTime } from '../../shared/segment/rules';
import type { Store } from '../../shared/store/types';

const CONVERSATION_CHANNELS = ['whatsapp', 'messenger', 'instagram', 'sms'];

export const description: INodeProperties[] = [
	{
		displayName:
			"Each item is a message in the Touchpoint Trigger's shape: { channel, contact: { phone, whatsappId, psid, instagramId, name }, text, timestamp, providerMessageId }. A STOP withdraws consent; START never restores it here (only the trigger, which verifies the provider's signature, may).",
		name: 'recordInboundNotice',
		type: 'notice',
		default: '',
		displayOptions: { show: { operation: ['recordInbound'] } },
	},
	{
		displayName: 'Consent Purposes for Keywords',
		name: 'keywordPurposes',
		type: 'string',
		default: 'marketing, service',
		displayOptions: { show: { operation: ['recordInbound'] } },
		description: 'Purposes that STOP withdraws on the channel, comma-separated',
	},
];

/** Record Inbound Message: validate each item, then record them all in one transaction. */
export async function recordInbound(
	ctx: IExecuteFunctions,
	store: Store,
	items: INodeExecutionData[],
): Promise<INodeExecutionData[]> {
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
			const error = new NodeOperationError(node, problem[0], {
				itemIndex: i,
				description: problem[1],
			});
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
	const { personOf, personId } = await store.atomically(
		async (tx) =>
			await recordMessages(
				tx,
				messages.map((m) => m.e),
				purposes,
			),
	);
	for (const { i, e, startIgnored } of messages) {
		const person = personOf.get(e);
		out[i] = {
			json: {
				...items[i].json,
				...(e as unknown as IDataObject),
				contactId: personId(e),
				...(startIgnored ? { keywordIgnored: 'start' } : {}),
				...(person?.error
					? { identityConflict: { message: person.error.message, description: person.error.hint } }
					: {}),
			},
			pairedItem: { item: i },
		};
	}
	return out;
}

/** Why an item is not a message this operation can record, as [message, what to do]; undefined when it is. */
function inboundProblem(
	json: IDataObject,
	contact: ConversationEvent['contact'],
	channel: string,
	at: number | undefined,
	now: number,
): [string, string] | undefined {
	if (json.kind === 'status')
		return [
			'A delivery status is not a message',
			'Record only messages; statuses update the send log through the Touchpoint Trigger.',
		];
	if (!CONVERSATION_CHANNELS.includes(channel))
		return [
			`Unknown channel "${channel}"`,
			`channel must be one of ${CONVERSATION_CHANNELS.join(', ')}.`,
		];
	if (!(contact.phone || contact.whatsappId || contact.psid || contact.instagramId))
		return [
			'The message has no sender',
			'Give contact.phone, contact.whatsappId, contact.psid or contact.instagramId.',
		];
	if (contact.phone) {
		const phone = normalizePhone(String(contact.phone));
		if (!phone.ok)
			return [
				`Invalid phone "${String(contact.phone).slice(0, 40)}" at contact.phone`,
				phone.message,
			];
	}
	if (at === undefined || at > now + 5 * 60_000)
		return [
			`timestamp "${String(json.timestamp).slice(0, 40)}" is not a past date and time`,
			'Use an ISO 8601 date-time or epoch; empty means now.',
		];
	return undefined;
}
