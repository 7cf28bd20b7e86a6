/**
 * WhatsApp (Cloud API): a message to /{phone-number-id}/messages as Meta documents it (text,
 * template, media by link, id or upload, location, contact cards, reply buttons or a list).
 */
import { createHash } from 'node:crypto';

import { classifyGraphError } from './graph';
import { checkText, TEXT_LIMITS, WHATSAPP_MEDIA } from './limits';
import { safeUrl } from './markup';
import {
	fail,
	type BuildContext,
	type BuildResult,
	type BuiltRequest,
	type ChannelModule,
	type MediaUploadSpec,
	type OutboundMessage,
} from './message';
import { buttons, httpRequest, lines, list, obj, str, type Json } from './readable';
import type { Violation } from './violations';
import { mediaFileProblems, whatsappChoices, whatsappContacts } from './whatsapp-parts';

type Body =
	| { json: Record<string, unknown>; upload?: MediaUploadSpec }
	| { violations: Violation[] };
type MediaType = keyof typeof WHATSAPP_MEDIA;

export const whatsapp: ChannelModule = {
	build: buildWhatsApp,
	classify: classifyGraphError,
	read: readWhatsApp,
};

/** A template shows its name and each parameter as it fills the placeholder ({{1}} = Ana). */
function readTemplate(t: Json): string {
	const filled = list(t.components).flatMap((c) =>
		list(obj(c).parameters).map((p, k) => {
			const v = obj(p);
			const value =
				str(v.text) ||
				str(obj(v.currency).fallback_value) ||
				str(obj(v.date_time).fallback_value) ||
				str(v.payload) ||
				str(v.type);
			// Named templates fill {{first_name}}; positional ones {{1}}, {{2}}...
			return `${str(obj(c).type)} {{${str(v.parameter_name) || k + 1}}} = ${value}`;
		}),
	);
	return lines(
		`Approved template "${str(t.name)}" (${str(obj(t.language).code)})`,
		filled.length ? filled.join(', ') : 'no parameters',
	);
}

function readWhatsApp(built: BuiltRequest): string {
	const body = obj(httpRequest(built)?.json);
	const type = str(body.type);
	const part = obj(body[type]);
	const to = `To +${str(body.to)} on WhatsApp`;
	if (type === 'text') return lines(to, str(part.body));
	if (type === 'template') return lines(to, readTemplate(part));
	if (type === 'interactive') {
		const action = obj(part.action);
		const choices = [
			...list(action.buttons).map((b) => str(obj(obj(b).reply).title)),
			...list(action.sections).flatMap((s) => list(obj(s).rows).map((r) => str(obj(r).title))),
		];
		return lines(to, str(obj(part.body).text), buttons(choices));
	}
	if (type === 'location')
		return lines(
			to,
			`Location: ${[str(part.name), str(part.address)].filter(Boolean).join(', ')} (${String(part.latitude)}, ${String(part.longitude)})`,
		);
	if (type === 'contacts')
		return lines(
			to,
			`Contact cards: ${list(body.contacts)
				.map((c) => str(obj(obj(c).name).formatted_name))
				.join(', ')}`,
		);
	return lines(
		to,
		`[${type}${str(part.filename) ? `: ${str(part.filename)}` : ''}]`,
		str(part.caption),
	);
}

function buildWhatsApp(m: OutboundMessage, ctx: BuildContext): BuildResult {
	const type = m.whatsappType ?? 'text';
	const to = m.to.replace(/^\+/, '');
	const base = { messaging_product: 'whatsapp', recipient_type: 'individual', to };
	const body = bodyOf(m, ctx, type);
	if ('violations' in body) return fail(body.violations);
	const request = {
		method: 'POST' as const,
		path: `/${ctx.apiVersion}/${ctx.phoneNumberId}/messages`,
		json: { ...base, ...body.json },
	};
	return {
		ok: true,
		built: body.upload ? { kind: 'http', request, upload: body.upload } : { kind: 'http', request },
	};
}

