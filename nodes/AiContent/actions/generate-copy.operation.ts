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
import type { Store } from '../../shared/store/types';
import type { Msg, ModelRun, Usage } from './model';

interface CopySettings {
	channel: CopyChannel;
	brief: string;
	voice: IDataObject;
	groupPaths: string[];
	placeholders: string[];
	variants: number;
	maxAttempts: number;
	maxSmsSegments: number;
}

type Group = { audience: Record<string, unknown>; items: number[] };
type Generated = {
	variants?: Variant[];
	error?: string;
	calls: number;
	cached: boolean;
	usage: Usage;
};

const list = (v: unknown) =>
	String(v)
		.split(',')
		.map((s) => s.trim())
		.filter(Boolean);

function readCopySettings(fn: IExecuteFunctions, m: ModelRun): CopySettings {
	const brief = String(fn.getNodeParameter('brief', 0));
	const channel = fn.getNodeParameter('channel', 0) as CopyChannel;
	if (!brief.trim())
		throw new NodeOperationError(m.node, 'Brief is empty', {
			description: 'Describe the offer or message the copy is for.',
		});
	return {
		channel,
		brief,
		voice: fn.getNodeParameter('voice', 0, {}) as IDataObject,
		groupPaths: list(fn.getNodeParameter('groupBy', 0, '')),
		placeholders: list(fn.getNodeParameter('placeholders', 0, '')),
		variants: Number(fn.getNodeParameter('variants', 0, 1)),
		maxAttempts: Math.max(1, Number(m.options.maxAttempts ?? 3)),
		maxSmsSegments: Number(m.options.maxSmsSegments ?? 1),
	};
}

/** One generation per group of items with the same values at Group By (each item alone without it). */
function groupItems(items: INodeExecutionData[], groupPaths: string[]): Group[] {
	const getters = groupPaths.map((p) => [p, compileFieldPath(p)] as const);
	const groups = new Map<string, Group>();
	items.forEach((item, i) => {
		const audience = Object.fromEntries(getters.map(([p, g]) => [p, g(item.json) ?? null]));
		const key = groupPaths.length ? JSON.stringify(audience) : `item:${i}`;
		const g = groups.get(key) ?? { audience, items: [] };
		g.items.push(i);
		groups.set(key, g);
	});
	return [...groups.values()];
}

/**
 * A brief grouped by values of one person's items holds their data: its cache entry is tied to
 * the person, so Erase removes it with them. Returns each group's person, if it is one person's.
 */
async function groupPeople(
	store: Store,
	items: INodeExecutionData[],
	groups: Group[],
	grouped: boolean,
): Promise<Array<string | undefined>> {
	const personIdOf = (json: IDataObject) => {
		const id = json.contactId ?? (json.contact as IDataObject | undefined)?.id;
		return typeof id === 'string' && id !== '' ? id : undefined;
	};
	const groupPerson = groups.map((g) => {
		if (!grouped) return undefined;
		const ids = new Set(g.items.map((i) => personIdOf(items[i].json)));
		return ids.size === 1 ? [...ids][0] : undefined;
	});
	const personOf = groupPerson.some((id) => id)
		? await personIdsOf(
				store,
				groupPerson.filter((id): id is string => !!id),
			)
		: new Map<string, string>();
	return groupPerson.map((p) => (p ? (personOf.get(p) ?? p) : undefined));
}

export async function generateCopy(
	this: IExecuteFunctions,
	m: ModelRun,
): Promise<INodeExecutionData[][]> {
	const { items, options, sample, concurrency, modelName } = m;
	const s = readCopySettings(this, m);
	const groups = groupItems(items, s.groupPaths);
	const schema = copySchema(s.channel, s.variants);
	const briefs = groups.map(
		(g): CopyBrief => ({
			channel: s.channel,
			brief: s.brief,
			tone: s.voice.tone as string,
			avoidWords: s.voice.avoidWords as string,
			emoji: (s.voice.emoji as CopyBrief['emoji']) ?? 'some',
			language: String(s.voice.language ?? 'English'),
			callToAction: s.voice.callToAction as string,
			variants: s.variants,
			placeholders: s.placeholders,
			maxSmsSegments: s.maxSmsSegments,
			audience: g.audience,
		}),
	);
	const hashes = briefs.map((b) =>
		promptHash({ model: modelName, messages: copyMessages(b), schema }),
	);
	const store = await getStore(this);
	const people = await groupPeople(store, items, groups, s.groupPaths.length > 0);
	const cached =
		options.bypassCache || sample ? new Map<string, string>() : await store.getCached(hashes);
	const results = await mapLimit(briefs, concurrency, async (b, k): Promise<Generated> => {
		if (sample)
			return {
				variants: sampleCopy(s.channel, s.variants, b.audience, m.sampleWriting),
				calls: 0,
				cached: false,
				usage: { inputTokens: 0, outputTokens: 0, calls: 0 },
			};
		const hit = cached.get(hashes[k]);
		if (hit) {
			m.meter.cacheHits++;
			return {
				variants: JSON.parse(hit) as Variant[],
				calls: 0,
				cached: true,
				usage: { inputTokens: 0, outputTokens: 0, calls: 0 },
			};
		}
		const r = await generate(m, s, b, schema);
		if (r.variants) {
			const person = people[k];
			await store.putCached([
				{
					hash: hashes[k],
					response: JSON.stringify(r.variants),
					...(person ? { contactId: person } : {}),
				},
			]);
		}
		return r;
	});
	const out: INodeExecutionData[] = [];
	groups.forEach((g, k) => {
		for (const i of g.items) out.push(copyItem(this, m, s, items[i], i, g, results[k]));
	});
	// Items leave in the order they came, not grouped by the generation they share.
	const indexOf = (item: INodeExecutionData) => (item.pairedItem as { item: number }).item;
	return [out.sort((a, b) => indexOf(a) - indexOf(b))];
}

