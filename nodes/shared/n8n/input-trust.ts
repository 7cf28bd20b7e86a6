/**
 * Where an item's contact data comes from, as the proof rule needs it (people.ts,
 * UnverifiedJoinError): from a source the user trusts (their CRM), or from anyone (a public form,
 * a chat message, an item nobody verified). One property, the same on every operation that links
 * addresses or writes a profile; read per item.
 */
import type { IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import { parameterReader } from './params';

export const inputFromProperty: INodeProperties = {
	displayName: 'Input From',
	name: 'inputFrom',
	type: 'options',
	options: [
		{
			name: 'A Source You Trust (E.g. Your CRM)',
			value: 'trusted',
			description: 'Addresses are linked and the profile updated as the item says',
		},
		{
			name: 'Anyone (a Public Form, a Chat)',
			value: 'public',
			description:
				'May create a new contact with addresses nobody holds; never adds an address to, or changes the profile of, a contact that exists (the item is an error instead)',
		},
	],
	default: 'trusted',
	description:
		"Who could have written this item. A public signup form is Anyone: otherwise a stranger who types someone's email and their own phone joins that phone to her.",
};

/** Per item: whether its input is unverified (Input From: Anyone). */
export function unverifiedInput(ctx: IExecuteFunctions): (i: number) => boolean {
	const read = parameterReader<string>(ctx, 'inputFrom', 'trusted');
	return (i) => read(i) === 'public';
}
