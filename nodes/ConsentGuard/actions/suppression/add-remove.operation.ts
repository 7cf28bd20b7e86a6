/**
 * Add to / Remove from the suppression list: bounced, complained or manually blocked addresses.
 * Check honours the list on every channel (or on the one given).
 */
import type {
	IDataObject,
	IExecuteFunctions,
	INodeExecutionData,
	INodeProperties,
} from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { normalizeEmail, normalizePhone } from '../../../shared/address';
import type { Channel } from '../../../shared/contact';
import { updateDisplayOptions } from '../../../shared/n8n/display-options';
import { compileFieldPath } from '../../../shared/field-path';
import { getStore } from '../../../shared/n8n/store';
import { channelOptions } from '../common';

const properties: INodeProperties[] = [
	{
		displayName: 'Address Field',
		name: 'addressField',
		requiresDataPath: 'single',
		type: 'string',
		default: 'contact.email',
		description: 'Path to the address: an email, an E.164 phone, a push token or a messaging ID',
	},
	{
		displayName: 'Suppressed Channel',
		name: 'suppressionChannel',
		type: 'options',
		options: [{ name: 'All Channels', value: 'all' }, ...channelOptions],
		default: 'all',
	},
];

const addProperties: INodeProperties[] = [
	{
		displayName: 'Reason',
		name: 'reason',
		type: 'options',
		options: [
			{ name: 'Bounced', value: 'bounced' },
			{ name: 'Complained (Spam Report)', value: 'complained' },
			{ name: 'Manual', value: 'manual' },
			{ name: 'Unsubscribed', value: 'unsubscribed' },
		],
		default: 'manual',
	},
	{ displayName: 'Note', name: 'note', type: 'string', default: '' },
];

export const description = [
	...updateDisplayOptions(
		{ show: { operation: ['addSuppression', 'removeSuppression'] } },
		properties,
	),
	...updateDisplayOptions({ show: { operation: ['addSuppression'] } }, addProperties),
];

/** The normalised form suppressions are kept under (as Check looks them up). */
export function normaliseAddress(
	raw: string,
): { ok: true; address: string } | { ok: false; message: string } {
	const value = raw.trim();
	if (value.includes('@')) {
		const e = normalizeEmail(value);
		return e.ok ? { ok: true, address: e.email } : { ok: false, message: e.message };
	}
	if (value.startsWith('+')) {
		const p = normalizePhone(value);
		return p.ok ? { ok: true, address: p.e164 } : { ok: false, message: p.message };
	}
	return value ? { ok: true, address: value } : { ok: false, message: 'The address is empty.' };
}

export async function execute(
	this: IExecuteFunctions,
	items: INodeExecutionData[],
	add: boolean,
): Promise<INodeExecutionData[][]> {
	const field = this.getNodeParameter('addressField', 0) as string;
	const addressOf = compileFieldPath(field);
	const channelParam = this.getNodeParameter('suppressionChannel', 0) as string;
	const channel = channelParam === 'all' ? undefined : (channelParam as Channel);
	const reason = add ? (this.getNodeParameter('reason', 0) as string) : '';
	const note = add ? (this.getNodeParameter('note', 0, '') as string) : '';
	const store = await getStore(this);
	const out: INodeExecutionData[] = [];
	const valid: Array<{ i: number; address: string }> = [];
	for (let i = 0; i < items.length; i++) {
		const raw = addressOf(items[i].json);
		const n = normaliseAddress(raw === undefined || raw === null ? '' : String(raw));
		if (!n.ok) {
			const error = new NodeOperationError(
				this.getNode(),
				`Invalid address "${String(raw ?? '')}" at "${field}"`,
				{ itemIndex: i, description: n.message },
			);
			if (!this.continueOnFail()) throw error;
			out.push({ json: { ...items[i].json, error: error.message }, pairedItem: { item: i } });
			continue;
		}
		valid.push({ i, address: n.address });
	}
	if (add) {
		await store.addSuppressions(
			valid.map((v) => ({ address: v.address, channel, reason, note: note || undefined })),
		);
	} else {
		await store.removeSuppressions(valid.map((v) => ({ address: v.address, channel })));
	}
	for (const v of valid) {
		const suppression: IDataObject = {
			address: v.address,
			channel: channel ?? 'all',
			suppressed: add,
		};
		if (add) suppression.reason = reason;
		out.push({ json: { ...items[v.i].json, suppression }, pairedItem: { item: v.i } });
	}
	return [out];
}
