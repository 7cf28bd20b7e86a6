/**
 * Email (SMTP through nodemailer): the message with its text and HTML parts, copies only on
 * transactional mail, and for marketing the one-click unsubscribe headers (RFC 8058) and the postal
 * footer (CAN-SPAM); what SMTP reply codes mean; how the email reads in a Dry Run.
 */
import { convert } from 'html-to-text';

import type { ProviderError } from './errors';
import { escapeHtml, safeUrl } from './markup';
import {
	fail,
	type BuildContext,
	type BuildResult,
	type BuiltRequest,
	type ChannelModule,
	type OutboundMessage,
} from './message';
import { lines } from './readable';
import type { Violation } from './violations';

export const email: ChannelModule = {
	build: buildEmail,
	classify: classifySmtpReply,
	read: readEmail,
};

/** The email as a mail app lists it: who it is from, its subject, then its text. */
function readEmail(built: BuiltRequest): string {
	if (built.kind !== 'email') return '';
	const e = built.email;
	return `${lines(`To ${e.to}`, `From: ${e.from}`, `Subject: ${e.subject}`)}\n\n${e.text}`;
}

function buildEmail(m: OutboundMessage, ctx: BuildContext): BuildResult {
	const v: Violation[] = [];
	const from = m.from || ctx.emailFrom;
	if (!from) v.push({ code: 'NO_FROM', field: 'from', message: 'From Email is empty' });
	if (!m.subject) v.push({ code: 'NO_SUBJECT', field: 'subject', message: 'Subject is empty' });
	if (!m.html && !m.text)
		v.push({ code: 'EMPTY_EMAIL', field: 'text', message: 'The email has no body' });
	const headers: Record<string, string> = {};
	const parts = { text: m.text ?? emailTextFromHtml(m.html ?? ''), html: m.html };
	if (parts.html) {
		const bad = unsafeLinks(parts.html);
		if (bad.length)
			v.push({
				code: 'UNSAFE_LINK',
				field: 'html',
				message: `The email links to ${bad.map((b) => `"${b}"`).join(', ')}: only http(s), mailto and tel links are sent. Check the link fields (e.g. a cart URL from a webhook).`,
			});
	}
	// Copies go to people who gave no consent of their own: only on transactional email, the one
	// purpose that needs none (service and custom purposes are consented per person, like marketing).
	if ((m.cc?.length || m.bcc?.length) && m.purpose !== 'transactional')
		v.push({
			code: 'COPIES_NEED_CONSENT',
			field: 'cc',
			message: `CC and BCC are sent only on transactional email, not ${m.purpose}: each recipient needs their own consent (send them their own message)`,
		});
	for (const a of [...(m.cc ?? []), ...(m.bcc ?? [])])
		if (!/^[^\s<>@",;]+@[^\s<>@",;]+\.[^\s<>@",;]+$/.test(a))
			v.push({
				code: 'BAD_COPY_ADDRESS',
				field: 'cc',
				message: `"${a.slice(0, 80)}" in CC or BCC is not an email address`,
			});
	if (m.purpose === 'marketing') marketingParts(m, v, headers, parts);
	if (v.length) return fail(v);
	return {
		ok: true,
		built: {
			kind: 'email',
			email: {
				from: from!,
				to: m.to,
				...(m.replyTo ? { replyTo: m.replyTo } : {}),
				...(m.cc?.length ? { cc: m.cc } : {}),
				...(m.bcc?.length ? { bcc: m.bcc } : {}),
				...(m.attachments?.length ? { attachments: m.attachments } : {}),
				subject: m.subject!,
				text: parts.text,
				...(parts.html ? { html: parts.html } : {}),
				headers,
			},
		},
	};
}

/** A marketing email's one-click unsubscribe headers and its footer (postal address, link). */
function marketingParts(
	m: OutboundMessage,
	v: Violation[],
	headers: Record<string, string>,
	parts: { text: string; html?: string },
): void {
	// Normalised and checked: it goes into a header and an attribute, where a quote, a
	// bracket or a line break would break out.
	const unsubscribe = m.unsubscribeUrl ? safeUrl(m.unsubscribeUrl, ['https:']) : undefined;
	const mailto = m.unsubscribeMailto ? m.unsubscribeMailto.replace(/^mailto:/, '') : undefined;
	if (!unsubscribe)
		v.push({
			code: 'NO_ONE_CLICK_UNSUBSCRIBE',
			field: 'unsubscribeUrl',
			message: m.unsubscribeUrl
				? `One-Click Unsubscribe URL "${m.unsubscribeUrl.slice(0, 80)}" is not a plain https URL (RFC 8058)`
				: 'Marketing email needs an https one-click unsubscribe URL (RFC 8058)',
		});
	if (mailto !== undefined && !/^[^\s<>@",;]+@[^\s<>@",;]+$/.test(mailto))
		v.push({
			code: 'BAD_UNSUBSCRIBE_MAILTO',
			field: 'unsubscribeMailto',
			message: `Unsubscribe Mailto "${mailto.slice(0, 80)}" is not an email address`,
		});
	if (!m.postalAddress)
		v.push({
			code: 'NO_POSTAL_ADDRESS',
			field: 'postalAddress',
			message: 'Marketing email needs a postal address in the footer (CAN-SPAM)',
		});
	if (unsubscribe) {
		headers['List-Unsubscribe'] = [
			`<${unsubscribe}>`,
			...(mailto ? [`<mailto:${mailto}>`] : []),
		].join(', ');
		headers['List-Unsubscribe-Post'] = 'List-Unsubscribe=One-Click';
	}
	if (m.postalAddress) {
		parts.text = `${parts.text}\n\n--\n${m.postalAddress}${unsubscribe ? `\nUnsubscribe: ${unsubscribe}` : ''}`;
		if (parts.html)
			parts.html = `${parts.html}\n<p style="font-size:12px;color:#666">${escapeHtml(m.postalAddress)}${unsubscribe ? ` · <a href="${escapeHtml(unsubscribe)}">Unsubscribe</a>` : ''}</p>`;
	}
}

/**
 * The plain-text part derived from the HTML (the maintained converter n8n's own nodes use):
 * entities decoded, links kept as "text [url]", images and scripts left out, no hard wrapping.
 */
export function emailTextFromHtml(html: string): string {
	return convert(html, {
		wordwrap: false,
		selectors: [
			{ selector: 'a', options: { hideLinkHrefIfSameAsText: true, ignoreHref: false } },
			{ selector: 'img', format: 'skip' },
			{ selector: 'h1', options: { uppercase: false } },
			{ selector: 'h2', options: { uppercase: false } },
			{ selector: 'h3', options: { uppercase: false } },
		],
	}).trim();
}

/** Links in an email body whose scheme is not http(s), mailto or tel (javascript:, data:...). */
function unsafeLinks(html: string): string[] {
	const bad: string[] = [];
	for (const m of html.matchAll(/\b(?:href|src)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))/gi)) {
		const value = (m[1] ?? m[2] ?? m[3] ?? '').trim().replace(/&amp;/g, '&');
		if (value === '' || value.startsWith('#') || value.startsWith('cid:')) continue;
		if (!/^(https?:|mailto:|tel:)/i.test(value)) bad.push(value.slice(0, 60));
	}
	return bad;
}

function classifySmtpReply(status: number): ProviderError {
	if (status === 535 || status === 530 || status === 534)
		return {
			retryable: false,
			code: String(status),
			reason: 'AUTH',
			httpStatus: status,
			message: `The mail server refused the login (${status}): check User and Password in the credential`,
		};
	if (status >= 500)
		return {
			retryable: false,
			code: String(status),
			reason: status === 550 ? 'INVALID_ADDRESS' : 'REJECTED',
			httpStatus: status,
			message: `The mail server refused the message (${status})`,
		};
	return {
		retryable: true,
		code: String(status),
		httpStatus: status,
		message: `Temporary mail server error (${status}): retried`,
	};
}
