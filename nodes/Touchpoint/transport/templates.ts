/**
 * WhatsApp message templates as Meta holds them (the Graph API's message_templates edge): the
 * account's approved templates for the editor's list, and a template message checked against its
 * definition before it is sent (once per template and language per run).
 */
import type { IDataObject, IExecuteFunctions, ILoadOptionsFunctions } from 'n8n-workflow';

import { graphRoot } from '../../shared/channels/graph';
import type { BuiltRequest } from '../../shared/channels/message';
import {
	listTemplates,
	templateProblems,
	type TemplateDefinition,
	type TemplateSummary,
} from '../../shared/channels/whatsapp-templates';
import type { ChannelCredentials } from './types';

type Requester = IExecuteFunctions | ILoadOptionsFunctions;

const get = (fn: Requester, url: string, accessToken: unknown) =>
	fn.helpers.httpRequest({
		method: 'GET',
		url,
		headers: { Authorization: `Bearer ${String(accessToken)}` },
		json: true,
	});

/** Every template of the account (all pages), as listed by the Graph API. */
export async function accountTemplates(
	fn: Requester,
	data: IDataObject,
	waba: string,
): Promise<TemplateSummary[]> {
	const first = `${graphRoot(data)}/${encodeURIComponent(waba)}/message_templates?fields=name,language,status,category&limit=100`;
	return await listTemplates(async (url) => await get(fn, url, data.accessToken), first);
}

/** Checks template messages against their definitions, fetching each definition once per run. */
export class TemplateCheck {
	private readonly definitions = new Map<string, Promise<TemplateDefinition | null | undefined>>();

	constructor(private readonly fn: IExecuteFunctions) {}

	/** What is wrong with the message's template, or undefined (also when Meta cannot be asked). */
	async problems(creds: ChannelCredentials, built: BuiltRequest): Promise<string | undefined> {
		const template =
			built.kind === 'http'
				? ((built.request.json as IDataObject | undefined)?.template as IDataObject | undefined)
				: undefined;
		const waba = String(creds.data.businessAccountId ?? '').trim();
		if (!template || !waba || creds.placeholder) return undefined;
		const name = String(template.name);
		const language = String((template.language as IDataObject)?.code ?? '');
		const def = await this.definition(creds.data, waba, name, language);
		if (def === undefined) return undefined;
		if (def === null)
			return `Template ${name} (${language}) is not in the WhatsApp Business Account ${waba}: check the name and language`;
		return (
			templateProblems(
				def,
				(template.components as Array<Record<string, unknown>> | undefined) ?? [],
			).join(' ') || undefined
		);
	}

	private async definition(
		data: IDataObject,
		waba: string,
		name: string,
		language: string,
	): Promise<TemplateDefinition | null | undefined> {
		const key = `${waba}\u0000${name}\u0000${language}`;
		if (!this.definitions.has(key)) {
			const url = `${graphRoot(data)}/${encodeURIComponent(waba)}/message_templates?name=${encodeURIComponent(name)}&fields=name,language,status,components&limit=100`;
			this.definitions.set(
				key,
				get(this.fn, url, data.accessToken)
					.then(
						(res: { data?: TemplateDefinition[] }) =>
							(res.data ?? []).find((t) => t.name === name && t.language === language) ?? null,
					)
					// Not reachable: the send itself will tell (Meta refuses a template that does not fit).
					.catch(() => undefined),
			);
		}
		return await this.definitions.get(key)!;
	}
}
