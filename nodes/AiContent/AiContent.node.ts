import OpenAI from 'openai';
import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeType, INodeTypeDescription } from 'n8n-workflow';
import { NodeApiError, NodeConnectionTypes, NodeOperationError } from 'n8n-workflow';

import { copyMessages, copySchema, fillPlaceholders, fitCheck, promptHash, unknownPlaceholders, type CopyBrief, type CopyChannel, type Variant } from '../shared/ai/copy';
import { classifyMessages, classifySchema, guardReply, REPLY_SCHEMA, replyMessages } from '../shared/ai/conversation';
import { answerText, jsonFromAnswer, jsonInstruction } from '../shared/ai/model-json';
import { sampleClassification, sampleCopy, sampleReply } from '../shared/ai/sample';
import { isChannel, type Channel } from '../shared/contact';
import { recordFreeTextOptOuts } from '../shared/policy/opt-out';
import { mapLimit } from '../shared/channels/limiter';
import { compileFieldPath } from '../shared/n8n/field-path';
import { convergentStoreApiTest, getStore } from '../shared/n8n/store';
import { personIdsOf } from '../shared/people';
import { optionSubtitle } from '../shared/n8n/display-options';

type Msg = { role: 'system' | 'user' | 'assistant'; content: string };
interface Usage { inputTokens: number; outputTokens: number; calls: number }

/** What AI Content needs of a Chat Model sub-node's model (a LangChain chat model). */
interface ChatModel {
	invoke(messages: Msg[]): Promise<{ content: unknown; usage_metadata?: { input_tokens?: number; output_tokens?: number } }>;
	_llmType?(): string;
	model?: string;
	modelName?: string;
}

const OPERATIONS = [
	{ name: 'Classify', value: 'classify', action: 'Classify the intent of a message' },
	{ name: 'Generate Copy', value: 'generateCopy', action: 'Generate copy that fits a channel' },
	{ name: 'Reply', value: 'reply', action: 'Reply to a conversation' },
	{ name: 'Report AI Usage', value: 'usageReport', action: 'Report model calls, tokens and cost by campaign' },
];

