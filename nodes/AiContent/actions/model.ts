/**
 * The model an AI Content run talks to, set up once per run: a connected Chat Model sub-node, the
 * OpenAI-compatible credential's client, or Sample Copy (no model); `complete` asks for one JSON
 * answer and counts its usage on the run's meter.
 */
import OpenAI from 'openai';
import type { IDataObject, IExecuteFunctions, INodeExecutionData, INode } from 'n8n-workflow';
import { NodeApiError, NodeConnectionTypes, NodeOperationError } from 'n8n-workflow';

import {
	answerText,
	chatModelName,
	jsonFromAnswer,
	jsonInstruction,
	type ChatModel,
} from '../../shared/ai/model-json';
import type { SampleWriting } from '../../shared/ai/sample';
import { AI_DEADLINE_MS } from '../../shared/deadline';
import { runParameter } from '../../shared/n8n/params';

export type Msg = { role: 'system' | 'user' | 'assistant'; content: string };
export interface Usage {
	inputTokens: number;
	outputTokens: number;
	calls: number;
}

export interface Meter {
	usage: Usage;
	cacheHits: number;
	model: string;
	sample: boolean;
}

export interface ModelRun {
	items: INodeExecutionData[];
	node: INode;
	operation: string;
	model: string;
	modelName: string;
	options: IDataObject;
	sample: boolean;
	/** What Sample Copy writes, when the workflow's author wrote it (one for the whole run). */
	sampleWriting: SampleWriting;
	concurrency: number;
	usage: Usage;
	meter: Meter;
	complete(
		messages: Msg[],
		schema: Record<string, unknown>,
		name: string,
	): Promise<{ data: unknown; usage: Usage }>;
}

export async function modelRun(this: IExecuteFunctions, meter: Meter): Promise<ModelRun> {
	const items = this.getInputData();
	const node = this.getNode();
	const operation = this.getNodeParameter('operation', 0) as string;
	const model = this.getNodeParameter('model', 0) as string;
	const options = this.getNodeParameter('options', 0, {}) as IDataObject;
	// Sample Copy: read once per run (an expression such as {{ $('Try It').isExecuted }} decides
	// for the whole run); no credential, no model call, no cache.
	const sample = options.sampleCopy === true;
	// A connected Chat Model sub-node is used instead of the credential (none in tool mode).
	const connected = sample
		? undefined
		: await this.getInputConnectionData(NodeConnectionTypes.AiLanguageModel, 0);
	const chatModel = (Array.isArray(connected) ? connected[0] : connected) as ChatModel | undefined;
	if (!sample && !chatModel && !node.credentials?.openAiCompatibleApi) {
		throw new NodeOperationError(node, 'No OpenAI-Compatible API credential selected', {
			description:
				'Connect a Chat Model sub-node, or choose or create the credential on the node (any OpenAI-compatible server: its base URL and key), or turn on Sample Copy (Options) to try the workflow without a model.',
		});
	}
	const credentials: IDataObject =
		sample || chatModel ? {} : await this.getCredentials('openAiCompatibleApi');
	// Always explicit: never from the environment.
	const client =
		sample || chatModel
			? undefined
			: new OpenAI({
					apiKey: String(credentials.apiKey),
					baseURL: String(credentials.baseUrl || 'https://api.openai.com/v1'),
					organization: credentials.organization ? String(credentials.organization) : null,
					project: null,
					maxRetries: Number(options.maxRetries ?? 3),
					// A deadline that ends the request (the client's default is 10 minutes): a model that never answers cannot hold the run.
					timeout: AI_DEADLINE_MS,
				});
	const redact = redactor(String(credentials.apiKey ?? ''));
	const concurrency = Math.max(1, Number(options.concurrency ?? 4));
	const usage = meter.usage;
	meter.sample = sample;

	// The model's name as the cache and the usage report know it.
	const modelName = chatModel ? chatModelName(chatModel) : model;
	meter.model = modelName;
	const complete = async (
		messages: Msg[],
		schema: Record<string, unknown>,
		name: string,
	): Promise<{ data: unknown; usage: Usage }> => {
		if (sample) throw new NodeOperationError(node, 'No model is called with Sample Copy on');
		if (chatModel) return await completeWithChatModel(node, chatModel, usage, messages, schema);
		return await completeWithApi(node, client!, model, redact, usage, messages, schema, name);
	};
	return {
		items,
		node,
		operation,
		model,
		modelName,
		options,
		sample,
		sampleWriting: sample ? readSampleWriting(this) : { text: '', title: '' },
		concurrency,
		usage,
		meter,
		complete,
	};
}

