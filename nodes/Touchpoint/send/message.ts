/**
 * Building one item's message for one channel from the parameters: the message, and the tracked
 * links it carries (for the run to keep before the message goes; building writes nothing).
 */
import { NodeOperationError, type IDataObject, type INode } from 'n8n-workflow';

import { WHATSAPP_MEDIA } from '../../shared/channels/limits';
import { parseChoices } from '../../shared/channels/choices';
import type { ContactCard, MediaFile, OutboundMessage } from '../../shared/channels/message';
import { templateComponents } from '../../shared/channels/whatsapp-templates';
import { channelAddress, type Channel, type Contact } from '../../shared/contact';
import { EXPIRES_PLACEHOLDER, signInboxToken } from '../../shared/insights/inapp';
import { checkAddress } from '../../shared/policy';
import type { TrackedLink } from '../../shared/store/types';
import { trackerFor, unsubscribeUrlFor, type LinkPlan, type Tracker } from './links';
import { listOf, type MessageParams } from './parameters';

export type Attachment = { filename: string; contentType: string; content: Buffer };

/** Files read from the items' binary data before anything is built. */
export interface ItemFiles {
	attachments: Map<number, Attachment[]>;
	media: Map<number, MediaFile>;
}

export interface MessageContext {
	node: INode;
	p: MessageParams;
	options: IDataObject;
	purpose: string;
	links: LinkPlan;
	files: ItemFiles;
}

export const isMediaType = (t: string) => Object.hasOwn(WHATSAPP_MEDIA, t);

export function messageFor(
	ctx: MessageContext,
	i: number,
	contact: Contact,
	channel: Channel,
): { message: OutboundMessage; links: TrackedLink[] } {
	const { p, options, purpose } = ctx;
	const to =
		channel === 'whatsapp' || channel === 'sms' || channel === 'email'
			? (checkAddress(contact, channel).address ?? channelAddress(contact, channel) ?? '')
			: (channelAddress(contact, channel) ?? '');
	const data = pushDataOf(ctx, i, channel);
	const templateParams = p.templateParameters(i);
	const links = trackerFor(ctx.links, String(p.campaign(i) ?? ''), contact, channel);
	const text = links && p.text(i) ? links.text(p.text(i)) : p.text(i);
	const html = links && p.html(i) ? links.html(p.html(i)) : p.html(i);
	const inApp = inAppOf(ctx, i, contact, channel, text, links);
	const message: OutboundMessage = {
		channel,
		to,
		purpose,
		text,
		...(inApp ? { inApp } : {}),
		...whatsappParts(ctx, i),
		templateBodyParameters: templateParams ? templateParams.split('|').map((s) => s.trim()) : [],
		mediaUrls: listOf(p.smsMediaUrls(i)),
		statusCallback: String(options.statusCallbackUrl ?? '').trim() || undefined,
		cc: listOf(p.cc(i)),
		bcc: listOf(p.bcc(i)),
		attachments: channel === 'email' ? ctx.files.attachments.get(i) : undefined,
		messagingType: p.messagingType(i) as OutboundMessage['messagingType'],
		quickReplies: p.quickReplies(i)
			? p
					.quickReplies(i)
					.split(',')
					.map((s) => s.trim())
					.filter(Boolean)
			: [],
		maxSegments: Number(options.maxSegments ?? 3),
		title: p.pushTitle(i),
		imageUrl: p.pushImageUrl(i) || undefined,
		data,
		topic: p.pushTopic(i) || undefined,
		subject: p.subject(i),
		html: html || undefined,
		unsubscribeUrl: unsubscribeUrlFor(ctx.links, p.unsubscribeUrl(i), contact, channel, purpose),
		unsubscribeMailto: p.unsubscribeMailto(i) || undefined,
		postalAddress: p.postalAddress(i) || undefined,
	};
	return { message, links: links?.links ?? [] };
}

