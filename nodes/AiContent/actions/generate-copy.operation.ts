/**
 * AI Content, Generate Copy: copy that fits the channel, one generation per group of items, cached.
 */
import type { IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import {
	copyMessages,
	copySchema,
	fillPlaceholders,
	fitCheck,
	promptHash,
	unknownPlaceholders,
	type CopyBrief,
	type CopyChannel,
	type Variant,
} from '../../shared/ai/copy';
import { sampleCopy } from '../../shared/ai/sample';
import { mapLimit } from '../../shared/pool';
import { compileFieldPath } from '../../shared/field-path';
import { getStore } from '../../shared/n8n/store';
import { personIdsOf } from '../../shared/people';
import type { Msg, ModelRun, Usage } from './model';

export async function generateCopy(
	this: IExecuteFunctions,
	m: ModelRun,
): Promise<INodeExecutionData[][]> {
	const { items, node, options, sample, concurrency, modelName, complete, meter } = m;

	const channel = this.getNodeParameter('channel', 0) as CopyChannel;
	const brief = String(this.getNodeParameter('brief', 0));
	if (!brief.trim())
		throw new NodeOperationError(node, 'Brief is empty', {
			description: 'Describe the offer or message the copy is for.',
		});
	const voice = this.getNodeParameter('voice', 0, {}) as IDataObject;
	const groupPaths = String(this.getNodeParameter('groupBy', 0, ''))
		.split(',')
		.map((s) => s.trim())
		.filter(Boolean);
	const placeholders = String(this.getNodeParameter('placeholders', 0, ''))
		.split(',')
		.map((s) => s.trim())
		.filter(Boolean);
	const variants = Number(this.getNodeParameter('variants', 0, 1));
	const maxAttempts = Math.max(1, Number(options.maxAttempts ?? 3));
	const maxSmsSegments = Number(options.maxSmsSegments ?? 1);
	const getters = groupPaths.map((p) => [p, compileFieldPath(p)] as const);
	const groups = new Map<string, { audience: Record<string, unknown>; items: number[] }>();
	items.forEach((item, i) => {
		const audience = Object.fromEntries(getters.map(([p, g]) => [p, g(item.json) ?? null]));
		const key = groupPaths.length ? JSON.stringify(audience) : `item:${i}`;
		const g = groups.get(key) ?? { audience, items: [] };
		g.items.push(i);
		groups.set(key, g);
	});
	const schema = copySchema(channel, variants);
	const briefs = [...groups.values()].map(
		(g): CopyBrief => ({
			channel,
			brief,
			tone: voice.tone as string,
			avoidWords: voice.avoidWords as string,
			emoji: (voice.emoji as CopyBrief['emoji']) ?? 'some',
			language: String(voice.language ?? 'English'),
			callToAction: voice.callToAction as string,
			variants,
			placeholders,
			maxSmsSegments,
			audience: g.audience,
		}),
	);
	const hashes = briefs.map((b) =>
		promptHash({ model: modelName, messages: copyMessages(b), schema }),
	);
	const store = await getStore(this);
	// A brief grouped by values of one person's items holds their data: its cache entry is
	// tied to the person, so Erase removes it with them.
	const personIdOf = (json: IDataObject) => {
		const id = json.contactId ?? (json.contact as IDataObject | undefined)?.id;
		return typeof id === 'string' && id !== '' ? id : undefined;
	};
	const groupPerson = [...groups.values()].map((g) => {
		if (!groupPaths.length) return undefined;
		const ids = new Set(g.items.map((i) => personIdOf(items[i].json)));
		return ids.size === 1 ? [...ids][0] : undefined;
	});
	const personOf = groupPerson.some((id) => id)
		? await personIdsOf(
				store,
				groupPerson.filter((id): id is string => !!id),
			)
		: new Map<string, string>();
	const cached =
		options.bypassCache || sample ? new Map<string, string>() : await store.getCached(hashes);
	const results = await mapLimit(
		briefs,
		concurrency,
		async (
			b,
			k,
		): Promise<{
			variants?: Variant[];
			error?: string;
			calls: number;
			cached: boolean;
			usage: Usage;
		}> => {
			if (sample)
				return {
					variants: sampleCopy(channel, variants, b.audience),
					calls: 0,
					cached: false,
					usage: { inputTokens: 0, outputTokens: 0, calls: 0 },
				};
			const hit = cached.get(hashes[k]);
			if (hit) {
				meter.cacheHits++;
				return {
					variants: JSON.parse(hit) as Variant[],
					calls: 0,
					cached: true,
					usage: { inputTokens: 0, outputTokens: 0, calls: 0 },
				};
			}
			const messages: Msg[] = copyMessages(b);
			const u: Usage = { inputTokens: 0, outputTokens: 0, calls: 0 };
			let problems: string[] = [];
			for (let attempt = 1; attempt <= maxAttempts; attempt++) {
				const r = await complete(messages, schema, 'copy');
				u.inputTokens += r.usage.inputTokens;
				u.outputTokens += r.usage.outputTokens;
				u.calls++;
				const got = ((r.data as { variants?: Variant[] }).variants ?? []).slice(0, variants);
				problems =
					got.length < variants
						? [`Expected ${variants} variants, got ${got.length}`]
						: got.flatMap((v, n) => [
								...fitCheck(channel, v, maxSmsSegments).map(
									(x) => `Variant ${n + 1}: ${x.message}`,
								),
								...Object.values(v)
									.flatMap((val) => unknownPlaceholders(String(val), placeholders))
									.map(
										(p) =>
											`Variant ${n + 1} uses {{${p}}}, which is not one of the placeholders you may use (${placeholders.length ? placeholders.map((x) => `{{${x}}}`).join(', ') : 'none'}).`,
									),
							]);
				if (problems.length === 0) {
					const person = groupPerson[k];
					await store.putCached([
						{
							hash: hashes[k],
							response: JSON.stringify(got),
							...(person ? { contactId: personOf.get(person) ?? person } : {}),
						},
					]);
					return { variants: got, calls: u.calls, cached: false, usage: u };
				}
				messages.push(
					{ role: 'assistant', content: JSON.stringify(r.data) },
					{
						role: 'user',
						content: `That breaks the channel's limits: ${problems.join(' ')} Rewrite all variants so they fit.`,
					},
				);
			}
			return {
				error: `After ${maxAttempts} attempts the copy still breaks the channel's limits: ${problems.join(' ')}`,
				calls: u.calls,
				cached: false,
				usage: u,
			};
		},
	);
	const out: INodeExecutionData[] = [];
	[...groups.values()].forEach((g, k) => {
		const r = results[k];
		for (const i of g.items) {
			const shared = g.items.length;
			const itemUsage = {
				model: modelName,
				inputTokens: Math.round(r.usage.inputTokens / shared),
				outputTokens: Math.round(r.usage.outputTokens / shared),
				calls: i === g.items[0] ? r.calls : 0,
				cached: r.cached,
				sharedWith: shared,
			};
			if (r.error) {
				const e = new NodeOperationError(node, r.error, {
					itemIndex: i,
					description: 'Loosen the brief, raise Max SMS Segments, or choose another channel.',
				});
				if (!this.continueOnFail()) throw e;
				out.push({
					json: { ...items[i].json, error: r.error, usage: itemUsage },
					pairedItem: { item: i },
				});
				continue;
			}
			const get = (p: string) => compileFieldPath(p)(items[i].json);
			const filled = r.variants!.map(
				(v) =>
					Object.fromEntries(
						Object.entries(v).map(([key, val]) => [
							key,
							fillPlaceholders(String(val), get, placeholders),
						]),
					) as unknown as Variant,
			);
			const after = filled.flatMap((v, n) =>
				fitCheck(channel, v, maxSmsSegments).map(
					(x) => `Variant ${n + 1} after personalisation: ${x.message}`,
				),
			);
			if (after.length) {
				const e = new NodeOperationError(node, after.join(' '), {
					itemIndex: i,
					description: 'A personalised value made the copy too long for the channel.',
				});
				if (!this.continueOnFail()) throw e;
				out.push({
					json: { ...items[i].json, error: e.message, usage: itemUsage },
					pairedItem: { item: i },
				});
				continue;
			}
			out.push({
				json: {
					...items[i].json,
					copy: {
						channel,
						variants: filled as unknown as IDataObject[],
						...filled[0],
						...(sample ? { sample: true } : {}),
					} as IDataObject,
					usage: itemUsage,
				},
				pairedItem: { item: i },
			});
		}
	});
	// Items leave in the order they came, not grouped by the generation they share.
	const indexOf = (item: INodeExecutionData) => (item.pairedItem as { item: number }).item;
	return [out.sort((a, b) => indexOf(a) - indexOf(b))];
}
