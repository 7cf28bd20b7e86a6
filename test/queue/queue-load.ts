/**
 * Load for the queue-mode test: signed WhatsApp deliveries as Meta sends them, with a share of
 * re-deliveries (Meta retries a delivery it thinks failed), fired at an n8n webhook URL with a
 * fixed number of requests in flight. Records every response's status and time.
 */
import { metaSignature } from '../../nodes/shared/inbound/signatures';

export interface Delivery {
	messageId: string;
	waId: string;
	body: string;
	redelivery: boolean;
}

export interface LoadResult {
	startedAt: number;
	endedAt: number;
	statuses: Map<number, number>;
	latenciesMs: number[];
	errors: string[];
}

/** `count` deliveries from `contacts` people; `redeliveryShare` of them repeat an earlier id. */
export function makeDeliveries(opts: {
	run: string;
	count: number;
	contacts: number;
	redeliveryShare: number;
	phoneNumberId: string;
	waIdBase: number;
}): Delivery[] {
	const redeliveries = Math.round(opts.count * opts.redeliveryShare);
	const distinct = opts.count - redeliveries;
	const firsts: Delivery[] = [];
	for (let i = 0; i < distinct; i++) {
		const waId = String(opts.waIdBase + (i % opts.contacts));
		const messageId = `wamid.${opts.run}.${i}`;
		firsts.push({
			messageId,
			waId,
			redelivery: false,
			body: metaBody(opts.phoneNumberId, waId, messageId, `Hi, message ${i}`),
		});
	}
	// A re-delivery follows its original closely (Meta retries within seconds), sometimes at once.
	const out: Delivery[] = [];
	const every = Math.floor(distinct / redeliveries);
	let made = 0;
	firsts.forEach((d, i) => {
		out.push(d);
		if (made < redeliveries && i % every === every - 1) {
			const original = firsts[Math.max(0, i - (made % 5))];
			out.push({ ...original, redelivery: true });
			made++;
		}
	});
	while (made < redeliveries) out.push({ ...firsts[made++], redelivery: true });
	return out;
}

export function metaBody(
	phoneNumberId: string,
	waId: string,
	messageId: string,
	text: string,
): string {
	return JSON.stringify({
		object: 'whatsapp_business_account',
		entry: [
			{
				id: 'WABA',
				changes: [
					{
						field: 'messages',
						value: {
							messaging_product: 'whatsapp',
							metadata: { phone_number_id: phoneNumberId },
							contacts: [{ profile: { name: `Person ${waId.slice(-3)}` }, wa_id: waId }],
							messages: [
								{
									from: waId,
									id: messageId,
									timestamp: String(Math.floor(Date.now() / 1000)),
									type: 'text',
									text: { body: text },
								},
							],
						},
					},
				],
			},
		],
	});
}

/** Sends the deliveries in order with `inFlight` requests at a time; `onProgress(sent)` after each. */
export async function fire(
	url: string,
	appSecret: string,
	deliveries: Delivery[],
	inFlight: number,
	onProgress?: (done: number) => void,
): Promise<LoadResult> {
	const result: LoadResult = {
		startedAt: Date.now(),
		endedAt: 0,
		statuses: new Map(),
		latenciesMs: [],
		errors: [],
	};
	let next = 0;
	let done = 0;
	const lane = async () => {
		while (next < deliveries.length) {
			const d = deliveries[next++];
			const t0 = performance.now();
			try {
				const res = await fetch(url, {
					method: 'POST',
					headers: {
						'content-type': 'application/json',
						'x-hub-signature-256': metaSignature(appSecret, d.body),
					},
					body: d.body,
				});
				await res.arrayBuffer();
				result.statuses.set(res.status, (result.statuses.get(res.status) ?? 0) + 1);
			} catch (e) {
				result.errors.push(`${d.messageId}: ${(e as Error).message}`);
			}
			result.latenciesMs.push(performance.now() - t0);
			onProgress?.(++done);
		}
	};
	await Promise.all(Array.from({ length: inFlight }, lane));
	result.endedAt = Date.now();
	return result;
}

export function percentile(values: number[], p: number): number {
	if (values.length === 0) return NaN;
	const sorted = [...values].sort((a, b) => a - b);
	return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}
