import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { adopt, failClosed } from '../../shared/n8n/fail-closed';
import { parameterReader } from '../../shared/n8n/params';
import { getStore } from '../../shared/n8n/store';
import { checkSummary, isToolCall, toolAware } from '../../shared/n8n/tool-mode';
import { conversationRefusal } from '../../shared/n8n/tool-scope';
import * as check from './consent/check.operation';
import * as contactData from './contact/contact-data.operation';
import * as contacts from './contact/contacts.operation';
import * as record from './consent/record.operation';
import * as sends from './consent/sends.operation';
import * as suppression from './suppression/add-remove.operation';

export async function router(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const items = this.getInputData();
	const operation = this.getNodeParameter('operation', 0) as string;
	// Check's output 0 is Allowed: no error may reach n8n's "continue" path, which copies the
	// input there. Errors put every item on Blocked (or on the one output of the other operations).
	const outputs: INodeExecutionData[][] = operation === 'check' ? [[], []] : [[]];
	// An AI agent may withdraw consent (the person asked to stop) but never grant or request it:
	// consent is the person's own act, through a form, a keyword or a double opt-in, not a model's reading.
	// Nor may it do what would let a message reach someone the policy now keeps it from.
	const refused: INodeExecutionData[] = [];
	let work = items;
	const toolRefusal = isToolCall(this) ? TOOL_REFUSED[operation] : undefined;
	if (toolRefusal) {
		return [
			items.map((item, i) => ({
				json: {
					...item.json,
					outcome: 'Refused',
					status: 'refused',
					message: `${toolRefusal} Nothing was changed.`,
				},
				pairedItem: { item: i },
			})),
		];
	}
	// As a tool, the node reads and acts only for the person of the conversation (tool-scope.ts).
	if (CONVERSATION_SCOPED.includes(operation)) {
		const outside = await conversationRefusal(
			this,
			async () => await getStore(this),
			'toolContact',
		);
		if (outside) return outside;
	}
	if (operation === 'recordConsent' && isToolCall(this)) {
		const actionOf = parameterReader<string>(this, 'consentAction', 'grant');
		work = items.filter((item, i) => {
			const action = String(actionOf(i) ?? '').trim();
			if (action === 'withdraw') return true;
			refused.push({
				json: {
					...item.json,
					status: 'refused',
					message: `An AI agent cannot ${action || 'grant'} consent: only the person can give it (a form, a keyword, a double opt-in). Nothing was recorded. Set this tool's Action to Withdraw to let the agent record opt-outs.`,
				},
				pairedItem: { item: i },
			});
			return false;
		});
	}
	const result = await failClosed(this, outputs, outputs.length - 1, async () => {
		adopt(outputs, work.length ? await route.call(this, operation, work) : outputs);
	});
	if (refused.length) result[0] = [...refused, ...result[0]];
	return toolAware(
		this,
		result,
		operation === 'check' ? ['Allowed', 'Blocked'] : [operationName(operation)],
		operation === 'check' ? checkSummary : undefined,
	);
}

/** Operations an AI agent may use as a tool, about the person it talks with only. */
const CONVERSATION_SCOPED = ['check', 'recordConsent', 'getContact', 'findContact'];

/** Operations an AI agent is never given as a tool, and why (said to the agent). */
const TOOL_REFUSED: Record<string, string> = {
	removeSuppression:
		'An AI agent cannot take an address off the suppression list: a person asks for that themselves, and a person decides it.',
	confirmConsent:
		'An AI agent cannot confirm a double opt-in: only the person does, with the link they were sent.',
	linkAddress:
		"An AI agent cannot link addresses to a contact: an address someone types in a chat may be another person's, and linked addresses receive messages.",
	mergeContacts:
		"An AI agent cannot merge contacts: two people merged by mistake would get each other's messages.",
	upsertContact:
		"An AI agent cannot create or change contacts and their addresses: an address someone types in a chat may be another person's.",
	eraseContact:
		"An AI agent cannot erase a person: erasure cannot be undone, and the ID an agent names may be another person's. Route erasure requests to a person who verifies them.",
	exportContact:
		'An AI agent cannot export everything held about a person: it would hand all of their data to the model. Use Contact > Get for what a conversation needs.',
};

function operationName(operation: string): string {
	return operation.replace(/([A-Z])/g, ' $1').replace(/^./, (c) => c.toUpperCase());
}

async function route(
	this: IExecuteFunctions,
	operation: string,
	items: INodeExecutionData[],
): Promise<INodeExecutionData[][]> {
	switch (operation) {
		case 'check':
			return await check.execute.call(this, items);
		case 'recordConsent':
			return await record.executeRecord.call(this, items);
		case 'confirmConsent':
			return await record.executeConfirm.call(this, items);
		case 'unsubscribeLink':
			return await record.executeUnsubscribe.call(this, items);
		case 'recordSends':
			return await sends.execute.call(this, items);
		case 'addSuppression':
			return await suppression.execute.call(this, items, true);
		case 'removeSuppression':
			return await suppression.execute.call(this, items, false);
		case 'exportContact':
			return await contactData.execute.call(this, items, false);
		case 'eraseContact':
			return await contactData.execute.call(this, items, true);
		case 'upsertContact':
		case 'linkAddress':
		case 'mergeContacts':
		case 'getContact':
		case 'findContact':
			return await contacts.execute.call(this, items, operation);
		default:
			throw new NodeOperationError(this.getNode(), `The operation "${operation}" is not known`);
	}
}
