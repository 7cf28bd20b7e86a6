/**
 * A scripted conversation for trying an AI Agent without an AI account (the Sample Chat Model):
 * each turn says which message it answers, which tool it calls with what, and what it answers
 * after the tool, or after a tool that refused or blocked. Pure: the model adapter asks it for the
 * next step given the conversation so far.
 */
export interface ScriptTurn {
	/** Words the person's message contains (any case); empty matches any message. */
	whenContains: string;
	/** The tool to call (its name as the agent lists it, or the node's name); empty: answer at once. */
	tool: string;
	args: Record<string, unknown>;
	answer: string;
	/** The answer when the tool refused, blocked or did not send. Empty: the answer. */
	answerIfRefused: string;
}

export type ScriptStep =
	| { kind: 'call'; tool: string; args: Record<string, unknown> }
	| { kind: 'answer'; text: string };

export const SAMPLE_ANSWER_LABEL = '[Sample]';

const norm = (s: string) => s.toLowerCase().replace(/[^a-z0-9]/g, '');

/** A tool's answer that means nothing happened for the person: refused, blocked, not sent. */
const REFUSED = /"status"\s*:\s*"(refused|not_sent)"|"blocked"|refused|not allowed/i;

/**
 * The next step: the turn for the person's latest message; a call to its tool when no tool has
 * answered since that message, else the answer (the refusal answer when a tool refused).
 */
export function nextStep(
	turns: ScriptTurn[],
	fallback: string,
	conversation: { lastHuman: string; toolResults: string[] },
	tools: string[],
): ScriptStep {
	const text = conversation.lastHuman.toLowerCase();
	const turn = turns.find(
		(t) => !t.whenContains.trim() || text.includes(t.whenContains.trim().toLowerCase()),
	);
	if (!turn) return { kind: 'answer', text: `${SAMPLE_ANSWER_LABEL} ${fallback}` };
	const tool = turn.tool.trim() ? tools.find((name) => norm(name) === norm(turn.tool)) : undefined;
	if (turn.tool.trim() && !tool)
		return {
			kind: 'answer',
			text: `${SAMPLE_ANSWER_LABEL} (No tool named "${turn.tool}" is connected; the agent has ${tools.join(', ') || 'none'}.)`,
		};
	if (tool && conversation.toolResults.length === 0) return { kind: 'call', tool, args: turn.args };
	const refused = conversation.toolResults.some((r) => REFUSED.test(r));
	const answer = refused && turn.answerIfRefused.trim() ? turn.answerIfRefused : turn.answer;
	return { kind: 'answer', text: `${SAMPLE_ANSWER_LABEL} ${answer.trim()}` };
}
