/**
 * Understand Free Text: an answer the form cannot read as typed is read by the connected Chat
 * Model (only with the option on, and then a model is needed); what it cost is counted.
 */
import { NodeConnectionTypes, NodeOperationError, type IExecuteFunctions } from 'n8n-workflow';

import {
	answerText,
	chatModelName,
	jsonFromAnswer,
	jsonInstruction,
	type ChatModel,
} from '../../shared/ai/model-json';
import { EXTRACTION_SCHEMA, extractionMessages, type Question } from '../../shared/form/form';

type Usage = { calls: number; inputTokens: number; outputTokens: number };

export interface Reader {
	/** The model's reading of the person's words for the question (null when it found none). */
	extract(q: Question, text: string): Promise<{ value: string | null; usage: Usage }>;
	spent: Usage;
	/** The model as AI usage names it. */
	modelName(): string;
}

export async function connectReader(
	fn: IExecuteFunctions,
	zone: string,
	now: number,
): Promise<Reader | undefined> {
	if (fn.getNodeParameter('understandFreeText', 0, false) !== true) return undefined;
	const connected = await fn.getInputConnectionData(NodeConnectionTypes.AiLanguageModel, 0);
	const model = (Array.isArray(connected) ? connected[0] : connected) as ChatModel | undefined;
	if (!model) {
		throw new NodeOperationError(
			fn.getNode(),
			'Understand Free Text is on but no Chat Model is connected',
			{
				description:
					"Connect a Chat Model sub-node (OpenAI, Anthropic, Gemini, Ollama...) to the node's Chat Model input, or turn the option off.",
			},
		);
	}
	const spent: Usage = { calls: 0, inputTokens: 0, outputTokens: 0 };
	return {
		spent,
		modelName: () => chatModelName(model),
		extract: async (q, text) => {
			const [system, user] = extractionMessages(q, text, { zone, now });
			const res = await model.invoke([
				{
					role: 'system',
					content: `${system.content}\n\n${jsonInstruction(EXTRACTION_SCHEMA as unknown as Record<string, unknown>)}`,
				},
				user,
			]);
			const usage = {
				calls: 1,
				inputTokens: res.usage_metadata?.input_tokens ?? 0,
				outputTokens: res.usage_metadata?.output_tokens ?? 0,
			};
			spent.calls++;
			spent.inputTokens += usage.inputTokens;
			spent.outputTokens += usage.outputTokens;
			try {
				const data = jsonFromAnswer(answerText(res.content)) as { value?: unknown };
				return {
					value: typeof data?.value === 'string' && data.value.trim() ? data.value.trim() : null,
					usage,
				};
			} catch {
				// An answer the model could not put in the format is asked again, as a typed one would be.
				return { value: null, usage };
			}
		},
	};
}
