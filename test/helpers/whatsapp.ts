/**
 * WhatsApp Cloud API webhook bodies as Meta posts them: one person's messages to a business
 * number. The tests that drive a template or the trigger with a message build it here.
 */
import { metaSignature } from '../../nodes/shared/inbound/signatures';

/** A text message from `from` (a WhatsApp ID), stamped now. */
export function waText(from: string, id: string, body: string): object {
	return {
		from,
		id,
		timestamp: String(Math.floor(Date.now() / 1000)),
		type: 'text',
		text: { body },
	};
}

/** The webhook body (as posted, a JSON string) carrying `messages` from one person. */
export function waWebhookBody(p: {
	phoneNumberId: string;
	name: string;
	waId: string;
	messages: object[];
}): string {
	return JSON.stringify({
		object: 'whatsapp_business_account',
		entry: [
			{
				id: 'W',
				changes: [
					{
						field: 'messages',
						value: {
							messaging_product: 'whatsapp',
							metadata: { phone_number_id: p.phoneNumberId },
							contacts: [{ profile: { name: p.name }, wa_id: p.waId }],
							messages: p.messages,
						},
					},
				],
			},
		],
	});
}

/** POSTs a webhook body to `url` signed as Meta signs it (X-Hub-Signature-256 with the app secret). */
export async function postSignedByMeta(
	url: string,
	raw: string,
	appSecret: string,
): Promise<Response> {
	return await fetch(url, {
		method: 'POST',
		headers: {
			'content-type': 'application/json',
			'x-hub-signature-256': metaSignature(appSecret, raw),
		},
		body: raw,
	});
}
