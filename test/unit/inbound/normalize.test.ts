/**
 * A batched WhatsApp webhook: every message carries its own sender's profile name, including
 * senders known only by a business-scoped user id (no phone): names build contact profiles.
 */
import { eventAddresses, normalizeMeta } from '../../../nodes/shared/inbound/normalize';

const value = (contacts: object[], messages: object[]) => ({
	object: 'whatsapp_business_account',
	entry: [
		{
			id: 'WABA',
			changes: [
				{
					field: 'messages',
					value: {
						messaging_product: 'whatsapp',
						metadata: { phone_number_id: '1065' },
						contacts,
						messages,
					},
				},
			],
		},
	],
});

describe('normalizeMeta: senders in a batch', () => {
	it("gives each message its own sender's name, by wa_id or by business-scoped id, never the first one's", () => {
		const body = value(
			[
				{ profile: { name: 'Ana' }, wa_id: '34600111222' },
				{ profile: { name: 'Ben' }, wa_id: '34600333444' },
				{ profile: { name: 'Cai' }, user_id: 'ES.bsuid.CAI' },
				{ profile: { name: 'Dee' }, user_id: 'ES.bsuid.DEE' },
			],
			[
				{
					from: '34600333444',
					id: 'w1',
					timestamp: '1764400000',
					type: 'text',
					text: { body: 'hi' },
				},
				{
					from_user_id: 'ES.bsuid.DEE',
					id: 'w2',
					timestamp: '1764400000',
					type: 'text',
					text: { body: 'hola' },
				},
				{
					from: '34600111222',
					id: 'w3',
					timestamp: '1764400000',
					type: 'text',
					text: { body: 'ola' },
				},
				{
					from_user_id: 'ES.bsuid.CAI',
					id: 'w4',
					timestamp: '1764400000',
					type: 'text',
					text: { body: 'hey' },
				},
			],
		);
		const events = normalizeMeta(body as never);
		expect(events.map((e) => [e.providerMessageId, e.contact.name])).toEqual([
			['w1', 'Ben'],
			['w2', 'Dee'],
			['w3', 'Ana'],
			['w4', 'Cai'],
		]);
		expect(events.map((e) => eventAddresses(e))).toEqual([
			[{ kind: 'phone', value: '+34600333444' }],
			[{ kind: 'whatsapp', value: 'ES.bsuid.DEE' }],
			[{ kind: 'phone', value: '+34600111222' }],
			[{ kind: 'whatsapp', value: 'ES.bsuid.CAI' }],
		]);
	});

	it("a sender with no profile in the batch gets no name rather than someone else's", () => {
		const body = value(
			[{ profile: { name: 'Ana' }, wa_id: '34600111222' }],
			[
				{
					from_user_id: 'ES.bsuid.X',
					id: 'w9',
					timestamp: '1764400000',
					type: 'text',
					text: { body: 'x' },
				},
			],
		);
		expect(normalizeMeta(body as never)[0].contact.name).toBeUndefined();
	});
});
