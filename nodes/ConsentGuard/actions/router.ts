import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import { runOperation, type Operation, type Operations } from '../../shared/n8n/operation';
import { parameterReader } from '../../shared/n8n/params';
import { checkSummary } from '../../shared/n8n/tool-mode';
import * as check from './consent/check.operation';
import * as contactData from './contact/contact-data.operation';
import * as contacts from './contact/contacts.operation';
import * as record from './consent/record.operation';
import * as sends from './consent/sends.operation';
import * as suppression from './suppression/add-remove.operation';

export async function router(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const operation = this.getNodeParameter('operation', 0) as string;
	return await runOperation(this, OPERATIONS, operation, { nothingWhenEmpty: true });
}

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

type Run = (
	this: IExecuteFunctions,
	items: INodeExecutionData[],
) => Promise<INodeExecutionData[][]>;

/**
 * An operation of one output named after it. An AI agent may withdraw consent (the person asked
 * to stop) but never grant or request it: consent is the person's own act, through a form, a
 * keyword or a double opt-in, not a model's reading. Nor may it do what would let a message reach
 * someone the policy now keeps it from (TOOL_REFUSED); as a tool, the node reads and acts only for
 * the person of the conversation (tool-scope.ts).
 */
function operation(name: string, run: Run, tool: Operation['tool'] = {}): Operation {
	return {
		outputs: () => [operationName(name)],
		run: async (fn, items) => await run.call(fn, items),
		tool: { refused: TOOL_REFUSED[name], ...tool },
	};
}

const person = { conversationContact: 'toolContact' };

const OPERATIONS: Operations = {
	// Check's output 0 is Allowed: errors put every item on Blocked.
	check: {
		outputs: () => ['Allowed', 'Blocked'],
		run: async (fn, items) => await check.execute.call(fn, items),
		tool: { ...person, summary: checkSummary },
	},
	recordConsent: operation('recordConsent', record.executeRecord, {
		...person,
		screen: withdrawalsOnly,
	}),
	confirmConsent: operation('confirmConsent', record.executeConfirm),
	unsubscribeLink: operation('unsubscribeLink', record.executeUnsubscribe),
	recordSends: operation('recordSends', sends.execute),
	addSuppression: operation('addSuppression', async function (items) {
		return await suppression.execute.call(this, items, true);
	}),
	removeSuppression: operation('removeSuppression', async function (items) {
		return await suppression.execute.call(this, items, false);
	}),
	exportContact: operation('exportContact', async function (items) {
		return await contactData.execute.call(this, items, false);
	}),
	eraseContact: operation('eraseContact', async function (items) {
		return await contactData.execute.call(this, items, true);
	}),
	...Object.fromEntries(
		(['upsertContact', 'linkAddress', 'mergeContacts', 'getContact', 'findContact'] as const).map(
			(name) => [
				name,
				operation(
					name,
					async function (items) {
						return await contacts.execute.call(this, items, name);
					},
					name === 'getContact' || name === 'findContact' ? person : {},
				),
			],
		),
	),
};

/** As a tool, Record Consent records withdrawals only; any other action is refused, item by item. */
function withdrawalsOnly(
	fn: IExecuteFunctions,
	items: INodeExecutionData[],
): { work: INodeExecutionData[]; refused: INodeExecutionData[] } {
	const actionOf = parameterReader<string>(fn, 'consentAction', 'grant');
	const refused: INodeExecutionData[] = [];
	const work = items.filter((item, i) => {
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
	return { work, refused };
}

function operationName(operation: string): string {
	return operation.replace(/([A-Z])/g, ' $1').replace(/^./, (c) => c.toUpperCase());
}
