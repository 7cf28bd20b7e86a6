/**
 * What Meta and Twilio share once a request is verified: everything it means lands in one
 * transaction before the provider gets its 200 (the de-duplication key, the sender's contact, the
 * inbound log, delivery statuses, keyword consent and, with a durable inbox, the event itself). A
 * store error rolls all of it back and answers 500, so the provider's re-delivery is handled in
 * full: a STOP is never lost. Then one item per new event, with its media when asked.
 */
import type { IDataObject, IWebhookFunctions, IWebhookResponseData } from 'n8n-workflow';

import type { ConversationEvent } from '../../shared/contact';
import type { TouchRecord } from '../../shared/domain';
import { INBOX_NODE, inboxIdOf } from '../../shared/inbound/inbox';
import { keywordMatcher } from '../../shared/inbound/keywords';
import { recordMessages } from '../../shared/inbound/record';
import { contactIdOf } from '../../shared/inbound/sender';
import { withDownloadedMedia } from '../../shared/n8n/media-download';
import { getStore } from '../../shared/n8n/store';
import { recordProviderOptOuts } from '../../shared/policy/opt-out';
import type { Store } from '../../shared/store/types';
import type { CredentialsOf } from './types';

/** STOP / START / HELP words, with the ones the options add. */
export function keywordsOf(options: IDataObject) {
	const words = (name: string) =>
		String(options[name] ?? '')
			.split(',')
			.map((w) => w.trim())
			.filter(Boolean);
	return keywordMatcher({
		extraStop: words('extraStopWords'),
		extraStart: words('extraStartWords'),
		extraHelp: words('extraHelpWords'),
	});
}

/** The bytes the provider signed. */
export function rawBodyOf(ctx: IWebhookFunctions): Buffer | string {
	const req = ctx.getRequestObject();
	return (req as unknown as { rawBody?: Buffer }).rawBody ?? JSON.stringify(req.body ?? {});
}

function marksDone(ctx: IWebhookFunctions): boolean {
	return ctx
		.getChildNodes(ctx.getNode().name, { includeNodeParameters: true })
		.some(
			(n) =>
				n.type.endsWith(`.${INBOX_NODE}`) &&
				!n.disabled &&
				(n.parameters?.operation ?? 'markDone') === 'markDone',
		);
}

const idOf = (e: ConversationEvent) =>
	`${e.kind === 'status' ? `status:${e.status}:` : ''}${e.providerMessageId}`;

export async function receive(
	ctx: IWebhookFunctions,
	provider: 'meta' | 'twilio',
	events: ConversationEvent[],
	options: IDataObject,
	credentialsOf: CredentialsOf,
): Promise<IWebhookResponseData> {
	const store = await getStore(ctx, credentialsOf);
	const scope = `${provider}:${ctx.getWorkflow().id ?? ''}:${ctx.getNode().id}`;
	// The durable inbox is kept when the run marks its events done (Touchpoint Inbox > Mark Done);
	// a test event from the editor is never kept for replay.
	const durable = ctx.getMode() !== 'manual' && marksDone(ctx);
	const emitted = await store.atomically(
		async (tx) => await recordEvents(ctx, tx, scope, events, options, durable),
	);
	const res = ctx.getResponseObject();
	if (provider === 'twilio') res.status(200).type('text/xml').send('<Response></Response>');
	if (emitted.length === 0) return provider === 'twilio' ? { noWebhookResponse: true } : {};
	if (
		ctx.getNodeParameter('downloadMedia', false) === true &&
		emitted.some((json) => Array.isArray(json.media) && json.media.length)
	) {
		// Everything is recorded: the provider has its answer before the files are fetched.
		if (provider === 'meta') res.status(200).type('text/plain').send('EVENT_RECEIVED');
		return {
			noWebhookResponse: true,
			workflowData: [
				await withDownloadedMedia(
					ctx.helpers,
					emitted,
					credentialsOf,
					Number(options.maxMediaSize || 25),
					String(options.mediaHosts ?? ''),
				),
			],
		};
	}
	return {
		...(provider === 'twilio' ? { noWebhookResponse: true } : {}),
		workflowData: [emitted.map((json) => ({ json }))],
	};
}

