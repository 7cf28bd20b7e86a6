/**
 * An email service's events (Amazon SES via SNS, SendGrid, Mailgun, Postmark): verified,
 * de-duplicated, and recorded in one transaction before the 200 (hard bounces and complaints
 * suppress the address, unsubscribes withdraw marketing email consent), then one item per event.
 */
import type { IDataObject, IWebhookFunctions, IWebhookResponseData } from 'n8n-workflow';

import { withDeadline } from '../../shared/deadline';
import {
	AWS_SNS_CERT_PATTERN,
	normalizeEmailEvents,
	trustedSnsUrl,
	verifyMailgun,
	verifyPostmark,
	verifySendGrid,
	verifySns,
	type EmailService,
} from '../../shared/inbound/email-events';
import { recordEmailEvents } from '../../shared/inbound/record';
import { replayRefusal, signedAt, singleUseToken } from '../../shared/inbound/replay';
import { getStore } from '../../shared/n8n/store';
import { answer, type CredentialsOf, type TriggerProvider } from './types';

const certCache = new Map<string, { at: number; pem: Promise<string> }>();
/** An SNS signing certificate, fetched once per hour per URL (SNS rotates them rarely). */
function snsCertificate(ctx: IWebhookFunctions, url: string): Promise<string> {
	const hit = certCache.get(url);
	if (hit && Date.now() - hit.at < 3600_000) return hit.pem;
	const pem = withDeadline('The SNS signing certificate', 10_000, (abortSignal) =>
		ctx.helpers.httpRequest({ method: 'GET', url, json: false, timeout: 10_000, abortSignal }),
	).then((b) => String(b));
	if (certCache.size >= 64) certCache.delete(certCache.keys().next().value as string);
	certCache.set(url, { at: Date.now(), pem });
	pem.catch(() => certCache.delete(url));
	return pem;
}

export const emailProvider: TriggerProvider = {
	async webhook(ctx, credentialsOf) {
		if (ctx.getWebhookName() === 'setup')
			return answer(ctx, 405, 'Email service events arrive by POST');
		const credentials = await credentialsOf('emailEventsWebhookApi');
		const service = String(credentials.service ?? 'sendgrid') as EmailService;
		const req = ctx.getRequestObject();
		const headers = ctx.getHeaderData() as IDataObject;
		const rawBody: Buffer | string =
			(req as unknown as { rawBody?: Buffer }).rawBody ?? JSON.stringify(req.body ?? {});
		let body = ctx.getBodyData() as unknown;
		if (service === 'ses') {
			const sns = await snsMessage(ctx, credentials, rawBody, headers);
			if ('response' in sns) return sns.response;
			body = sns.message;
		} else if (!verified(service, credentials, headers, rawBody, body)) {
			return answer(ctx, 401, 'Invalid signature');
		} else {
			// A signed request is taken only within its provider's window (inbound/replay.ts).
			const stale = replayRefusal(service, signedAt(service, headers, body));
			if (stale) return answer(ctx, 401, stale);
		}
		// SendGrid's events are read from the bytes it signed.
		let events;
		try {
			events = normalizeEmailEvents(
				service,
				service === 'sendgrid' ? JSON.parse(rawBody.toString()) : body,
			);
		} catch {
			return answer(ctx, 400, 'The body is not JSON');
		}
		return await record(ctx, credentialsOf, service, events, singleUseToken(service, body));
	},
};

/**
 * SNS posts its JSON as text/plain: read from the bytes it signed, verified, within its window; a
 * subscription is confirmed only on Amazon's own host (or the allowed pattern).
 */
async function snsMessage(
	ctx: IWebhookFunctions,
	credentials: IDataObject,
	rawBody: Buffer | string,
	headers: IDataObject,
): Promise<{ message: IDataObject } | { response: IWebhookResponseData }> {
	let message: IDataObject;
	try {
		message = JSON.parse(rawBody.toString()) as IDataObject;
	} catch {
		return { response: answer(ctx, 400, 'The body is not an SNS message') };
	}
	const certPattern = String(credentials.snsTrustedUrlPattern || AWS_SNS_CERT_PATTERN);
	const ok = await verifySns(message, {
		topicArn: String(credentials.snsTopicArn ?? ''),
		certPattern,
		fetchCert: (url) => snsCertificate(ctx, url),
	});
	if (!ok) return { response: answer(ctx, 401, 'Invalid signature') };
	const stale = replayRefusal('ses', signedAt('ses', headers, message));
	if (stale) return { response: answer(ctx, 401, stale) };
	if (message.Type === 'SubscriptionConfirmation') {
		if (!trustedSnsUrl(message.SubscribeURL, certPattern))
			return {
				response: answer(ctx, 400, 'SubscribeURL is not on an allowed SNS host: not confirmed'),
			};
		await withDeadline('The SNS subscription confirmation', 10_000, (abortSignal) =>
			ctx.helpers.httpRequest({
				method: 'GET',
				url: String(message.SubscribeURL),
				timeout: 10_000,
				abortSignal,
			}),
		);
		return { response: answer(ctx, 200, 'Subscription confirmed') };
	}
	if (message.Type !== 'Notification') return { response: answer(ctx, 200, 'OK') };
	return { message };
}

/** SendGrid, Mailgun and Postmark sign each request their own way (SES: the SNS signature). */
function verified(
	service: EmailService,
	credentials: IDataObject,
	headers: IDataObject,
	rawBody: Buffer | string,
	body: unknown,
): boolean {
	if (service === 'sendgrid')
		return verifySendGrid(
			String(credentials.sendgridVerificationKey ?? ''),
			headers['x-twilio-email-event-webhook-signature'],
			headers['x-twilio-email-event-webhook-timestamp'],
			rawBody,
		);
	if (service === 'mailgun')
		return verifyMailgun(String(credentials.mailgunSigningKey ?? ''), body as IDataObject);
	if (service === 'postmark')
		return verifyPostmark(
			String(credentials.postmarkUser ?? ''),
			String(credentials.postmarkPassword ?? ''),
			headers.authorization,
		);
	return false;
}

/** The events not seen before, recorded with their one-time token in one transaction. */
async function record(
	ctx: IWebhookFunctions,
	credentialsOf: CredentialsOf,
	service: EmailService,
	events: ReturnType<typeof normalizeEmailEvents>,
	token: string | undefined,
): Promise<IWebhookResponseData> {
	const store = await getStore(ctx, credentialsOf);
	const scope = `email:${service}:${ctx.getWorkflow().id ?? ''}:${ctx.getNode().id}`;
	const emitted = await store.atomically(async (tx) => {
		// The token is kept with the events, in the same transaction: a delivery that fails is retried with it.
		if (token && !(await tx.markProcessed(scope, [token])).has(token)) return undefined;
		const seen = await tx.findProcessed(
			scope,
			events.map((e) => e.eventId),
		);
		const unseen = events.filter((e) => !seen.has(e.eventId));
		const personOf = await recordEmailEvents(tx, unseen);
		const fresh = await tx.markProcessed(
			scope,
			unseen.map((e) => e.eventId),
			new Map(unseen.map((e) => [e.eventId, personOf.get(e)!])),
		);
		return unseen
			.filter((e) => fresh.has(e.eventId))
			.map((e) => ({ ...(e as unknown as IDataObject), contactId: personOf.get(e)! }));
	});
	if (!emitted) return answer(ctx, 401, 'This signature was already used: refused as a replay');
	return emitted.length ? { workflowData: [emitted.map((json) => ({ json }))] } : {};
}
