/**
 * Touchpoint's parameters as a run reads them: the node-wide settings once, every message field as
 * a per-item reader (a constant when it holds no expression), so no item's value is applied to another.
 */
import {
	NodeOperationError,
	type IDataObject,
	type IExecuteFunctions,
	type INode,
} from 'n8n-workflow';

import { isChannel, type Channel } from '../../shared/contact';
import { REQUEST_DEADLINE_MS } from '../../shared/deadline';
import { compileFieldPath } from '../../shared/field-path';
import { compileContactReader, resolveContactMapping } from '../../shared/n8n/contact-mapping';
import { parameterReader } from '../../shared/n8n/params';

export interface RunSettings {
	channelParam: string;
	purpose: string;
	options: IDataObject;
	dryRun: boolean;
	maxRetries: number;
	deadlineMs: number;
	mapping: ReturnType<typeof resolveContactMapping>;
	readContact: ReturnType<typeof compileContactReader>;
	/** The item's own idempotency key (Options > Idempotency Key Field), when set. */
	keyOf?: (json: IDataObject) => unknown;
	/** The channels an item may go by, in order (one, or Best Available's priority). */
	priorityOf: (i: number) => Channel[];
}

export function readRunSettings(fn: IExecuteFunctions): RunSettings {
	const channelParam = fn.getNodeParameter('channel', 0) as string;
	const purpose = fn.getNodeParameter('purpose', 0) as string;
	const options = fn.getNodeParameter('options', 0, {}) as IDataObject;
	const timeout = Number(options.timeout ?? REQUEST_DEADLINE_MS);
	const mapping = resolveContactMapping(fn.getNodeParameter('contactFields', 0, {}) as IDataObject);
	const keyField = String(options.idempotencyKeyField ?? '').trim();
	return {
		channelParam,
		purpose,
		options,
		dryRun: options.dryRun === true,
		maxRetries: Number(options.maxRetries ?? 5),
		deadlineMs: timeout > 0 ? timeout : REQUEST_DEADLINE_MS,
		mapping,
		readContact: compileContactReader(mapping, { idOptional: true }),
		keyOf: keyField ? compileFieldPath(keyField) : undefined,
		priorityOf: channelPriority(fn, fn.getNode(), channelParam),
	};
}

/** Channel Priority may be an expression (e.g. the contact's preferred channel first), so it is read per item. */
function channelPriority(
	fn: IExecuteFunctions,
	node: INode,
	channelParam: string,
): (i: number) => Channel[] {
	if (channelParam !== 'bestAvailable') return () => [channelParam as Channel];
	const priority = parameterReader(fn, 'channelPriority', 'push, whatsapp, sms, email');
	return (i) => {
		const list = String(priority(i) ?? '')
			.split(',')
			.map((c) => c.trim().toLowerCase())
			.filter(Boolean);
		const bad = list.find((c) => !isChannel(c));
		if (bad !== undefined || list.length === 0) {
			throw new NodeOperationError(node, `Unknown channel "${bad ?? ''}" in Channel Priority`, {
				itemIndex: i,
				description:
					'List channels in order, comma-separated: whatsapp, messenger, instagram, sms, push, email.',
			});
		}
		return [...new Set(list)] as Channel[];
	};
}

export type MessageParams = ReturnType<typeof readMessageParams>;

/** Every field a message is built from, as per-item readers. */
export function readMessageParams(fn: IExecuteFunctions) {
	const read = <T>(name: string, fallback: T) => parameterReader<T>(fn, name, fallback);
	return {
		campaign: read('campaign', ''),
		variant: read('variant', ''),
		text: read('text', ''),
		whatsappType: read('whatsappType', 'text'),
		templateName: read('templateName', ''),
		templateLanguage: read('templateLanguage', 'en'),
		templateParameters: read('templateParameters', ''),
		mediaUrl: read('mediaUrl', ''),
		messagingType: read('messagingType', 'RESPONSE'),
		quickReplies: read('quickReplies', ''),
		pushTitle: read('pushTitle', ''),
		pushImageUrl: read('pushImageUrl', ''),
		pushType: read('pushType', 'notification'),
		inAppCtaLabel: read('inAppCtaLabel', ''),
		inAppCtaUrl: read('inAppCtaUrl', ''),
		inAppExpiresHours: read<number>('inAppExpiresHours', 72),
		pushData: read<unknown>('pushData', '{}'),
		pushTopic: read('pushTopic', ''),
		subject: read('subject', ''),
		choices: read<unknown>('choices', ''),
		listButton: read('listButton', 'Choose'),
		templateComponents: read<IDataObject>('templateComponents', {}),
		caption: read('caption', ''),
		latitude: read<number>('latitude', 0),
		longitude: read<number>('longitude', 0),
		locationName: read('locationName', ''),
		locationAddress: read('locationAddress', ''),
		mediaSource: read('mediaSource', 'url'),
		mediaId: read('mediaId', ''),
		binaryPropertyName: read('binaryPropertyName', 'data'),
		contactCards: read<IDataObject>('contactCards', {}),
		smsMediaUrls: read('smsMediaUrls', ''),
		cc: read('cc', ''),
		bcc: read('bcc', ''),
		attachments: read('attachments', ''),
		html: read('html', ''),
		unsubscribeUrl: read('unsubscribeUrl', ''),
		unsubscribeMailto: read('unsubscribeMailto', ''),
		postalAddress: read('postalAddress', ''),
	};
}

/** A comma-separated list parameter's entries. */
export const listOf = (v: string) =>
	String(v ?? '')
		.split(',')
		.map((x) => x.trim())
		.filter(Boolean);