function bodyOf(
	m: OutboundMessage,
	ctx: BuildContext,
	type: NonNullable<OutboundMessage['whatsappType']>,
): Body {
	if (type === 'text' && m.choices?.length)
		return whatsappChoices(m.text ?? '', m.choices, m.listButton ?? '');
	if (type === 'text') {
		const v = checkText('whatsapp', m.text ?? '');
		if (v.length) return { violations: v };
		return {
			json: { type: 'text', text: { preview_url: /https?:\/\//.test(m.text ?? ''), body: m.text } },
		};
	}
	if (type === 'template') return templateBody(m);
	if (type === 'location') return locationBody(m);
	if (type === 'contacts') {
		const built = whatsappContacts(m.contacts ?? []);
		return 'violations' in built ? built : { json: { type: 'contacts', contacts: built.contacts } };
	}
	return mediaBody(m, ctx, type);
}

function templateBody(m: OutboundMessage): Body {
	if (!m.templateName)
		return {
			violations: [
				{
					code: 'NO_TEMPLATE',
					field: 'templateName',
					message: 'Template Name is empty: use the name of an approved template',
				},
			],
		};
	const params = m.templateBodyParameters ?? [];
	const bodyChars = params.join('').length;
	if (bodyChars > TEXT_LIMITS.whatsappTemplateBody)
		return {
			violations: [
				{
					code: 'TEMPLATE_TOO_LONG',
					field: 'templateBodyParameters',
					message: `Template parameters total ${bodyChars} characters; a template body allows ${TEXT_LIMITS.whatsappTemplateBody}`,
				},
			],
		};
	return {
		json: {
			type: 'template',
			template: {
				name: m.templateName,
				language: { code: m.templateLanguage || 'en' },
				...(m.templateComponents?.length
					? { components: m.templateComponents }
					: params.length
						? {
								components: [
									{ type: 'body', parameters: params.map((text) => ({ type: 'text', text })) },
								],
							}
						: {}),
			},
		},
	};
}

function locationBody(m: OutboundMessage): Body {
	const loc = m.location;
	if (!loc || !(Math.abs(loc.latitude) <= 90) || !(Math.abs(loc.longitude) <= 180))
		return {
			violations: [
				{
					code: 'BAD_LOCATION',
					field: 'location',
					message: `Latitude and longitude must be numbers within ±90 and ±180 (got ${JSON.stringify(loc ?? null)})`,
				},
			],
		};
	return {
		json: {
			type: 'location',
			location: {
				latitude: loc.latitude,
				longitude: loc.longitude,
				...(loc.name ? { name: loc.name } : {}),
				...(loc.address ? { address: loc.address } : {}),
			},
		},
	};
}

/** A file by public link, by the id of media uploaded earlier, or uploaded from binary data at send time. */
function mediaBody(m: OutboundMessage, ctx: BuildContext, type: MediaType): Body {
	const source = mediaSource(m, ctx, type);
	if ('violations' in source) return source;
	// Audio takes no caption on WhatsApp; a document may carry its file name.
	const filename = type === 'document' ? m.filename || m.mediaUpload?.filename : undefined;
	return {
		json: {
			type,
			[type]: {
				...source.media,
				...(m.caption && type !== 'audio' ? { caption: m.caption } : {}),
				...(filename ? { filename } : {}),
			},
		},
		upload: source.upload,
	};
}

function mediaSource(
	m: OutboundMessage,
	ctx: BuildContext,
	type: MediaType,
): { media: Record<string, string>; upload?: MediaUploadSpec } | { violations: Violation[] } {
	if (m.mediaUpload) {
		const problems = mediaFileProblems(type, m.mediaUpload);
		if (problems.length) return { violations: problems };
		const f = m.mediaUpload;
		const upload: MediaUploadSpec = {
			path: `/${ctx.apiVersion}/${ctx.phoneNumberId}/media`,
			field: type,
			filename: f.filename,
			mimeType: f.mimeType.split(';')[0].trim().toLowerCase(),
			bytes: f.content.length,
			sha256: createHash('sha256').update(f.content).digest('hex'),
			content: f.content,
		};
		return { media: { id: '' }, upload };
	}
	if (m.mediaId?.trim()) {
		if (!/^\d{1,32}$/.test(m.mediaId.trim()))
			return {
				violations: [
					{
						code: 'BAD_MEDIA_ID',
						field: 'mediaId',
						message: `Media ID "${m.mediaId.slice(0, 40)}" is not a WhatsApp media ID (digits, as the media upload returns)`,
					},
				],
			};
		return { media: { id: m.mediaId.trim() } };
	}
	if (!m.mediaUrl)
		return { violations: [{ code: 'NO_MEDIA', field: 'mediaUrl', message: 'Media URL is empty' }] };
	const link = safeUrl(m.mediaUrl, ['https:', 'http:']);
	if (!link)
		return {
			violations: [
				{
					code: 'BAD_MEDIA_URL',
					field: 'mediaUrl',
					message: `Media URL "${m.mediaUrl.slice(0, 80)}" is not a public http(s) URL`,
				},
			],
		};
	return { media: { link } };
}