export class AiContent implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'AI Content',
		name: 'aiContent',
		icon: { light: 'file:aiContent.svg', dark: 'file:aiContent.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: optionSubtitle(OPERATIONS),
		description: 'Write copy that fits the channel, answer chats with intent and hand-off, classify messages',
		defaults: { name: 'AI Content' },
		usableAsTool: true,
		// Any model n8n has a Chat Model node for (OpenAI, Anthropic, Gemini, Azure, Ollama...), as
		// the Basic LLM Chain takes one; without it, the OpenAI-compatible credential.
		inputs: [NodeConnectionTypes.Main, { type: NodeConnectionTypes.AiLanguageModel, displayName: 'Chat Model', maxConnections: 1, required: false }],
		outputs: [NodeConnectionTypes.Main],
		credentials: [
			// Not required: with Sample Copy the node runs without it (a template's Try It); without
			// either, the node names the credential to connect.
			{ name: 'openAiCompatibleApi', required: false },
			{ name: 'convergentStoreApi', required: false, testedBy: 'convergentStoreApiTest' },
		],
		properties: [
			{
				displayName: 'Operation',
				name: 'operation',
				type: 'options',
				noDataExpression: true,
				options: OPERATIONS,
				default: 'generateCopy',
			},
			{ displayName: 'Model', name: 'model', type: 'string', default: 'gpt-4o-mini', description: 'The model the OpenAI-Compatible API credential calls. Not used when a Chat Model sub-node is connected (its own model is used).', displayOptions: { hide: { operation: ['usageReport'] } } },
			{
				displayName: 'Channel',
				name: 'channel',
				type: 'options',
				options: [
					{ name: 'Email (Subject, Preheader, Body)', value: 'email' },
					{ name: 'Instagram Direct', value: 'instagram' },
					{ name: 'Messenger', value: 'messenger' },
					{ name: 'Push (Title, Body)', value: 'push' },
					{ name: 'SMS', value: 'sms' },
					{ name: 'WhatsApp Template Body', value: 'whatsappTemplate' },
					{ name: 'WhatsApp Text', value: 'whatsapp' },
				],
				default: 'sms',
				displayOptions: { show: { operation: ['generateCopy'] } },
			},
			{ displayName: 'Brief', name: 'brief', type: 'string', typeOptions: { rows: 3 }, default: '', placeholder: 'Spring sale: 20% off skincare until Sunday', displayOptions: { show: { operation: ['generateCopy'] } } },
			{ displayName: 'Generate Once per Value Of', name: 'groupBy', type: 'string', default: '', placeholder: 'segment, contact.locale', description: 'Field paths: items sharing these values share one generation (comma-separated). Empty: one generation per item.', displayOptions: { show: { operation: ['generateCopy'] } } },
			{ displayName: 'Placeholders', name: 'placeholders', type: 'string', default: '', placeholder: 'contact.firstName', description: 'Field paths the copy may use as {{path}}; filled per item after generation', displayOptions: { show: { operation: ['generateCopy'] } } },
			{ displayName: 'Variants', name: 'variants', type: 'number', default: 1, typeOptions: { minValue: 1, maxValue: 5 }, description: 'Different versions for A/B tests', displayOptions: { show: { operation: ['generateCopy'] } } },
			{
				displayName: 'Brand Voice',
				name: 'voice',
				type: 'collection',
				placeholder: 'Add voice option',
				default: {},
				displayOptions: { show: { operation: ['generateCopy'] } },
				options: [
					{ displayName: 'Call to Action', name: 'callToAction', type: 'string', default: '' },
					{ displayName: 'Emoji', name: 'emoji', type: 'options', options: [{ name: 'None', value: 'none' }, { name: 'At Most One', value: 'some' }, { name: 'Free', value: 'free' }], default: 'some' },
					{ displayName: 'Language', name: 'language', type: 'string', default: 'English' },
					{ displayName: 'Tone', name: 'tone', type: 'string', default: '', placeholder: 'warm, playful, concise' },
					{ displayName: 'Words to Avoid', name: 'avoidWords', type: 'string', default: '' },
				],
			},
			{ displayName: 'Business Brief', name: 'systemBrief', type: 'string', typeOptions: { rows: 4 }, default: '', description: 'Facts and policies the assistant may use: opening hours, returns, prices', displayOptions: { show: { operation: ['reply'] } } },
			{ displayName: 'Intents', name: 'intents', type: 'string', default: 'book, buy, support, unsubscribe', description: 'Comma-separated; "other" is added', displayOptions: { show: { operation: ['classify', 'reply'] } } },
			{
				displayName: 'Honour Opt-Out Requests',
				name: 'detectOptOut',
				type: 'boolean',
				default: false,
				description: 'Whether the model also tells whether the person asks, in their own words and any language, to stop getting messages ("please stop messaging me", "non scrivetemi più"); their consent on the channel is then withdrawn, with the message as evidence. It never grants consent.',
				displayOptions: { show: { operation: ['classify'] } },
			},
			{ displayName: 'Contact ID Field', name: 'optOutContactIdField', type: 'string', requiresDataPath: 'single', default: 'contactId', description: 'Whose consent an opt-out withdraws (a Touchpoint Trigger event has it in "contactId")', displayOptions: { show: { operation: ['classify'], detectOptOut: [true] } } },
			{ displayName: 'Channel Field', name: 'optOutChannelField', type: 'string', requiresDataPath: 'single', default: 'channel', description: 'The channel the person wrote on', displayOptions: { show: { operation: ['classify'], detectOptOut: [true] } } },
			{ displayName: 'Opt-Out Purposes', name: 'optOutPurposes', type: 'string', default: 'marketing, service', description: 'Purposes an opt-out withdraws on the channel, comma-separated (as a STOP keyword)', displayOptions: { show: { operation: ['classify'], detectOptOut: [true] } } },
			{ displayName: 'Text Field', name: 'textField', type: 'string', requiresDataPath: 'single', default: 'text', description: 'Path to the person\'s message (a Touchpoint Trigger event has it in "text")', displayOptions: { show: { operation: ['reply', 'classify'] } } },
			{ displayName: 'Contact ID Field', name: 'contactIdField', type: 'string', requiresDataPath: 'single', default: 'contactId', displayOptions: { show: { operation: ['reply'] } } },
			{ displayName: 'History Turns', name: 'historyTurns', type: 'number', default: 10, displayOptions: { show: { operation: ['reply'] } } },
			{ displayName: 'Since (Days)', name: 'usageSinceDays', type: 'number', default: 30, typeOptions: { minValue: 0 }, description: 'How far back the report looks', displayOptions: { show: { operation: ['usageReport'] } } },
			{ displayName: 'Price per 1M Input Tokens', name: 'inputPrice', type: 'number', default: 0, typeOptions: { numberPrecision: 4 }, description: 'Your model\'s price, to estimate the cost (0: no estimate)', displayOptions: { show: { operation: ['usageReport'] } } },
			{ displayName: 'Price per 1M Output Tokens', name: 'outputPrice', type: 'number', default: 0, typeOptions: { numberPrecision: 4 }, displayOptions: { show: { operation: ['usageReport'] } } },
			{
				displayName: 'Options',
				name: 'options',
				type: 'collection',
				placeholder: 'Add option',
				default: {},
				displayOptions: { hide: { operation: ['usageReport'] } },
				options: [
					{ displayName: 'Bypass Cache', name: 'bypassCache', type: 'boolean', default: false, description: 'Whether to call the model even when the same prompt was answered before' },
					{ displayName: 'Campaign', name: 'campaign', type: 'string', default: '', description: 'Kept with this run\'s AI usage (calls, tokens, cache hits) in the store, for Report AI Usage. Read once per run.' },
					{ displayName: 'Concurrency', name: 'concurrency', type: 'number', default: 4 },
					{ displayName: 'Max Attempts', name: 'maxAttempts', type: 'number', default: 3, description: 'How often copy that breaks a channel limit is regenerated with the violation as feedback' },
					{ displayName: 'Max Retries', name: 'maxRetries', type: 'number', default: 3, description: 'Retries on 429 / 5xx (the SDK honours Retry-After)' },
					{ displayName: 'Max SMS Segments', name: 'maxSmsSegments', type: 'number', default: 1 },
					{
						displayName: 'Sample Copy (No Model Call)',
						name: 'sampleCopy',
						type: 'boolean',
						default: false,
						description: "Whether to return labelled sample copy instead of calling the model, so the workflow can be tried without an API key or cost. Read once per run: an expression such as {{ $('Try It').isExecuted }} turns it on for runs started by that trigger.",
					},
				],
			},
		],
	};

	methods = { credentialTest: { convergentStoreApiTest } };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const operation = this.getNodeParameter('operation', 0) as string;
		if (operation === 'usageReport') return await usageReport.call(this);
		// What the run cost, kept in the store by campaign (a sample run costs nothing and is not kept).
		const meter: Meter = { usage: { inputTokens: 0, outputTokens: 0, calls: 0 }, cacheHits: 0, model: '', sample: false };
		try {
			return await runModel.call(this, meter);
		} finally {
			if (!meter.sample && (meter.usage.calls > 0 || meter.cacheHits > 0)) {
				const options = this.getNodeParameter('options', 0, {}) as IDataObject;
				await (await getStore(this)).recordAiUsage([{
					at: Date.now(), workflowId: String(this.getWorkflow().id ?? ''), executionId: String(this.getExecutionId() ?? ''), node: this.getNode().name, operation, model: meter.model,
					campaign: String(options.campaign ?? '').trim(), items: this.getInputData().length, calls: meter.usage.calls, inputTokens: meter.usage.inputTokens, outputTokens: meter.usage.outputTokens, cacheHits: meter.cacheHits,
				}]);
			}
		}
	}
}

