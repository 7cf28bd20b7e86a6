import { NodeOperationError, type IExecuteFunctions, type INodeProperties } from 'n8n-workflow';

import { CHANNELS } from '../../shared/contact';

export { channelOptions } from '../../shared/n8n/channel-options';

export const channelProperty: INodeProperties = {
	displayName: 'Channel',
	name: 'channel',
	type: 'options',
	options: [
		{ name: 'Email', value: 'email' },
		{ name: 'From Item Field', value: 'fromField' },
		{ name: 'Instagram Direct', value: 'instagram' },
		{ name: 'Messenger', value: 'messenger' },
		{ name: 'Push', value: 'push' },
		{ name: 'SMS', value: 'sms' },
		{ name: 'WhatsApp', value: 'whatsapp' },
	],
	default: 'sms',
	description: 'The channel of the message',
};

export const channelFieldProperty: INodeProperties = {
	displayName: 'Channel Field',
	name: 'channelField',
	requiresDataPath: 'single',
	type: 'string',
	default: 'channel',
	placeholder: 'message.channel',
	description: `Path to the channel in each item: one of ${CHANNELS.join(', ')}`,
	displayOptions: { show: { channel: ['fromField'] } },
};

export const purposeProperty: INodeProperties = {
	displayName: 'Purpose',
	name: 'purpose',
	type: 'options',
	options: [
		{
			name: 'Marketing',
			value: 'marketing',
			description: 'Promotions, newsletters, offers: needs consent',
		},
		{
			name: 'Transactional',
			value: 'transactional',
			description: 'Order updates, receipts, codes: no marketing consent needed',
		},
		{
			name: 'Service',
			value: 'service',
			description: 'Account or service information the person asked for',
		},
		{ name: 'Custom', value: 'custom' },
	],
	default: 'marketing',
	description: 'What the message is for. Consent is recorded and checked per purpose and channel.',
};

export const customPurposeProperty: INodeProperties = {
	displayName: 'Custom Purpose',
	name: 'customPurpose',
	type: 'string',
	default: '',
	placeholder: 'product-research',
	displayOptions: { show: { purpose: ['custom'] } },
};

/** Fails the item with a message naming the field and the value, and what to do. */
export function fail(ctx: IExecuteFunctions, i: number, message: string, hint: string): never {
	throw new NodeOperationError(ctx.getNode(), message, { itemIndex: i, description: hint });
}
