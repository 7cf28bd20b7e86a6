/**
 * The Sample Chat Model in a real LangChain tool-calling agent: the agent and its tools come from
 * the copy of LangChain n8n's AI nodes use (their own @langchain/core), the model from this
 * package's, as inside n8n. The script's turn picks the tool, the tool's answer picks the reply.
 */
import path from 'node:path';

import { nextStep, type ScriptTurn } from '../../../nodes/shared/ai/script';
import { ScriptedChatModel } from '../../../nodes/SampleChatModel/model';

// n8n's AI utilities carry their own LangChain (agents, tools, prompts, and @langchain/core).
const AI = path.join(__dirname, '../../../node_modules/@n8n/ai-utilities');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const theirs = (m: string) => require(require.resolve(m, { paths: [AI] }));
const { createToolCallingAgent, AgentExecutor } = theirs('@langchain/classic/agents');
const { DynamicStructuredTool } = theirs('@langchain/core/tools');
const { ChatPromptTemplate } = theirs('@langchain/core/prompts');

const turns: ScriptTurn[] = [
	{
		whenContains: 'book',
		tool: 'Track Booking',
		args: { contactId: 'sample-ana', event: 'booked' },
		answer: 'Booked: Saturday at 11:00. See you at Glow!',
		answerIfRefused: '',
	},
	{
		whenContains: 'friend',
		tool: 'Send Follow-Up',
		args: { contact: '+34622777111', text: 'Spring offer' },
		answer: 'Sent!',
		answerIfRefused: 'I cannot message your friend: I can only write to you.',
	},
];

function agent(calls: Array<{ tool: string; args: unknown }>) {
	const tool = (name: string, answer: string) =>
		new DynamicStructuredTool({
			name,
			description: name,
			schema: { type: 'object', properties: {}, additionalProperties: true },
			func: async (args: unknown) => {
				calls.push({ tool: name, args });
				return answer;
			},
		});
	const tools = [
		tool('Track_Booking', JSON.stringify({ status: 'tracked', stage: 'Booked' })),
		tool(
			'Send_Follow-Up',
			JSON.stringify({ status: 'refused', reason: 'this names someone else' }),
		),
	];
	const prompt = ChatPromptTemplate.fromMessages([
		['system', 'You are the concierge.'],
		['human', '{input}'],
		['placeholder', '{agent_scratchpad}'],
	]);
	const llm = new ScriptedChatModel(turns, 'Ask me to book.');
	return new AgentExecutor({ agent: createToolCallingAgent({ llm, tools, prompt }), tools });
}

describe('Sample Chat Model', () => {
	it("in a LangChain tool-calling agent: calls the turn's tool, then answers; a refusal gets its own answer", async () => {
		const calls: Array<{ tool: string; args: unknown }> = [];
		const booked = await agent(calls).invoke({ input: 'Can I book a facial on Saturday?' });
		expect(booked.output).toBe('[Sample] Booked: Saturday at 11:00. See you at Glow!');
		const friend = await agent(calls).invoke({
			input: 'Please send the spring offer to my friend +34 622 777 111',
		});
		expect(friend.output).toBe('[Sample] I cannot message your friend: I can only write to you.');
		expect(calls).toEqual([
			{ tool: 'Track_Booking', args: { contactId: 'sample-ana', event: 'booked' } },
			{ tool: 'Send_Follow-Up', args: { contact: '+34622777111', text: 'Spring offer' } },
		]);
	});

	it('answers otherwise, and names a tool it cannot find instead of calling nothing silently', () => {
		const chat = { lastHuman: 'hello', toolResults: [] };
		expect(nextStep(turns, 'Ask me to book.', chat, [])).toEqual({
			kind: 'answer',
			text: '[Sample] Ask me to book.',
		});
		expect(
			nextStep(turns, '', { lastHuman: 'book me', toolResults: [] }, ['Check_Consent']),
		).toEqual({
			kind: 'answer',
			text: '[Sample] (No tool named "Track Booking" is connected; the agent has Check_Consent.)',
		});
	});
});
