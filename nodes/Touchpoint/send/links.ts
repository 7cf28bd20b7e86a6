/**
 * The links a message carries that come back to n8n: signed one-click unsubscribe links, tracked
 * (click) links and in-app inbox tokens, all under the store's link key (read once per run).
 * Wrapping a message's links returns the links to keep; it writes nothing.
 */
import { NodeOperationError, type IExecuteFunctions } from 'n8n-workflow';

import type { Channel, Contact } from '../../shared/contact';
import {
	clickKey,
	clickLink,
	shortClickCode,
	wrapHtmlLinks,
	wrapTextLinks,
} from '../../shared/insights/clicks';
import { inboxKey } from '../../shared/insights/inapp';
import { signUnsubscribeToken, unsubscribeLink } from '../../shared/policy/unsubscribe';
import type { Store, TrackedLink } from '../../shared/store/types';
import type { MessageParams } from './parameters';

export interface LinkPlan {
	/** Signed one-click unsubscribe: the One-Click Unsubscribe template's webhook. */
	signedBase?: string;
	/** Tracked links: the Click Tracking template's webhook. */
	clickBase?: string;
	linkKey?: string;
	inAppKey?: string;
	clicksKey?: string;
}

const URL_SHAPE = /^https?:\/\/[^\s"'<>]+$/;

function webhookUrl(
	fn: IExecuteFunctions,
	name: string,
	label: string,
	template: string,
	example: string,
): string {
	const url = String(fn.getNodeParameter(name, 0, '')).trim();
	if (!URL_SHAPE.test(url))
		throw new NodeOperationError(fn.getNode(), `${label} "${url.slice(0, 120)}" is not a URL`, {
			description: `Paste the production URL of the ${template} template's webhook, e.g. ${example}.`,
		});
	return url;
}

export async function planLinks(
	fn: IExecuteFunctions,
	store: Store,
	p: MessageParams,
	channelParam: string,
	itemCount: number,
): Promise<LinkPlan> {
	const signedBase =
		fn.getNodeParameter('unsubscribeLink', 0, 'url') === 'signed'
			? webhookUrl(
					fn,
					'unsubscribeWebhookUrl',
					'Unsubscribe Webhook URL',
					'One-Click Unsubscribe',
					'https://n8n.example.com/webhook/unsubscribe',
				)
			: undefined;
	// Tracked links (opt-in): every http(s) link through the click webhook, signed per person and campaign.
	const clickBase =
		fn.getNodeParameter('clickTracking', 0, 'off') === 'signed'
			? webhookUrl(
					fn,
					'clickWebhookUrl',
					'Click Webhook URL',
					'Click Tracking',
					'https://n8n.example.com/webhook/r',
				)
			: undefined;
	let inAppUsed = false;
	for (let i = 0; i < itemCount && channelParam === 'push' && !inAppUsed; i++)
		inAppUsed = p.pushType(i) === 'inApp';
	const linkKey =
		signedBase !== undefined || clickBase !== undefined || inAppUsed
			? await store.linkKey()
			: undefined;
	return {
		signedBase,
		clickBase,
		linkKey,
		inAppKey: inAppUsed ? inboxKey(linkKey!) : undefined,
		clicksKey: clickBase !== undefined ? clickKey(linkKey!) : undefined,
	};
}

export interface Tracker {
	text: (t: string) => string;
	html: (h: string) => string;
	/** The tracked links made so far, to keep in the store before the message goes. */
	links: TrackedLink[];
}

/** Wraps a message's links through the click webhook (undefined when tracking is off). */
export function trackerFor(
	plan: LinkPlan,
	campaign: string,
	contact: Contact,
	channel: Channel,
): Tracker | undefined {
	const { clicksKey, clickBase, signedBase } = plan;
	if (clicksKey === undefined || clickBase === undefined) return undefined;
	const links: TrackedLink[] = [];
	const own = (url: string) =>
		url.startsWith(clickBase) || (signedBase !== undefined && url.startsWith(signedBase));
	const wrap = (url: string) => {
		const target = { contactId: contact.id, channel, campaign, url };
		const code = shortClickCode(clicksKey, target);
		links.push({ code, ...target });
		return clickLink(clickBase, code);
	};
	return {
		text: (t: string) => wrapTextLinks(t, wrap, own),
		html: (h: string) => wrapHtmlLinks(h, wrap, own),
		links,
	};
}

/** The email's List-Unsubscribe link: signed per person when set so, else the parameter's. */
export function unsubscribeUrlFor(
	plan: LinkPlan,
	typed: string,
	contact: Contact,
	channel: Channel,
	purpose: string,
): string | undefined {
	const { linkKey, signedBase } = plan;
	if (linkKey === undefined || signedBase === undefined) return typed || undefined;
	return channel === 'email'
		? unsubscribeLink(
				signedBase,
				signUnsubscribeToken(linkKey, { contactId: contact.id, channel, purpose }),
			)
		: undefined;
}
