/**
 * Record Sends Made Elsewhere: messages another tool sent (a CRM, an email service, a past
 * campaign) enter the send log as sent, at the time they were sent, so frequency caps count
 * everything the person received, not only what went through Touchpoint. Idempotent: the same
 * send imported twice is one touch.
 */
import { createHash } from 'node:crypto';
import type {
	IDataObject,
	IExecuteFunctions,
	INodeExecutionData,
	INodeProperties,
} from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { CHANNELS, isChannel, type Channel } from '../../../shared/contact';
import { compileContactReader, resolveContactMapping } from '../../../shared/n8n/contact-mapping';
import { updateDisplayOptions } from '../../../shared/n8n/display-options';
import { compileFieldPath } from '../../../shared/field-path';
import { getStore } from '../../../shared/n8n/store';
import { resolvePeople } from '../../../shared/people';
import { toTime } from '../../../shared/segment/rules';
import type { ReservationRequest } from '../../../shared/domain';
import type { Store } from '../../../shared/store/types';

const properties: INodeProperties[] = [
	{
		displayName: 'Sends Field',
		name: 'sendsField',
		type: 'string',
		requiresDataPath: 'single',
		default: 'sends',
		placeholder: 'history.messages',
		description: `Path to the list of messages sent to this person elsewhere, each { channel, sentAt, purpose?, campaign? }: channel one of ${CHANNELS.join(', ')}; sentAt an ISO date-time or epoch; purpose marketing (default), service or transactional`,
	},
];

export const description = updateDisplayOptions(
	{ show: { operation: ['recordSends'] } },
	properties,
);

type Send = Omit<ReservationRequest, 'caps' | 'contactId'> & { at: number };

export async function execute(
	this: IExecuteFunctions,
	items: INodeExecutionData[],
): Promise<INodeExecutionData[][]> {
	const node = this.getNode();
	const mapping = resolveContactMapping(
		this.getNodeParameter('contactFields', 0, {}) as IDataObject,
	);
	const readContact = compileContactReader(mapping);
	const field = this.getNodeParameter('sendsField', 0, 'sends') as string;
	const sendsOf = compileFieldPath(field);
	const store = await getStore(this);
	const now = Date.now();
	const out: INodeExecutionData[] = [];
	const fail = (i: number, message: string, hint: string) => {
		const error = new NodeOperationError(node, message, { itemIndex: i, description: hint });
		if (!this.continueOnFail()) throw error;
		out.push({
			json: { ...items[i].json, error: message, description: hint },
			pairedItem: { item: i },
		});
	};
	const parsed: Array<{ i: number; contact: ReturnType<typeof readContact>; sends: Send[] }> = [];
	for (let i = 0; i < items.length; i++) {
		let contact;
		try {
			contact = readContact(items[i].json);
		} catch (error) {
			fail(
				i,
				(error as Error).message,
				(error as { hint?: string }).hint ?? "Map Contact ID Field to the person's id.",
			);
			continue;
		}
		const list = sendsOf(items[i].json) ?? [];
		if (!Array.isArray(list)) {
			fail(
				i,
				`Sends Field "${field}" is not a list (found ${JSON.stringify(list).slice(0, 80)})`,
				'Point Sends Field at a list of { channel, sentAt } objects; an empty list records nothing.',
			);
			continue;
		}
		const { sends, problem } = readSends(list as IDataObject[], field, now);
		if (problem) {
			fail(
				i,
				problem,
				'Fix the entry in the list (nothing of this item was recorded): sentAt as ISO 8601 (2026-05-01T10:00:00Z) or epoch, not in the future.',
			);
			continue;
		}
		parsed.push({ i, contact, sends });
	}
	const people = await resolvePeople(
		store,
		parsed.map((p) => p.contact),
		{ create: true, idField: mapping.idField },
	);
	for (const [j, p] of parsed.entries()) {
		const person = people[j];
		if (person.error) {
			fail(p.i, person.error.message, person.error.hint ?? '');
			continue;
		}
		const recorded = await recordSends(store, person.contactId, p.sends);
		const sendsRecorded = {
			contactId: person.contactId,
			recorded,
			alreadyKnown: p.sends.length - recorded,
		};
		out.push({ json: { ...items[p.i].json, sendsRecorded }, pairedItem: { item: p.i } });
	}
	return [out];
}

/** The item's list of sends, each checked; the first problem names its entry. */
function readSends(
	list: IDataObject[],
	field: string,
	now: number,
): { sends: Send[]; problem?: string } {
	const sends: Send[] = [];
	const problem = list
		.map((s: IDataObject, k) => {
			const channel = String(s?.channel ?? '');
			if (!isChannel(channel))
				return `${field}[${k}]: channel "${channel}" is not one of ${CHANNELS.join(', ')}`;
			const at = toTime(s.sentAt);
			if (at === undefined || at > now + 5 * 60_000)
				return `${field}[${k}]: sentAt "${String(s.sentAt ?? '')}" is not a past date and time`;
			const purpose = String(s.purpose ?? 'marketing');
			const campaign =
				s.campaign === undefined || s.campaign === null || s.campaign === ''
					? undefined
					: String(s.campaign);
			sends.push({ idempotencyKey: '', channel: channel as Channel, purpose, campaign, at });
			return undefined;
		})
		.find(Boolean);
	return { sends, problem };
}

/** Each send logged at its own time (the window of a cap counts from it); returns how many were new. */
async function recordSends(store: Store, contactId: string, sends: Send[]): Promise<number> {
	let recorded = 0;
	for (const s of sends) {
		const idempotencyKey = `elsewhere:${createHash('sha256')
			.update(JSON.stringify([contactId, s.channel, s.purpose, s.campaign ?? '', s.at]))
			.digest('hex')
			.slice(0, 40)}`;
		const [r] = await store.reserveTouches(
			[
				{
					idempotencyKey,
					contactId,
					channel: s.channel,
					purpose: s.purpose,
					campaign: s.campaign,
					caps: [],
				},
			],
			s.at,
		);
		if (r.outcome === 'reserved') {
			await store.completeTouch(idempotencyKey, { status: 'sent' });
			recorded++;
		}
	}
	return recorded;
}
