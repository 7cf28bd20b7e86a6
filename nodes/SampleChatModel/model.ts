/**
 * The Sample Chat Model as LangChain's agents call a chat model: bindTools, then one answer per
 * call, a tool call or text, from the script (shared/ai/script.ts). Its messages are read by
 * their type and content only, so a conversation built with n8n's own copy of LangChain reads
 * the same.
 */
import { BaseChatModel } from '@langchain/core/language_models/chat_models';
import { AIMessage, type BaseMessage } from '@langchain/core/messages';
import type { ChatResult } from '@langchain/core/outputs';

import { nextStep, type ScriptTurn } from '../shared/ai/script';

type Typed = BaseMessage & { type?: string; _getType?: () => string };
const typeOf = (m: Typed) => m.type ?? m._getType?.() ?? '';
const textOf = (m: BaseMessage) =>
	typeof m.content === 'string' ? m.content : JSON.stringify(m.content);

/** A bound tool's name, whether LangChain's tool or OpenAI's { function: { name } }. */
const toolName = (t: unknown) =>
	String(
		(t as { name?: string }).name ?? (t as { function?: { name?: string } }).function?.name ?? '',
	);

export class ScriptedChatModel extends BaseChatModel {
	private calls = 0;

	constructor(
		private readonly turns: ScriptTurn[],
		private readonly fallback: string,
		private readonly tools: string[] = [],
	) {
		super({});
	}

	_llmType(): string {
		return 'sample-scripted';
	}

	// LangChain's own signature (tools of any shape); the script needs only their names.
	// eslint-disable-next-line @typescript-eslint/no-explicit-any
	bindTools(tools: any[]): any {
		return new ScriptedChatModel(this.turns, this.fallback, tools.map(toolName).filter(Boolean));
	}

	async _generate(messages: BaseMessage[]): Promise<ChatResult> {
		const all = messages as Typed[];
		let last = -1;
		all.forEach((m, i) => {
			if (typeOf(m) === 'human') last = i;
		});
		const step = nextStep(
			this.turns,
			this.fallback,
			{
				lastHuman: last >= 0 ? textOf(all[last]) : '',
				toolResults: all
					.slice(last + 1)
					.filter((m) => typeOf(m) === 'tool')
					.map(textOf),
			},
			this.tools,
		);
		const message =
			step.kind === 'call'
				? new AIMessage({
						content: '',
						tool_calls: [
							{ name: step.tool, args: step.args, id: `sample_${++this.calls}`, type: 'tool_call' },
						],
					})
				: new AIMessage({ content: step.text });
		return { generations: [{ text: step.kind === 'answer' ? step.text : '', message }] };
	}
}