/** The request's new events recorded in the transaction; returns what the workflow gets. */
async function recordEvents(
	ctx: IWebhookFunctions,
	tx: Store,
	scope: string,
	events: ConversationEvent[],
	options: IDataObject,
	durable: boolean,
): Promise<IDataObject[]> {
	const seen = await tx.findProcessed(scope, events.map(idOf));
	const unseen = events.filter((e) => !seen.has(idOf(e)));
	const messages = unseen.filter((e) => e.kind !== 'status');
	const purposes = String(options.keywordPurposes ?? 'marketing, service');
	const { personOf, personId } = await recordMessages(tx, messages, purposes);
	const statuses = unseen.filter((e) => e.kind === 'status');
	const sendOf = await recordStatuses(tx, statuses);
	const toEmit = new Map(
		(options.includeStatuses ? unseen : messages).map((e) => {
			const json: IDataObject = {
				...eventJson(e, sendOf.get(e), e.kind === 'status' ? undefined : personId(e)),
				...(personOf.get(e)?.error
					? {
							identityConflict: {
								message: personOf.get(e)!.error!.message,
								description: personOf.get(e)!.error!.hint,
							},
						}
					: {}),
				...(durable ? { inboxId: inboxIdOf({ scope, id: idOf(e) }) } : {}),
			};
			return [idOf(e), json] as const;
		}),
	);
	const workflowId = String(ctx.getWorkflow().id ?? '');
	const inbox = durable
		? {
				workflowId,
				events: new Map([...toEmit].map(([id, json]) => [id, JSON.stringify(json)])),
			}
		: undefined;
	// Every kept row is tied to its person (a status to its send's), so Erase and Export reach it.
	const personOfRow = new Map([
		...messages.map((e) => [idOf(e), personId(e)] as const),
		...statuses.map((st) => [idOf(st), sendOf.get(st)?.contactId ?? contactIdOf(st)] as const),
	]);
	const fresh = await tx.markProcessed(scope, unseen.map(idOf), personOfRow, inbox);
	return [...toEmit].filter(([id]) => fresh.has(id)).map(([, json]) => json);
}

/**
 * A status is about a send: its person, campaign and key come from the send log, so a journey or
 * an engagement score downstream counts a "read" for the right person. A failed status may report
 * an opt-out (Twilio 21610, WhatsApp 131050): kept for the person.
 */
async function recordStatuses(
	tx: Store,
	statuses: ConversationEvent[],
): Promise<Map<ConversationEvent, TouchRecord>> {
	const sendOf = new Map<ConversationEvent, TouchRecord>();
	for (const st of statuses) {
		const touch = await tx.updateDeliveryStatus(st.providerMessageId, String(st.status));
		if (touch) sendOf.set(st, touch);
	}
	await recordProviderOptOuts(
		tx,
		statuses.flatMap((st) =>
			(st.errors ?? []).map((err) => ({
				contactId: sendOf.get(st)?.contactId ?? contactIdOf(st),
				channel: st.channel,
				address: st.contact.phone,
				code: err.code,
				at: Date.parse(st.timestamp),
			})),
		),
	);
	return sendOf;
}

/** An event as the workflow gets it: a message with its person, a status with its send. */
function eventJson(
	e: ConversationEvent,
	send: TouchRecord | undefined,
	person: string | undefined,
): IDataObject {
	const rest: ConversationEvent = { ...e };
	delete rest.keywordConditional;
	if (e.kind !== 'status') return { ...(rest as unknown as IDataObject), contactId: person };
	return {
		...(rest as unknown as IDataObject),
		contactId: send?.contactId ?? contactIdOf(e),
		eventId: idOf(e),
		touch: send
			? {
					idempotencyKey: send.idempotencyKey,
					campaign: send.campaign ?? null,
					channel: send.channel,
					purpose: send.purpose,
					sentAt: new Date(send.createdAt).toISOString(),
				}
			: null,
	};
}
