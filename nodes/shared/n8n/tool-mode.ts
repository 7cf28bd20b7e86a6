/**
 * The nodes as AI Agent tools (`usableAsTool`). n8n runs a tool node with one item holding the
 * agent's arguments (the `$fromAI` keys) and hands the agent the items of output 0 only
 * (n8n-core get-input-connection-data, mapResult): a Blocked or Not Sent item would reach the agent
 * as an empty list, "nothing happened". So in tool mode every output comes back on output 0, one
 * result per item, saying which output it was and, for the gate and the sender, the status and
 * the reason in words a model reads.
 *
 * Parameters shown only to the tool variant (`@tool`) carry `$fromAI` defaults, which is how n8n
 * builds the tool's argument schema: the contact (an ID, a phone or an email) and the text.
 */
import type {
	IDataObject,
	IExecuteFunctions,
	INodeExecutionData,
	INodeProperties,
} from 'n8n-workflow';

/** Whether this run is an AI Agent calling the node as a tool (n8n names the tool variant `<name>Tool`). */
export function isToolCall(ctx: Pick<IExecuteFunctions, 'getNode'>): boolean {
	return ctx.getNode().type.endsWith('Tool');
}

export const TOOL_ONLY = { show: { '@tool': [true] } };

/** Who the tool acts for, filled by the agent: read into `contact` (see compileContactReader). */
export const toolContactProperty: INodeProperties = {
	displayName: 'Contact',
	name: 'toolContact',
	type: 'string',
	default:
		"={{ $fromAI('contact', 'Who this is for: their contact ID (for example crm-77), their phone number in international format (+34600111222) or their email address', 'string') }}",
	description:
		'Filled by the agent: a contact ID, an E.164 phone number or an email address. With Contact Fields at their defaults, the node reads it as the contact.',
	displayOptions: TOOL_ONLY,
};

/**
 * The outputs as an agent should get them: every item on output 0 as `{ outcome, ...summary, ...json }`,
 * where outcome is the output's name (the summary wins over a key of the same name). No item at all is said, not left empty.
 */
export function asToolResult(
	outputs: INodeExecutionData[][],
	names: string[],
	summarize: (output: number, json: IDataObject) => IDataObject = () => ({}),
): INodeExecutionData[][] {
	const results = outputs.flatMap((items, k) =>
		items.map((item) => ({
			json: { outcome: names[k] ?? `Output ${k + 1}`, ...item.json, ...summarize(k, item.json) },
			pairedItem: item.pairedItem,
		})),
	);
	return [
		results.length
			? results
			: [
					{
						json: { outcome: 'Nothing', message: 'The tool received no item, so it did nothing.' },
					},
				],
	];
}

/** Consent Guard Check's result for a model: allowed, or blocked with the reason and when to retry. */
export function checkSummary(output: number, json: IDataObject): IDataObject {
	if (output === 0)
		return {
			status: 'allowed',
			message:
				'Allowed: consent, suppression, caps, quiet hours and the service window were checked. The message may be sent now.',
		};
	const b = (json.blocked ?? {}) as IDataObject;
	return {
		status: 'blocked',
		reason: b.reason ?? (json.error ? 'ERROR' : 'BLOCKED'),
		message: `Blocked: ${String(b.message ?? json.error ?? 'not allowed').replace(/\.$/, '')}. Do not send this message.`,
		retryAt: b.retryAt ?? null,
	};
}

/** Touchpoint's result for a model: sent, or not sent with the reason. */
export function sendSummary(output: number, json: IDataObject): IDataObject {
	const t = (json.touchpoint ?? {}) as IDataObject;
	if (output === 0)
		return {
			status: 'sent',
			channel: t.channel ?? null,
			message: t.deduplicated
				? 'Already sent earlier: not sent again.'
				: `Sent on ${String(t.channel ?? 'the channel')}.`,
		};
	if (output === 2)
		return {
			status: 'dry_run',
			channel: t.channel ?? null,
			message: 'Previewed only (Dry Run): nothing was sent.',
		};
	return {
		status: 'not_sent',
		reason: t.reason ?? (json.error ? 'ERROR' : 'NOT_SENT'),
		message: `Not sent: ${String(t.message ?? json.error ?? 'refused')}`,
		retryAt: t.retryAt ?? null,
	};
}

/** The node's outputs as they are, or, when an agent called it as a tool, as one list of results. */
export function toolAware(
	ctx: Pick<IExecuteFunctions, 'getNode'>,
	outputs: INodeExecutionData[][],
	names: string[],
	summarize?: (output: number, json: IDataObject) => IDataObject,
): INodeExecutionData[][] {
	return isToolCall(ctx) ? asToolResult(outputs, names, summarize) : outputs;
}
