/**
 * JSON answers from any chat model. An OpenAI-compatible server takes a JSON Schema as a
 * structured-output constraint; a Chat Model sub-node (Anthropic, Gemini, Ollama...) may not, so
 * there the schema goes into the instructions and the answer is read leniently (a code fence or
 * prose around the object is taken off). What it holds is checked afterwards as on both paths.
 */

/** What this package needs of a Chat Model sub-node's model (a LangChain chat model). */
export interface ChatModel {
	invoke(messages: Array<{ role: string; content: string }>): Promise<{
		content: unknown;
		usage_metadata?: { input_tokens?: number; output_tokens?: number };
	}>;
	_llmType?(): string;
	model?: string;
	modelName?: string;
}

/** A Chat Model as the cache and the usage report name it: its type and model. */
export function chatModelName(m: ChatModel): string {
	return `${m._llmType?.() ?? 'chat-model'}:${m.model ?? m.modelName ?? ''}`;
}

/** The system instruction that asks for the schema, appended to the first system message. */
export function jsonInstruction(schema: Record<string, unknown>): string {
	return `Answer with one JSON object and nothing else (no prose, no code fence). It must match this JSON Schema: ${JSON.stringify(schema)}`;
}

/** The JSON object in a model's text answer; throws an Error quoting the start of the text when there is none. */
export function jsonFromAnswer(text: string): unknown {
	const t = text
		.trim()
		.replace(/^```(?:json)?\s*/i, '')
		.replace(/\s*```$/, '')
		.trim();
	try {
		return JSON.parse(t);
	} catch {
		const a = t.indexOf('{');
		const b = t.lastIndexOf('}');
		if (a >= 0 && b > a) {
			try {
				return JSON.parse(t.slice(a, b + 1));
			} catch {
				// fall through to the error below
			}
		}
		throw new Error(`The model did not answer with JSON: ${JSON.stringify(t.slice(0, 200))}`);
	}
}

/** A chat model's text: a string, or LangChain's list of content parts. */
export function answerText(content: unknown): string {
	if (typeof content === 'string') return content;
	if (Array.isArray(content))
		return content
			.map((p) =>
				typeof p === 'string'
					? p
					: typeof (p as { text?: unknown })?.text === 'string'
						? (p as { text: string }).text
						: '',
			)
			.join('');
	return '';
}
