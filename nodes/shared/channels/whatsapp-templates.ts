/**
 * WhatsApp message templates: the approved ones of a WhatsApp Business Account (Graph API
 * message_templates edge, every page), and a send's components (header, body, buttons) built
 * in the shape the Cloud API documents.
 */

export interface TemplateSummary {
	name: string;
	language: string;
	category: string;
	status: string;
}

type Get = (
	url: string,
) => Promise<{ data?: Array<Record<string, unknown>>; paging?: { next?: string } }>;

/** Every template of the account, following the edge's `paging.next` links (at most `maxPages`). */
export async function listTemplates(
	get: Get,
	firstUrl: string,
	maxPages = 50,
): Promise<TemplateSummary[]> {
	const out: TemplateSummary[] = [];
	let url: string | undefined = firstUrl;
	for (let page = 0; url && page < maxPages; page++) {
		const res: Awaited<ReturnType<Get>> = await get(url);
		for (const t of res.data ?? [])
			out.push({
				name: String(t.name),
				language: String(t.language),
				category: String(t.category ?? ''),
				status: String(t.status ?? ''),
			});
		url = res.paging?.next;
	}
	return out;
}

export interface TemplateComponentsInput {
	header?: { type: 'none' | 'text' | 'image' | 'video' | 'document'; value?: string };
	body?: Array<{
		type?: 'text' | 'currency' | 'date_time';
		value: string;
		name?: string;
		currencyCode?: string;
		amount1000?: number;
	}>;
	buttons?: Array<{ index: number; subType: 'quick_reply' | 'url' | 'copy_code'; value: string }>;
}

/** The components array of a template message; a URL header media is a link, anything else a media id. */
export function templateComponents(input: TemplateComponentsInput): Array<Record<string, unknown>> {
	const out: Array<Record<string, unknown>> = [];
	const h = input.header;
	if (h && h.type !== 'none' && h.value) {
		const media = /^https?:\/\//.test(h.value) ? { link: h.value } : { id: h.value };
		out.push({
			type: 'header',
			parameters: [
				h.type === 'text' ? { type: 'text', text: h.value } : { type: h.type, [h.type]: media },
			],
		});
	}
	if (input.body?.length) {
		out.push({
			type: 'body',
			parameters: input.body.map((b) => {
				const named = b.name ? { parameter_name: b.name } : {};
				if (b.type === 'currency')
					return {
						type: 'currency',
						...named,
						currency: {
							fallback_value: b.value,
							code: b.currencyCode ?? '',
							amount_1000: Number(b.amount1000 ?? 0),
						},
					};
				if (b.type === 'date_time')
					return { type: 'date_time', ...named, date_time: { fallback_value: b.value } };
				return { type: 'text', ...named, text: b.value };
			}),
		});
	}
	for (const b of input.buttons ?? []) {
		const parameter =
			b.subType === 'quick_reply'
				? { type: 'payload', payload: b.value }
				: b.subType === 'copy_code'
					? { type: 'coupon_code', coupon_code: b.value }
					: { type: 'text', text: b.value };
		out.push({
			type: 'button',
			sub_type: b.subType,
			index: String(b.index),
			parameters: [parameter],
		});
	}
	return out;
}

export interface TemplateDefinition {
	name: string;
	language: string;
	components: Array<{
		type: string;
		format?: string;
		text?: string;
		buttons?: Array<{ type: string; url?: string }>;
	}>;
}

/**
 * What a message's parameters lack or have too much of against the template as Meta holds it:
 * body placeholders ({{1}}.. or named), a header's media or text parameter, dynamic URL and
 * copy-code buttons. One sentence per problem, naming the template; empty when it fits.
 */
export function templateProblems(
	def: TemplateDefinition,
	components: Array<Record<string, unknown>>,
): string[] {
	const label = `Template ${def.name} (${def.language})`;
	const problems: string[] = [];
	const given = (type: string) => components.find((c) => c.type === type);
	const body = def.components.find((c) => c.type === 'BODY');
	const placeholders = [
		...new Set([...(body?.text ?? '').matchAll(/\{\{\s*([\w]+)\s*\}\}/g)].map((m) => m[1])),
	];
	const params = (given('body')?.parameters as Array<Record<string, unknown>> | undefined) ?? [];
	const named = placeholders.some((p) => !/^\d+$/.test(p));
	if (named) {
		const names = new Set(params.map((p) => String(p.parameter_name ?? '')));
		const missing = placeholders.filter((p) => !names.has(p));
		if (missing.length)
			problems.push(
				`${label} needs the body parameters ${missing.map((m) => `"${m}"`).join(', ')} (named), which are missing`,
			);
	} else if (params.length !== placeholders.length) {
		problems.push(
			`${label} has ${placeholders.length} body parameter${placeholders.length === 1 ? '' : 's'}; ${params.length} given`,
		);
	}
	const header = def.components.find((c) => c.type === 'HEADER');
	const headerGiven = (
		given('header')?.parameters as Array<Record<string, unknown>> | undefined
	)?.[0];
	if (header?.format && header.format !== 'TEXT' && header.format !== 'LOCATION') {
		const want = header.format.toLowerCase();
		if (!headerGiven || headerGiven.type !== want)
			problems.push(
				`${label} has ${/^[aeiou]/.test(want) ? 'an' : 'a'} ${want} header: give its ${want} (a URL or a media ID) in Template Components > Header`,
			);
	} else if (
		header?.format === 'TEXT' &&
		/\{\{/.test(header.text ?? '') &&
		headerGiven?.type !== 'text'
	) {
		problems.push(
			`${label} has a header with a parameter: give its text in Template Components > Header`,
		);
	}
	const buttons = def.components.find((c) => c.type === 'BUTTONS')?.buttons ?? [];
	buttons.forEach((b, index) => {
		const needs = (b.type === 'URL' && /\{\{/.test(b.url ?? '')) || b.type === 'COPY_CODE';
		const has = components.some((c) => c.type === 'button' && String(c.index) === String(index));
		if (needs && !has)
			problems.push(
				`${label}: button ${index} (${b.type === 'URL' ? 'a URL with a parameter' : 'copy code'}) needs its value in Template Components > Button`,
			);
	});
	return problems;
}