/** Asks the model, and again with what broke the channel's limits, up to Max Attempts. */
async function generate(
	m: ModelRun,
	s: CopySettings,
	b: CopyBrief,
	schema: ReturnType<typeof copySchema>,
): Promise<Generated> {
	const messages: Msg[] = copyMessages(b);
	const u: Usage = { inputTokens: 0, outputTokens: 0, calls: 0 };
	let problems: string[] = [];
	for (let attempt = 1; attempt <= s.maxAttempts; attempt++) {
		const r = await m.complete(messages, schema, 'copy');
		u.inputTokens += r.usage.inputTokens;
		u.outputTokens += r.usage.outputTokens;
		u.calls++;
		const got = ((r.data as { variants?: Variant[] }).variants ?? []).slice(0, s.variants);
		problems = copyProblems(s, got);
		if (problems.length === 0) return { variants: got, calls: u.calls, cached: false, usage: u };
		messages.push(
			{ role: 'assistant', content: JSON.stringify(r.data) },
			{
				role: 'user',
				content: `That breaks the channel's limits: ${problems.join(' ')} Rewrite all variants so they fit.`,
			},
		);
	}
	return {
		error: `After ${s.maxAttempts} attempts the copy still breaks the channel's limits: ${problems.join(' ')}`,
		calls: u.calls,
		cached: false,
		usage: u,
	};
}

function copyProblems(s: CopySettings, got: Variant[]): string[] {
	if (got.length < s.variants) return [`Expected ${s.variants} variants, got ${got.length}`];
	return got.flatMap((v, n) => [
		...fitCheck(s.channel, v, s.maxSmsSegments).map((x) => `Variant ${n + 1}: ${x.message}`),
		...Object.values(v)
			.flatMap((val) => unknownPlaceholders(String(val), s.placeholders))
			.map(
				(p) =>
					`Variant ${n + 1} uses {{${p}}}, which is not one of the placeholders you may use (${s.placeholders.length ? s.placeholders.map((x) => `{{${x}}}`).join(', ') : 'none'}).`,
			),
	]);
}

/** One item's copy: its group's variants with its own values filled in, checked again. */
function copyItem(
	fn: IExecuteFunctions,
	m: ModelRun,
	s: CopySettings,
	item: INodeExecutionData,
	i: number,
	g: Group,
	r: Generated,
): INodeExecutionData {
	const shared = g.items.length;
	const usage = {
		model: m.modelName,
		inputTokens: Math.round(r.usage.inputTokens / shared),
		outputTokens: Math.round(r.usage.outputTokens / shared),
		calls: i === g.items[0] ? r.calls : 0,
		cached: r.cached,
		sharedWith: shared,
	};
	const failed = (message: string, description: string): INodeExecutionData => {
		const e = new NodeOperationError(m.node, message, { itemIndex: i, description });
		if (!fn.continueOnFail()) throw e;
		return { json: { ...item.json, error: message, usage }, pairedItem: { item: i } };
	};
	if (r.error)
		return failed(r.error, 'Loosen the brief, raise Max SMS Segments, or choose another channel.');
	const get = (p: string) => compileFieldPath(p)(item.json);
	const filled = r.variants!.map(
		(v) =>
			Object.fromEntries(
				Object.entries(v).map(([key, val]) => [
					key,
					fillPlaceholders(String(val), get, s.placeholders),
				]),
			) as unknown as Variant,
	);
	const after = filled.flatMap((v, n) =>
		fitCheck(s.channel, v, s.maxSmsSegments).map(
			(x) => `Variant ${n + 1} after personalisation: ${x.message}`,
		),
	);
	if (after.length)
		return failed(after.join(' '), 'A personalised value made the copy too long for the channel.');
	return {
		json: {
			...item.json,
			copy: {
				channel: s.channel,
				variants: filled as unknown as IDataObject[],
				...filled[0],
				...(m.sample ? { sample: true } : {}),
			} as IDataObject,
			usage,
		},
		pairedItem: { item: i },
	};
}
