/**
 * Export Contact (everything the store holds, as JSON: the right of access) and Erase Contact
 * (removes personal data; keeps only hashed addresses so an old import cannot silently
 * re-consent an erased person).
 */
import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { CHANNELS, channelAddress } from '../../shared/contact';
import { compileContactReader, resolveContactMapping } from '../../shared/n8n/contact-mapping';
import { updateDisplayOptions } from '../../shared/n8n/display-options';
import { getStore } from '../../shared/n8n/store';
import { normaliseAddress } from './suppression.operation';

const eraseProperties: INodeProperties[] = [
	{
		displayName: 'This permanently deletes the contact\'s consent history, send log and other personal data in the Convergent store',
		name: 'eraseNotice',
		type: 'notice',
		default: '',
	},
];

export const description = updateDisplayOptions({ show: { operation: ['eraseContact'] } }, eraseProperties);

export async function execute(this: IExecuteFunctions, items: INodeExecutionData[], erase: boolean): Promise<INodeExecutionData[][]> {
	const readContact = compileContactReader(resolveContactMapping(this.getNodeParameter('contactFields', 0, {}) as IDataObject));
	const store = await getStore(this);
	const out: INodeExecutionData[] = [];
	for (let i = 0; i < items.length; i++) {
		try {
			const contact = readContact(items[i].json);
			if (!erase) {
				const data = await store.exportContact(contact.id);
				out.push({ json: { contactId: contact.id, exportedAt: new Date().toISOString(), data: data as unknown as IDataObject }, pairedItem: { item: i } });
				continue;
			}
			const addresses = [...new Set(CHANNELS.map((c) => channelAddress(contact, c)).filter((a): a is string => !!a))]
				.map((a) => normaliseAddress(a))
				.filter((n): n is { ok: true; address: string } => n.ok)
				.map((n) => n.address);
			const result = await store.eraseContact(contact.id, addresses);
			// The output must not repeat what was just erased: only the id the caller already had.
			out.push({ json: { contactId: contact.id, erased: true, erasedAt: new Date().toISOString(), tablesTouched: result.tablesTouched }, pairedItem: { item: i } });
		} catch (error) {
			const nodeError = new NodeOperationError(this.getNode(), error as Error, {
				itemIndex: i,
				description: 'Check the Contact ID Field in Contact Fields.',
			});
			if (!this.continueOnFail()) throw nodeError;
			out.push({ json: { error: nodeError.message }, pairedItem: { item: i } });
		}
	}
	return [out];
}
