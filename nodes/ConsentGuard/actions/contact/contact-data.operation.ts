/**
 * The person's data: Export Contact (everything the store holds about the person, under every
 * id and address: the right of access) and Erase Contact (removes it all; keeps only keyed
 * hashes of the addresses so an old import cannot silently re-consent an erased person).
 * The person is found by contact ID, or by any address when the item has no ID.
 */
import type {
	IDataObject,
	IExecuteFunctions,
	INodeExecutionData,
	INodeProperties,
} from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { CHANNELS, channelAddress } from '../../../shared/contact';
import { compileContactReader, resolveContactMapping } from '../../../shared/n8n/contact-mapping';
import { updateDisplayOptions } from '../../../shared/n8n/display-options';
import { getStore } from '../../../shared/n8n/store';
import { resolvePeople } from '../../../shared/people';
import { normaliseAddress } from '../suppression/add-remove.operation';

const eraseProperties: INodeProperties[] = [
	{
		displayName:
			"This permanently deletes the person's profile, addresses, consent history, send log, conversations and other personal data in the Convergent store, under every ID they are known by",
		name: 'eraseNotice',
		type: 'notice',
		default: '',
	},
];

export const description = updateDisplayOptions(
	{ show: { operation: ['eraseContact'] } },
	eraseProperties,
);

export async function execute(
	this: IExecuteFunctions,
	items: INodeExecutionData[],
	erase: boolean,
): Promise<INodeExecutionData[][]> {
	const readContact = compileContactReader(
		resolveContactMapping(this.getNodeParameter('contactFields', 0, {}) as IDataObject),
		{ idOptional: true },
	);
	const store = await getStore(this);
	const out: INodeExecutionData[] = [];
	for (let i = 0; i < items.length; i++) {
		try {
			const contact = readContact(items[i].json);
			const [person] = await resolvePeople(store, [contact]);
			if (person.error)
				throw new NodeOperationError(this.getNode(), person.error.message, {
					itemIndex: i,
					description: person.error.hint,
				});
			if (!person.contactId) {
				throw new NodeOperationError(this.getNode(), "No contact holds the item's addresses", {
					itemIndex: i,
					description: 'Nothing is stored for them. Give the contact ID if you have it.',
				});
			}
			if (!erase) {
				const data = await store.exportContact(person.contactId);
				out.push({
					json: {
						contactId: person.contactId,
						exportedAt: new Date().toISOString(),
						data: data as unknown as IDataObject,
					},
					pairedItem: { item: i },
				});
				continue;
			}
			const addresses = [
				...new Set(CHANNELS.map((c) => channelAddress(contact, c)).filter((a): a is string => !!a)),
			]
				.map((a) => normaliseAddress(a))
				.filter((n): n is { ok: true; address: string } => n.ok)
				.map((n) => n.address);
			const result = await store.eraseContact(person.contactId, addresses);
			// The output must not repeat what was just erased: only the id the caller already had.
			out.push({
				json: {
					contactId: contact.id || null,
					erased: true,
					erasedAt: new Date().toISOString(),
					idsErased: result.ids.length,
					tablesTouched: result.tablesTouched,
				},
				pairedItem: { item: i },
			});
		} catch (error) {
			const nodeError =
				error instanceof NodeOperationError
					? error
					: new NodeOperationError(this.getNode(), error as Error, {
							itemIndex: i,
							description:
								(error as { hint?: string }).hint ??
								'Check the Contact ID Field in Contact Fields.',
						});
			if (!this.continueOnFail()) throw nodeError;
			out.push({
				json: {
					error: nodeError.message,
					...(nodeError.description ? { description: nodeError.description } : {}),
				},
				pairedItem: { item: i },
			});
		}
	}
	return [out];
}
