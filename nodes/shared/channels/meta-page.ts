/**
 * Messenger and Instagram (Meta's Send API for a Page): a message to /me/messages with the
 * messaging type, quick replies (a form's choices) and the HUMAN_AGENT tag outside the window.
 */
import { classifyGraphError } from './graph';
import { checkText, TEXT_LIMITS } from './limits';
import {
	fail,
	type BuildContext,
	type BuildResult,
	type BuiltRequest,
	type ChannelModule,
	type OutboundMessage,
} from './message';
import { buttons, httpRequest, lines, list, obj, str } from './readable';

export const metaPage: ChannelModule = {
	build: buildPageMessage,
	classify: classifyGraphError,
	read: readPageMessage,
};

function readPageMessage(built: BuiltRequest): string {
	const body = obj(httpRequest(built)?.json);
	const message = obj(body.message);
	const replies = list(message.quick_replies).map((r) => str(obj(r).title));
	return lines(`To ${str(obj(body.recipient).id)}`, str(message.text), buttons(replies));
}

function buildPageMessage(m: OutboundMessage, ctx: BuildContext): BuildResult {
	const v = checkText(m.channel as 'messenger' | 'instagram', m.text ?? '');
	// Choices become quick replies whose payload is the choice's id (what a form matches on).
	const replies = m.choices?.length ? m.choices.map((c) => c.title) : (m.quickReplies ?? []);
	const payloads = m.choices?.length
		? m.choices.map((c) => c.id)
		: replies.map((title) => title.toUpperCase().replace(/[^A-Z0-9]+/g, '_'));
	if (replies.length > TEXT_LIMITS.quickReplies)
		v.push({
			code: 'TOO_MANY_QUICK_REPLIES',
			field: 'quickReplies',
			message: `${replies.length} quick replies; at most ${TEXT_LIMITS.quickReplies}`,
		});
	for (const r of replies)
		if ([...r].length > TEXT_LIMITS.quickReplyTitle)
			v.push({
				code: 'QUICK_REPLY_TOO_LONG',
				field: 'quickReplies',
				message: `Quick reply "${r}" is longer than ${TEXT_LIMITS.quickReplyTitle} characters`,
			});
	const type = m.messagingType ?? 'RESPONSE';
	if (type === 'MESSAGE_TAG' && m.purpose === 'marketing')
		v.push({
			code: 'TAG_NOT_FOR_PROMOTION',
			field: 'messagingType',
			message:
				'Message tags never carry promotions: a marketing message outside the 24 h window cannot be sent',
		});
	if (v.length) return fail(v);
	const message: Record<string, unknown> = { text: m.text };
	if (replies.length)
		message.quick_replies = replies.map((title, k) => ({
			content_type: 'text',
			title,
			payload: payloads[k],
		}));
	const json: Record<string, unknown> = {
		recipient: { id: m.to },
		messaging_type: type,
		message,
	};
	if (type === 'MESSAGE_TAG') json.tag = 'HUMAN_AGENT';
	return {
		ok: true,
		built: {
			kind: 'http',
			request: { method: 'POST', path: `/${ctx.apiVersion}/me/messages`, json },
		},
	};
}
