/**
 * AI copy core: prompts and JSON schemas, the channel-fit check (the same limits Touchpoint
 * enforces), placeholders filled per item after a per-segment generation, and prompt hashing.
 */
import { createHash } from 'node:crypto';

import { checkSms, checkText } from '../channels/limits';
import type { Violation } from '../channels/violations';

export type CopyChannel =
	| 'sms'
	| 'whatsapp'
	| 'whatsappTemplate'
	| 'messenger'
	| 'instagram'
	| 'push'
	| 'email';

export interface Variant {
	text: string;
	title?: string;
	subject?: string;
	preheader?: string;
}

export const PUSH_TITLE_MAX = 65;
export const PUSH_BODY_MAX = 240;
export const EMAIL_SUBJECT_MAX = 78;
export const PREHEADER_MAX = 100;

export function copySchema(channel: CopyChannel, variants: number): Record<string, unknown> {
	const props: Record<string, unknown> = { text: { type: 'string' } };
	const required = ['text'];
	if (channel === 'push') {
		props.title = { type: 'string' };
		required.push('title');
	}
	if (channel === 'email') {
		props.subject = { type: 'string' };
		props.preheader = { type: 'string' };
		required.push('subject', 'preheader');
	}
	return {
		type: 'object',
		additionalProperties: false,
		required: ['variants'],
		properties: {
			variants: {
				type: 'array',
				minItems: variants,
				maxItems: variants,
				items: { type: 'object', additionalProperties: false, required, properties: props },
			},
		},
	};
}

export function fitCheck(channel: CopyChannel, v: Variant, maxSmsSegments: number): Violation[] {
	const out: Violation[] = [];
	const len = (s?: string) => [...(s ?? '')].length;
	switch (channel) {
		case 'sms':
			out.push(...checkSms(v.text, maxSmsSegments));
			break;
		case 'whatsapp':
		case 'messenger':
		case 'instagram':
			out.push(...checkText(channel, v.text));
			break;
		case 'whatsappTemplate':
			if (len(v.text) > 1024)
				out.push({
					code: 'TEMPLATE_TOO_LONG',
					field: 'text',
					message: `Template body has ${len(v.text)} characters; WhatsApp allows 1024`,
				});
			break;
		case 'push':
			if (!v.title)
				out.push({ code: 'NO_TITLE', field: 'title', message: 'The push needs a title' });
			if (len(v.title) > PUSH_TITLE_MAX)
				out.push({
					code: 'TITLE_TOO_LONG',
					field: 'title',
					message: `Push title has ${len(v.title)} characters; keep it to ${PUSH_TITLE_MAX} so it is not cut on screen`,
				});
			if (len(v.text) > PUSH_BODY_MAX)
				out.push({
					code: 'BODY_TOO_LONG',
					field: 'text',
					message: `Push body has ${len(v.text)} characters; keep it to ${PUSH_BODY_MAX}`,
				});
			break;
		case 'email':
			if (!v.subject)
				out.push({ code: 'NO_SUBJECT', field: 'subject', message: 'The email needs a subject' });
			if (len(v.subject) > EMAIL_SUBJECT_MAX)
				out.push({
					code: 'SUBJECT_TOO_LONG',
					field: 'subject',
					message: `Subject has ${len(v.subject)} characters; keep it to ${EMAIL_SUBJECT_MAX}`,
				});
			if (len(v.preheader) > PREHEADER_MAX)
				out.push({
					code: 'PREHEADER_TOO_LONG',
					field: 'preheader',
					message: `Preheader has ${len(v.preheader)} characters; keep it to ${PREHEADER_MAX}`,
				});
			break;
	}
	return out;
}

const CHANNEL_HINT: Record<CopyChannel, string> = {
	sms: 'an SMS: plain text, GSM-7 characters only (no emoji, no curly quotes), as short as possible',
	whatsapp: 'a WhatsApp message: conversational, at most 4096 characters',
	whatsappTemplate:
		'the body of a WhatsApp template: at most 1024 characters, use {{1}}, {{2}} for variables',
	messenger: 'a Messenger message: conversational, at most 2000 characters',
	instagram: 'an Instagram Direct message: at most 1000 characters',
	push: `a push notification: title at most ${PUSH_TITLE_MAX} characters, body at most ${PUSH_BODY_MAX}`,
	email: `an email: subject at most ${EMAIL_SUBJECT_MAX} characters, preheader at most ${PREHEADER_MAX}, and the body text`,
};

export interface CopyBrief {
	channel: CopyChannel;
	brief: string;
	tone?: string;
	avoidWords?: string;
	emoji: 'none' | 'some' | 'free';
	language: string;
	callToAction?: string;
	variants: number;
	placeholders: string[];
	maxSmsSegments: number;
	/** The segment's shared values (e.g. { segment: "VIP" }). */
	audience: Record<string, unknown>;
}

export function copyMessages(b: CopyBrief): Array<{ role: 'system' | 'user'; content: string }> {
	const rules = [
		`Write ${b.variants} different variant(s) of ${CHANNEL_HINT[b.channel]}.`,
		`Language: ${b.language}.`,
		b.tone ? `Brand voice: ${b.tone}.` : '',
		b.avoidWords ? `Never use these words: ${b.avoidWords}.` : '',
		b.emoji === 'none' ? 'Use no emoji.' : b.emoji === 'some' ? 'At most one emoji.' : '',
		b.callToAction ? `End with this call to action: ${b.callToAction}.` : '',
		b.channel === 'sms' && b.maxSmsSegments > 0
			? `The SMS must fit in ${b.maxSmsSegments} segment(s) (${b.maxSmsSegments === 1 ? 160 : b.maxSmsSegments * 153} GSM-7 characters).`
			: '',
		b.placeholders.length
			? `Personalise with these placeholders exactly as written, they are filled in later: ${b.placeholders.map((p) => `{{${p}}}`).join(', ')}.`
			: '',
		'Answer only with JSON matching the schema.',
	].filter(Boolean);
	return [
		{ role: 'system', content: `You are a marketing copywriter. ${rules.join(' ')}` },
		{ role: 'user', content: JSON.stringify({ brief: b.brief, audience: b.audience }) },
	];
}

export function promptHash(parts: unknown): string {
	return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;

/**
 * Fills {{path}} placeholders from the item, only for the paths the marketer listed in
 * Placeholders: a path the model made up (say {{internal.margin}}) is never read from the item.
 * An allowed one with no value stays visible so it is noticed. {{1}}, {{2}} (WhatsApp template
 * variables) stay as they are.
 */
export function fillPlaceholders(
	text: string,
	get: (path: string) => unknown,
	allowed: readonly string[],
): string {
	const allow = new Set(allowed);
	return text.replace(PLACEHOLDER, (m, path: string) => {
		if (/^\d+$/.test(path) || !allow.has(path)) return m;
		const v = get(path);
		return v === undefined || v === null ? m : String(v);
	});
}

/** Placeholders in generated copy that are not on the allow-list (nor template variables). */
export function unknownPlaceholders(text: string, allowed: readonly string[]): string[] {
	const allow = new Set(allowed);
	return [...text.matchAll(PLACEHOLDER)]
		.map((m) => m[1])
		.filter((p) => !/^\d+$/.test(p) && !allow.has(p));
}
