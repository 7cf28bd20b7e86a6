/**
 * Who reads (ARCHITECTURE.md: who reads), in one place for every node an AI Agent uses as a tool: the
 * node answers and acts only for the person of the conversation, the one the workflow says the
 * agent is talking with (Conversation Contact, from the item the agent answers, e.g. the Touchpoint
 * Trigger's contactId). An ID, a phone or an email the chat names that is someone else's (or that
 * the contact book cannot tie to that person) is refused with a sentence and nothing is read: a
 * model must not be handed another person's name, addresses, consent or journey, nor send to them.
 */
import type { IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import { normalizeEmail, normalizePhone } from '../address';
import type { Contact } from '../contact';
import { resolvePeople } from '../people';
import type { PeopleStore } from '../store/types';
import { isToolCall, TOOL_ONLY } from './tool-mode';

export const CONVERSATION_CONTACT = 'toolConversationContact';

/** Only on the tool variant: set by the workflow, never by the agent. */
export const conversationContactProperty: INodeProperties = {
	displayName: 'Conversation Contact',
	name: CONVERSATION_CONTACT,
	type: 'string',
	default: '={{ $json.contactId }}',
	description:
		"The person the agent is talking with: their contact ID, phone or email, from the item the agent answers (the Touchpoint Trigger's contactId by default). As a tool, this node reads and acts only for this person; a contact the chat names that is someone else is refused.",
	displayOptions: TOOL_ONLY,
};

/** A contact named by one string: an email, a phone number, or else an ID. */
function namedContact(value: string): Contact {
	const email = normalizeEmail(value);
	if (email.ok) return { id: '', email: email.email };
	if (/^\+?[\d\s().-]{6,}$/.test(value)) {
		const phone = normalizePhone(value);
		if (phone.ok) return { id: '', phone: phone.e164 };
	}
	return { id: value };
}

/** The person a string names (the store's id), or the string itself, normalised, when nobody holds it. */
async function personsOf(store: PeopleStore, values: string[]): Promise<string[]> {
	const contacts = values.map(namedContact);
	const people = await resolvePeople(store, contacts, { create: false });
	return people.map(
		(p, i) =>
			(p.error ? '' : p.contactId) ||
			contacts[i].id ||
			contacts[i].email ||
			contacts[i].phone ||
			'',
	);
}

/**
 * For each item of a tool call: undefined when `requested(i)` names the person of the
 * conversation, else the sentence the agent is answered with (the item must then not be run).
 */
export async function outsideConversation(
	ctx: IExecuteFunctions,
	store: PeopleStore,
	items: INodeExecutionData[],
	requested: (i: number) => string,
): Promise<Array<string | undefined>> {
	const conversation = items.map((_, i) =>
		String(ctx.getNodeParameter(CONVERSATION_CONTACT, i, '') ?? '').trim(),
	);
	const asked = items.map((_, i) => String(requested(i) ?? '').trim());
	const ids = await personsOf(store, [...conversation, ...asked]);
	return items.map((_, i) => {
		if (!conversation[i])
			return `This tool does not know who the conversation is with, so it answers about nobody: set its Conversation Contact to the person the agent talks with (e.g. {{ $json.contactId }} from the Touchpoint Trigger). Nothing was read or changed.`;
		if (!asked[i]) return 'No contact was given. Nothing was read or changed.';
		const me = ids[i];
		const them = ids[items.length + i];
		return me && me === them
			? undefined
			: 'An AI agent reads and acts only for the person it is talking with, and this names someone else. Nothing was read or changed.';
	});
}

/**
 * As an AI Agent's tool: the answer when an item of the call names someone other than the person
 * of the conversation (every item of that call is refused: a call is one item in practice), or
 * undefined when the node may run. `requestedParam` is the tool parameter the agent fills.
 */
export async function conversationRefusal(
	ctx: IExecuteFunctions,
	store: () => Promise<PeopleStore>,
	requestedParam: string,
): Promise<INodeExecutionData[][] | undefined> {
	if (!isToolCall(ctx)) return undefined;
	const items = ctx.getInputData();
	// Fails closed: when who the call is about cannot be checked (the store is down), nothing runs.
	const why = await store()
		.then(
			async (s) =>
				await outsideConversation(ctx, s, items, (i) =>
					String(ctx.getNodeParameter(requestedParam, i, '') ?? ''),
				),
		)
		.catch((error: unknown) =>
			items.map(
				() =>
					`Could not check who the conversation is with (${(error as Error)?.message ?? String(error)}). Nothing was read or changed.`,
			),
		);
	if (why.every((w) => !w)) return undefined;
	const withOthers =
		'Refused with the other items of this call, one of which names someone else. Nothing was read or changed.';
	return [
		items.map((_, i) => ({
			json: { outcome: 'Refused', status: 'refused', message: why[i] ?? withOthers },
			pairedItem: { item: i },
		})),
	];
}