interface Meter {
	usage: Usage;
	cacheHits: number;
	model: string;
	sample: boolean;
}

async function runModel(this: IExecuteFunctions, meter: Meter): Promise<INodeExecutionData[][]> {
	const items = this.getInputData();
	const node = this.getNode();
	const operation = this.getNodeParameter('operation', 0) as string;
	const model = this.getNodeParameter('model', 0) as string;
	const options = this.getNodeParameter('options', 0, {}) as IDataObject;
	// Sample Copy: read once per run (an expression such as {{ $('Try It').isExecuted }} decides
	// for the whole run); no credential, no model call, no cache.
	const sample = options.sampleCopy === true;
	// A connected Chat Model sub-node is used instead of the credential (none in tool mode).
	const connected = sample ? undefined : await this.getInputConnectionData(NodeConnectionTypes.AiLanguageModel, 0);
	const chatModel = (Array.isArray(connected) ? connected[0] : connected) as ChatModel | undefined;
	if (!sample && !chatModel && !node.credentials?.openAiCompatibleApi) {
		throw new NodeOperationError(node, 'No OpenAI-Compatible API credential selected', {
			description: 'Connect a Chat Model sub-node, or choose or create the credential on the node (any OpenAI-compatible server: its base URL and key), or turn on Sample Copy (Options) to try the workflow without a model.',
		});
	}
	const credentials: IDataObject = sample || chatModel ? {} : await this.getCredentials('openAiCompatibleApi');
	// Always explicit: never from the environment.
	const client = sample || chatModel ? undefined : new OpenAI({
		apiKey: String(credentials.apiKey),
		baseURL: String(credentials.baseUrl || 'https://api.openai.com/v1'),
		organization: credentials.organization ? String(credentials.organization) : null,
		project: null,
		maxRetries: Number(options.maxRetries ?? 3),
	});
	const apiKey = String(credentials.apiKey ?? '');
	const redact = (text: string) => {
		let out = apiKey.length >= 8 ? text.split(apiKey).join('***') : text;
		// Also a recognisable part of it (servers often show the first and last characters).
		if (apiKey.length >= 16) for (const part of [apiKey.slice(0, 12), apiKey.slice(-12)]) out = out.split(part).join('***');
		return out;
	};
	const concurrency = Math.max(1, Number(options.concurrency ?? 4));
	const usage = meter.usage;
	meter.sample = sample;

	// The model's name as the cache and the usage report know it.
	const modelName = chatModel ? `${chatModel._llmType?.() ?? 'chat-model'}:${chatModel.model ?? chatModel.modelName ?? ''}` : model;
	meter.model = modelName;
	const completeWithChatModel = async (messages: Msg[], schema: Record<string, unknown>): Promise<{ data: unknown; usage: Usage }> => {
		const [first, ...rest] = messages;
		const prompt: Msg[] = first?.role === 'system' ? [{ role: 'system', content: `${first.content}\n\n${jsonInstruction(schema)}` }, ...rest] : [{ role: 'system', content: jsonInstruction(schema) }, ...messages];
		let res: Awaited<ReturnType<ChatModel['invoke']>>;
		try {
			res = await chatModel!.invoke(prompt);
		} catch (error) {
			const e = error as { status?: number; message?: string };
			throw new NodeApiError(node, { message: e.message ?? String(error) }, {
				httpCode: e.status ? String(e.status) : undefined,
				message: `The Chat Model failed${e.status ? ` (${e.status})` : ''}: ${e.message ?? String(error)}`,
				description: 'Check the Chat Model sub-node: its credential and model name.',
			});
		}
		const u = { inputTokens: res.usage_metadata?.input_tokens ?? 0, outputTokens: res.usage_metadata?.output_tokens ?? 0, calls: 1 };
		usage.inputTokens += u.inputTokens;
		usage.outputTokens += u.outputTokens;
		usage.calls++;
		try {
			return { data: jsonFromAnswer(answerText(res.content)), usage: u };
		} catch (error) {
			throw new NodeOperationError(node, (error as Error).message, { description: 'Choose a model that follows instructions, or lower its temperature.' });
		}
	};
	const complete = async (messages: Msg[], schema: Record<string, unknown>, name: string): Promise<{ data: unknown; usage: Usage }> => {
		if (sample) throw new NodeOperationError(node, 'No model is called with Sample Copy on');
		if (chatModel) return await completeWithChatModel(messages, schema);
		try {
			const res = await client!.chat.completions.create({
				model,
				messages,
				response_format: { type: 'json_schema', json_schema: { name, schema, strict: true } },
			});
			const u = { inputTokens: res.usage?.prompt_tokens ?? 0, outputTokens: res.usage?.completion_tokens ?? 0, calls: 1 };
			usage.inputTokens += u.inputTokens;
			usage.outputTokens += u.outputTokens;
			usage.calls++;
			const content = res.choices[0]?.message?.content ?? '';
			try {
				return { data: JSON.parse(content), usage: u };
			} catch {
				throw new NodeOperationError(node, 'The model did not answer with JSON', { description: `It answered: ${content.slice(0, 200)}` });
			}
		} catch (error) {
			if (error instanceof NodeOperationError) throw new NodeOperationError(node, error.message, { description: error.description ?? undefined });
			const e = error as { status?: number; message?: string };
			// A compatible server may echo the key (whole or in part, several times): every
			// occurrence is masked, in the message and in the response kept on the error.
			const raw = redact(e.message ?? String(error));
			throw new NodeApiError(node, { message: raw }, {
				httpCode: e.status ? String(e.status) : undefined,
				message: `The model API failed${e.status ? ` (${e.status})` : ''}: ${raw}`,
				description: 'Check the OpenAI-Compatible API credential (key, base URL) and the model name.',
			});
		}
	};

	if (operation === 'generateCopy') {
		const channel = this.getNodeParameter('channel', 0) as CopyChannel;
		const brief = String(this.getNodeParameter('brief', 0));
		if (!brief.trim()) throw new NodeOperationError(node, 'Brief is empty', { description: 'Describe the offer or message the copy is for.' });
		const voice = this.getNodeParameter('voice', 0, {}) as IDataObject;
		const groupPaths = String(this.getNodeParameter('groupBy', 0, '')).split(',').map((s) => s.trim()).filter(Boolean);
		const placeholders = String(this.getNodeParameter('placeholders', 0, '')).split(',').map((s) => s.trim()).filter(Boolean);
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
		const briefs = [...groups.values()].map((g): CopyBrief => ({
			channel, brief, tone: voice.tone as string, avoidWords: voice.avoidWords as string, emoji: (voice.emoji as CopyBrief['emoji']) ?? 'some',
			language: String(voice.language ?? 'English'), callToAction: voice.callToAction as string, variants, placeholders, maxSmsSegments, audience: g.audience,
		}));
		const hashes = briefs.map((b) => promptHash({ model: modelName, messages: copyMessages(b), schema }));
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
		const personOf = groupPerson.some((id) => id) ? await personIdsOf(store, groupPerson.filter((id): id is string => !!id)) : new Map<string, string>();
		const cached = options.bypassCache || sample ? new Map<string, string>() : await store.getCached(hashes);
		const results = await mapLimit(briefs, concurrency, async (b, k): Promise<{ variants?: Variant[]; error?: string; calls: number; cached: boolean; usage: Usage }> => {
			if (sample) return { variants: sampleCopy(channel, variants, b.audience), calls: 0, cached: false, usage: { inputTokens: 0, outputTokens: 0, calls: 0 } };
			const hit = cached.get(hashes[k]);
			if (hit) {
				meter.cacheHits++;
				return { variants: JSON.parse(hit) as Variant[], calls: 0, cached: true, usage: { inputTokens: 0, outputTokens: 0, calls: 0 } };
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
				problems = got.length < variants ? [`Expected ${variants} variants, got ${got.length}`] : got.flatMap((v, n) => [
					...fitCheck(channel, v, maxSmsSegments).map((x) => `Variant ${n + 1}: ${x.message}`),
					...Object.values(v).flatMap((val) => unknownPlaceholders(String(val), placeholders)).map((p) => `Variant ${n + 1} uses {{${p}}}, which is not one of the placeholders you may use (${placeholders.length ? placeholders.map((x) => `{{${x}}}`).join(', ') : 'none'}).`),
				]);
				if (problems.length === 0) {
					const person = groupPerson[k];
					await store.putCached([{ hash: hashes[k], response: JSON.stringify(got), ...(person ? { contactId: personOf.get(person) ?? person } : {}) }]);
					return { variants: got, calls: u.calls, cached: false, usage: u };
				}
				messages.push({ role: 'assistant', content: JSON.stringify(r.data) }, { role: 'user', content: `That breaks the channel's limits: ${problems.join(' ')} Rewrite all variants so they fit.` });
			}
			return { error: `After ${maxAttempts} attempts the copy still breaks the channel's limits: ${problems.join(' ')}`, calls: u.calls, cached: false, usage: u };
		});
		const out: INodeExecutionData[] = [];
		[...groups.values()].forEach((g, k) => {
			const r = results[k];
			for (const i of g.items) {
				const shared = g.items.length;
				const itemUsage = { model: modelName, inputTokens: Math.round(r.usage.inputTokens / shared), outputTokens: Math.round(r.usage.outputTokens / shared), calls: i === g.items[0] ? r.calls : 0, cached: r.cached, sharedWith: shared };
				if (r.error) {
					const e = new NodeOperationError(node, r.error, { itemIndex: i, description: 'Loosen the brief, raise Max SMS Segments, or choose another channel.' });
					if (!this.continueOnFail()) throw e;
					out.push({ json: { ...items[i].json, error: r.error, usage: itemUsage }, pairedItem: { item: i } });
					continue;
				}
				const get = (p: string) => compileFieldPath(p)(items[i].json);
				const filled = r.variants!.map((v) => Object.fromEntries(Object.entries(v).map(([key, val]) => [key, fillPlaceholders(String(val), get, placeholders)])) as unknown as Variant);
				const after = filled.flatMap((v, n) => fitCheck(channel, v, maxSmsSegments).map((x) => `Variant ${n + 1} after personalisation: ${x.message}`));
				if (after.length) {
					const e = new NodeOperationError(node, after.join(' '), { itemIndex: i, description: 'A personalised value made the copy too long for the channel.' });
					if (!this.continueOnFail()) throw e;
					out.push({ json: { ...items[i].json, error: e.message, usage: itemUsage }, pairedItem: { item: i } });
					continue;
				}
				out.push({ json: { ...items[i].json, copy: { channel, variants: filled as unknown as IDataObject[], ...filled[0], ...(sample ? { sample: true } : {}) } as IDataObject, usage: itemUsage }, pairedItem: { item: i } });
			}
		});
		// Items leave in the order they came, not grouped by the generation they share.
		const indexOf = (item: INodeExecutionData) => (item.pairedItem as { item: number }).item;
		return [out.sort((a, b) => indexOf(a) - indexOf(b))];
	}

	const textOf = compileFieldPath(this.getNodeParameter('textField', 0) as string);
	const intents = String(this.getNodeParameter('intents', 0, '')).split(',').map((s) => s.trim()).filter(Boolean);
	// One bad item (or one failed call) is that item's error, not the batch's.
	const perItem = async <T>(i: number, fn: () => Promise<T>): Promise<T | { error: NodeOperationError | NodeApiError }> => {
		try {
			return await fn();
		} catch (error) {
			const e = error instanceof NodeOperationError || error instanceof NodeApiError ? error : new NodeOperationError(node, error as Error, { itemIndex: i });
			if (!this.continueOnFail()) throw e;
			return { error: e };
		}
	};
	const errorItem = (i: number, e: { message: string; description?: string | null }) => ({ json: { ...items[i].json, error: e.message, ...(e.description ? { description: e.description } : {}) }, pairedItem: { item: i } });

	if (operation === 'classify') {
		const detectOptOut = this.getNodeParameter('detectOptOut', 0, false) as boolean;
		const results = await mapLimit(items, concurrency, async (item, i) => perItem(i, async () => sample
			? { data: { ...sampleClassification(intents, String(textOf(item.json) ?? ''), detectOptOut), sample: true }, usage: { inputTokens: 0, outputTokens: 0, calls: 0 } }
			: complete(classifyMessages(intents, String(textOf(item.json) ?? ''), detectOptOut), classifySchema(intents, detectOptOut), 'classification')));
		const out: INodeExecutionData[] = results.map((r, i) => ('error' in r ? errorItem(i, r.error) : { json: { ...items[i].json, classification: r.data as IDataObject, usage: { model: modelName, ...r.usage } }, pairedItem: { item: i } }));
		if (detectOptOut) await honourOptOuts(this, out, items, results.map((r) => ('error' in r ? undefined : (r.data as IDataObject).optOut === true)), textOf, modelName);
		return [out];
	}

	// reply
	const brief = String(this.getNodeParameter('systemBrief', 0));
	const idOf = compileFieldPath(this.getNodeParameter('contactIdField', 0) as string);
	const turns = Number(this.getNodeParameter('historyTurns', 0, 10));
	const store = await getStore(this);
	const ids: Array<string | undefined> = [];
	const failed = new Map<number, { message: string; description?: string | null }>();
	for (let i = 0; i < items.length; i++) {
		const id = idOf(items[i].json);
		if (id === undefined || id === null || id === '') {
			const e = new NodeOperationError(node, `No contact ID at "${this.getNodeParameter('contactIdField', 0)}"`, { itemIndex: i, description: 'Replies thread by contact: set Contact ID Field.' });
			if (!this.continueOnFail()) throw e;
			failed.set(i, e);
			ids.push(undefined);
		} else ids.push(String(id));
	}
	// One conversation per person: a merged id, or the id of another channel the person was
	// linked under, threads into the same history.
	const person = await personIdsOf(store, ids.filter((id): id is string => id !== undefined));
	ids.forEach((id, i) => {
		if (id !== undefined) ids[i] = person.get(id) ?? id;
	});
	const history = await store.getTurns(ids.filter((id): id is string => id !== undefined), turns);
	const schema = intents.length ? { ...REPLY_SCHEMA, properties: { ...REPLY_SCHEMA.properties, intent: { type: 'string', enum: [...intents, 'other'] } } } : REPLY_SCHEMA;
	// Items of one contact are answered in order; different contacts in parallel.
	const byContact = new Map<string, number[]>();
	ids.forEach((id, i) => {
		if (id !== undefined) byContact.set(id, [...(byContact.get(id) ?? []), i]);
	});
	const answers = new Array<{ data: IDataObject; usage: Usage } | undefined>(items.length);
	await mapLimit([...byContact.entries()], concurrency, async ([id, list]) => {
		const h = [...(history.get(id) ?? [])];
		for (const i of list) {
			const text = String(textOf(items[i].json) ?? '');
			const r = await perItem(i, async () => sample
				? { data: { ...sampleReply(), sample: true } as IDataObject, usage: { inputTokens: 0, outputTokens: 0, calls: 0 } }
				: complete(replyMessages(brief, h, text), schema, 'reply'));
			if ('error' in r) {
				failed.set(i, r.error);
				continue;
			}
			guardReply(r.data as IDataObject, brief);
			answers[i] = { data: r.data as IDataObject, usage: r.usage };
			// A sample reply is not part of the person's conversation.
			if (sample) continue;
			const now = Date.now();
			h.push({ role: 'user', text, at: now }, { role: 'assistant', text: String((r.data as IDataObject).reply ?? ''), at: now + 1 });
			await store.addTurns([{ contactId: id, role: 'user', text, at: now }, { contactId: id, role: 'assistant', text: String((r.data as IDataObject).reply ?? ''), at: now + 1 }]);
		}
	});
	return [items.map((_, i) => (failed.has(i) || !answers[i] ? errorItem(i, failed.get(i) ?? { message: 'No answer' }) : { json: { ...items[i].json, ai: answers[i]!.data, usage: { model: modelName, ...answers[i]!.usage } }, pairedItem: { item: i } }))];
}