/**
 * Sample Text and Sample Title or Subject, one for the run: a sample is written once per segment
 * like real copy; what differs per person goes in placeholders such as {{firstName}}.
 */
function readSampleWriting(fn: IExecuteFunctions): SampleWriting {
	const read = (field: string, label: string) =>
		String(runParameter(fn, `options.${field}`, '', label) ?? '');
	return {
		text: read('sampleText', 'Sample Text'),
		title: read('sampleTitle', 'Sample Title or Subject'),
	};
}

/** Masks the API key in text: whole, and a recognisable part of it. */
function redactor(apiKey: string): (text: string) => string {
	return (text: string) => {
		let out = apiKey.length >= 8 ? text.split(apiKey).join('***') : text;
		// Also a recognisable part of it (servers often show the first and last characters).
		if (apiKey.length >= 16)
			for (const part of [apiKey.slice(0, 12), apiKey.slice(-12)])
				out = out.split(part).join('***');
		return out;
	};
}

/** A connected Chat Model sub-node, asked for JSON by instruction (it has no response format). */
async function completeWithChatModel(
	node: INode,
	chatModel: ChatModel,
	usage: Usage,
	messages: Msg[],
	schema: Record<string, unknown>,
): Promise<{ data: unknown; usage: Usage }> {
	const [first, ...rest] = messages;
	const prompt: Msg[] =
		first?.role === 'system'
			? [{ role: 'system', content: `${first.content}\n\n${jsonInstruction(schema)}` }, ...rest]
			: [{ role: 'system', content: jsonInstruction(schema) }, ...messages];
	let res: Awaited<ReturnType<ChatModel['invoke']>>;
	try {
		res = await chatModel.invoke(prompt);
	} catch (error) {
		const e = error as { status?: number; message?: string };
		throw new NodeApiError(
			node,
			{ message: e.message ?? String(error) },
			{
				httpCode: e.status ? String(e.status) : undefined,
				message: `The Chat Model failed${e.status ? ` (${e.status})` : ''}: ${e.message ?? String(error)}`,
				description: 'Check the Chat Model sub-node: its credential and model name.',
			},
		);
	}
	const u = counted(usage, res.usage_metadata?.input_tokens, res.usage_metadata?.output_tokens);
	try {
		return { data: jsonFromAnswer(answerText(res.content)), usage: u };
	} catch (error) {
		throw new NodeOperationError(node, (error as Error).message, {
			description: 'Choose a model that follows instructions, or lower its temperature.',
		});
	}
}

/** One call's tokens, added to the run's usage. */
function counted(usage: Usage, input = 0, output = 0): Usage {
	usage.inputTokens += input;
	usage.outputTokens += output;
	usage.calls++;
	return { inputTokens: input, outputTokens: output, calls: 1 };
}

/** The OpenAI-compatible API with a JSON schema response format; the key never in an error. */
async function completeWithApi(
	node: INode,
	client: OpenAI,
	model: string,
	redact: (text: string) => string,
	usage: Usage,
	messages: Msg[],
	schema: Record<string, unknown>,
	name: string,
): Promise<{ data: unknown; usage: Usage }> {
	try {
		const res = await client.chat.completions.create({
			model,
			messages,
			response_format: { type: 'json_schema', json_schema: { name, schema, strict: true } },
		});
		const u = counted(usage, res.usage?.prompt_tokens, res.usage?.completion_tokens);
		const content = res.choices[0]?.message?.content ?? '';
		try {
			return { data: JSON.parse(content), usage: u };
		} catch {
			throw new NodeOperationError(node, 'The model did not answer with JSON', {
				description: `It answered: ${content.slice(0, 200)}`,
			});
		}
	} catch (error) {
		if (error instanceof NodeOperationError)
			throw new NodeOperationError(node, error.message, {
				description: error.description ?? undefined,
			});
		const e = error as { status?: number; message?: string };
		// A compatible server may echo the key (whole or in part, several times): every
		// occurrence is masked, in the message and in the response kept on the error.
		const raw = redact(e.message ?? String(error));
		throw new NodeApiError(
			node,
			{ message: raw },
			{
				httpCode: e.status ? String(e.status) : undefined,
				message: `The model API failed${e.status ? ` (${e.status})` : ''}: ${raw}`,
				description:
					'Check the OpenAI-Compatible API credential (key, base URL) and the model name.',
			},
		);
	}
}