function pushDataOf(
	ctx: MessageContext,
	i: number,
	channel: Channel,
): Record<string, string> | undefined {
	const rawData = ctx.p.pushData(i);
	if (channel !== 'push' || !rawData) return undefined;
	let parsed: unknown;
	try {
		parsed = typeof rawData === 'string' ? JSON.parse(rawData || '{}') : rawData;
	} catch (error) {
		throw new NodeOperationError(
			ctx.node,
			`Push Data is not valid JSON: ${(error as Error).message}`,
			{ itemIndex: i },
		);
	}
	return Object.keys(parsed as object).length ? (parsed as Record<string, string>) : undefined;
}

/** In-app: the id is set from the send's key once it is known; the inbox token names the person. */
function inAppOf(
	ctx: MessageContext,
	i: number,
	contact: Contact,
	channel: Channel,
	text: string,
	links: Tracker | undefined,
): OutboundMessage['inApp'] {
	const { p } = ctx;
	if (channel !== 'push' || p.pushType(i) !== 'inApp') return undefined;
	const ctaUrl = p.inAppCtaUrl(i);
	return {
		id: '',
		inboxToken: signInboxToken(ctx.links.inAppKey!, contact.id),
		expiresHours: Number(p.inAppExpiresHours(i) || 72),
		payload: {
			title: p.pushTitle(i),
			body: text ?? '',
			imageUrl: p.pushImageUrl(i) || undefined,
			ctaLabel: p.inAppCtaLabel(i) || undefined,
			ctaUrl: (ctaUrl && links ? links.text(ctaUrl) : ctaUrl) || undefined,
			expiresAt: EXPIRES_PLACEHOLDER,
		},
	};
}

/** The WhatsApp message type's own fields (template, media, contacts, location, choices). */
function whatsappParts(ctx: MessageContext, i: number): Partial<OutboundMessage> {
	const { p } = ctx;
	const type = p.whatsappType(i);
	return {
		whatsappType: type as OutboundMessage['whatsappType'],
		templateName: p.templateName(i),
		templateLanguage: p.templateLanguage(i),
		...(isMediaType(type)
			? p.mediaSource(i) === 'binary'
				? { mediaUpload: ctx.files.media.get(i) }
				: p.mediaSource(i) === 'id'
					? { mediaId: p.mediaId(i) }
					: { mediaUrl: p.mediaUrl(i) }
			: {}),
		...(type === 'contacts'
			? {
					contacts:
						(((p.contactCards(i) ?? {}) as IDataObject).card as ContactCard[] | undefined) ?? [],
				}
			: {}),
		choices: choicesOf(ctx, i),
		listButton: p.listButton(i),
		templateComponents: componentsOf(ctx.p, i),
		caption: p.caption(i) || undefined,
		...(type === 'location'
			? {
					location: {
						latitude: Number(p.latitude(i)),
						longitude: Number(p.longitude(i)),
						name: p.locationName(i) || undefined,
						address: p.locationAddress(i) || undefined,
					},
				}
			: {}),
	};
}

function choicesOf(ctx: MessageContext, i: number) {
	try {
		return parseChoices(ctx.p.choices(i));
	} catch (error) {
		throw new NodeOperationError(ctx.node, `Choices: ${(error as Error).message}`, {
			itemIndex: i,
		});
	}
}

function componentsOf(p: MessageParams, i: number) {
	const c = (p.templateComponents(i) ?? {}) as IDataObject;
	const header = ((c.header as IDataObject[] | undefined) ?? [])[0];
	const components = templateComponents({
		header: header ? { type: header.type as 'text', value: String(header.value ?? '') } : undefined,
		body: ((c.body as IDataObject[] | undefined) ?? []).map((b) => ({
			type: b.type as 'text',
			value: String(b.value ?? ''),
			name: String(b.name ?? '') || undefined,
			currencyCode: String(b.currencyCode ?? ''),
			amount1000: Number(b.amount1000 ?? 0),
		})),
		buttons: ((c.button as IDataObject[] | undefined) ?? []).map((b) => ({
			index: Number(b.index ?? 0),
			subType: b.subType as 'url',
			value: String(b.value ?? ''),
		})),
	});
	return components.length ? components : undefined;
}