/** Report AI Usage: what the models cost, by campaign, model and operation, from the store. */
async function usageReport(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const days = Number(this.getNodeParameter('usageSinceDays', 0, 30));
	const inputPrice = Number(this.getNodeParameter('inputPrice', 0, 0));
	const outputPrice = Number(this.getNodeParameter('outputPrice', 0, 0));
	const since = Date.now() - Math.max(0, days) * 86_400_000;
	const totals = await (await getStore(this)).aiUsageReport(since);
	const priced = inputPrice > 0 || outputPrice > 0;
	const paired = this.getInputData().map((_, i) => ({ item: i }));
	return [totals.map((t) => ({
		json: {
			...t,
			campaign: t.campaign || null,
			firstAt: new Date(t.firstAt).toISOString(),
			lastAt: new Date(t.lastAt).toISOString(),
			...(priced ? { estimatedCost: Math.round(t.inputTokens * inputPrice + t.outputTokens * outputPrice) / 1e6 } : {}),
		} as unknown as IDataObject,
		pairedItem: paired,
	}))];
}

/**
 * Withdraws consent for every item the model found asking to stop getting messages. An opt-out
 * that cannot be recorded (no contact id or channel on the item) is that item's error: never lost
 * silently.
 */
async function honourOptOuts(ctx: IExecuteFunctions, out: INodeExecutionData[], items: INodeExecutionData[], optedOut: Array<boolean | undefined>, textOf: (json: IDataObject) => unknown, model: string): Promise<void> {
	const node = ctx.getNode();
	const idPath = ctx.getNodeParameter('optOutContactIdField', 0, 'contactId') as string;
	const channelPath = ctx.getNodeParameter('optOutChannelField', 0, 'channel') as string;
	const idOf = compileFieldPath(idPath);
	const channelOf = compileFieldPath(channelPath);
	const purposes = String(ctx.getNodeParameter('optOutPurposes', 0, 'marketing, service')).split(',').map((p) => p.trim()).filter(Boolean);
	const found: Array<{ i: number; contactId: string; channel: Channel; text: string }> = [];
	optedOut.forEach((yes, i) => {
		if (!yes) return;
		const id = idOf(items[i].json);
		const channel = String(channelOf(items[i].json) ?? '');
		if (id === undefined || id === null || id === '' || !isChannel(channel)) {
			const e = new NodeOperationError(node, `The message asks to stop getting messages, but the item has no contact ID at "${idPath}" or no channel at "${channelPath}" (found "${channel}")`, { itemIndex: i, description: 'Nothing was recorded: set Contact ID Field and Channel Field, or record the withdrawal with Consent Guard > Record Consent.' });
			if (!ctx.continueOnFail()) throw e;
			out[i] = { json: { ...out[i].json, error: e.message, description: e.description }, pairedItem: { item: i } };
			return;
		}
		found.push({ i, contactId: String(id), channel: channel as Channel, text: String(textOf(items[i].json) ?? '') });
	});
	if (!found.length) return;
	const store = await getStore(ctx);
	const person = await personIdsOf(store, found.map((f) => f.contactId));
	await recordFreeTextOptOuts(store, found.map((f) => ({ ...f, contactId: person.get(f.contactId) ?? f.contactId, purposes, model })));
	for (const f of found) out[f.i].json.optOut = { withdrawn: true, contactId: person.get(f.contactId) ?? f.contactId, channel: f.channel, purposes };
}
