/**
 * OpenAI's chat completions, responses and models endpoints with OpenAI's body shapes and usage.
 * A test sets `responder` to decide what the model "says" (a string, or an object that is
 * serialised as the JSON content when the request asked for a JSON-schema structured output).
 */
import { randomBytes } from 'node:crypto';

import { MockServer, bearer, type MockResponse, type RecordedRequest } from './base';

export type Responder = (
	request: any,
	kind: 'chat' | 'responses',
) => string | object | Promise<string | object>;

/** A chat answer that calls tools (as a model choosing functions does): `{ toolCalls: [{ name, arguments }] }`. */
export interface ToolCallsAnswer {
	toolCalls: Array<{ name: string; arguments: Record<string, unknown> }>;
}
const isToolCalls = (a: unknown): a is ToolCallsAnswer =>
	!!a && typeof a === 'object' && Array.isArray((a as ToolCallsAnswer).toolCalls);

const tokens = (text: string) => Math.max(1, Math.ceil(text.length / 4));

export class OpenAIMock extends MockServer {
	apiKey = 'sk-test-openai';
	responder: Responder = (req, kind) => {
		const last = kind === 'chat' ? req.messages?.[req.messages.length - 1]?.content : req.input;
		return `echo: ${typeof last === 'string' ? last : JSON.stringify(last)}`;
	};
	/** JSON schemas received, in order. */
	readonly schemas: unknown[] = [];

	constructor() {
		super();
		this.route(
			'GET',
			'/v1/models',
			(req) =>
				this.ok(req) ?? {
					status: 200,
					body: {
						object: 'list',
						data: [{ id: 'gpt-4o-mini', object: 'model', created: 1721172741, owned_by: 'system' }],
					},
				},
		);
		this.route(
			'POST',
			'/v1/chat/completions',
			async (req) => this.ok(req) ?? (await this.chat(req)),
		);
		this.route('POST', '/v1/responses', async (req) => this.ok(req) ?? (await this.responses(req)));
	}

	protected rateLimitResponse(): MockResponse {
		return {
			status: 429,
			body: {
				error: {
					message: 'Rate limit reached for requests. Please try again in 1s.',
					type: 'requests',
					param: null,
					code: 'rate_limit_exceeded',
				},
			},
		};
	}

	private ok(req: RecordedRequest): MockResponse | undefined {
		if (bearer(req) === this.apiKey) return undefined;
		return {
			status: 401,
			body: {
				error: {
					message: 'Incorrect API key provided.',
					type: 'invalid_request_error',
					param: null,
					code: 'invalid_api_key',
				},
			},
		};
	}

	private async content(req: RecordedRequest, kind: 'chat' | 'responses', schema: unknown) {
		if (schema) this.schemas.push(schema);
		const answer = await this.responder(req.body, kind);
		return typeof answer === 'string' ? answer : JSON.stringify(answer);
	}

	private promptText(req: RecordedRequest): string {
		return JSON.stringify(req.body?.messages ?? req.body?.input ?? '');
	}

	private async chat(req: RecordedRequest): Promise<MockResponse> {
		const rf = req.body?.response_format;
		const schema = rf?.type === 'json_schema' ? rf.json_schema?.schema : undefined;
		if (schema) this.schemas.push(schema);
		const answer = await this.responder(req.body, 'chat');
		// OpenAI's function calling: the assistant message carries tool_calls, finish_reason tool_calls.
		const calls = isToolCalls(answer)
			? answer.toolCalls.map((c) => ({
					id: `call_${randomBytes(9).toString('hex')}`,
					type: 'function',
					function: { name: c.name, arguments: JSON.stringify(c.arguments) },
				}))
			: undefined;
		const text = calls ? null : typeof answer === 'string' ? answer : JSON.stringify(answer);
		const prompt = tokens(this.promptText(req));
		const completion = tokens(calls ? JSON.stringify(calls) : text!);
		return {
			status: 200,
			body: {
				id: `chatcmpl-${randomBytes(12).toString('hex')}`,
				object: 'chat.completion',
				created: Math.floor(Date.now() / 1000),
				model: req.body?.model ?? 'gpt-4o-mini',
				choices: [
					{
						index: 0,
						message: {
							role: 'assistant',
							content: text,
							...(calls ? { tool_calls: calls } : {}),
							refusal: null,
						},
						logprobs: null,
						finish_reason: calls ? 'tool_calls' : 'stop',
					},
				],
				usage: {
					prompt_tokens: prompt,
					completion_tokens: completion,
					total_tokens: prompt + completion,
				},
			},
		};
	}

	private async responses(req: RecordedRequest): Promise<MockResponse> {
		const format = req.body?.text?.format;
		const schema = format?.type === 'json_schema' ? format.schema : undefined;
		const text = await this.content(req, 'responses', schema);
		const input = tokens(this.promptText(req));
		const output = tokens(text);
		const id = `resp_${randomBytes(12).toString('hex')}`;
		return {
			status: 200,
			body: {
				id,
				object: 'response',
				created_at: Math.floor(Date.now() / 1000),
				status: 'completed',
				model: req.body?.model ?? 'gpt-4o-mini',
				output: [
					{
						type: 'message',
						id: `msg_${randomBytes(12).toString('hex')}`,
						status: 'completed',
						role: 'assistant',
						content: [{ type: 'output_text', text, annotations: [] }],
					},
				],
				usage: { input_tokens: input, output_tokens: output, total_tokens: input + output },
			},
		};
	}
}
