/**
 * Push (Firebase Cloud Messaging HTTP v1): a notification to a token or topic, or an in-app
 * message (FCM data only, to the person's token), within FCM's payload size; what FCM's errors mean.
 */
import type { ProviderError } from './errors';
import { inAppData } from './in-app';
import { payloadBytes, TEXT_LIMITS } from './limits';
import { safeUrl } from './markup';
import {
	fail,
	type BuildResult,
	type BuiltRequest,
	type ChannelModule,
	type OutboundMessage,
	type ProviderBody,
} from './message';
import { lines, obj, str } from './readable';
import type { Violation } from './violations';

export const push: ChannelModule = { build: buildPush, classify: classifyFcmError, read: readPush };

/** A notification as the phone shows it (title, body), or an in-app message as the app shows it. */
function readPush(built: BuiltRequest): string {
	const message = built.kind === 'fcm' ? built.message : {};
	const to = str(message.topic)
		? `To everyone on topic "${str(message.topic)}"`
		: "To the person's device";
	const data = obj(message.data);
	if (str(data.type) === 'in_app')
		return lines(
			"In the person's app (in-app message)",
			str(data.title),
			str(data.body),
			str(data.ctaLabel) && `[${str(data.ctaLabel)}] ${str(data.ctaUrl)}`,
		);
	const n = obj(message.notification);
	return lines(
		`${to} (push notification)`,
		str(n.title),
		str(n.body),
		str(n.image) && `Image: ${str(n.image)}`,
	);
}

function buildPush(m: OutboundMessage): BuildResult {
	if (m.inApp) return buildInApp(m, m.inApp);
	const message: Record<string, unknown> = m.topic ? { topic: m.topic } : { token: m.to };
	if (!m.title && !m.text)
		return fail([
			{ code: 'EMPTY_PUSH', field: 'title', message: 'A push needs a title or a body' },
		]);
	message.notification = {
		...(m.title ? { title: m.title } : {}),
		...(m.text ? { body: m.text } : {}),
		...(m.imageUrl ? { image: m.imageUrl } : {}),
	};
	if (m.data) {
		const bad = Object.entries(m.data).find(([, v]) => typeof v !== 'string');
		if (bad)
			return fail([
				{
					code: 'DATA_NOT_STRING',
					field: 'data',
					message: `Push data value "${bad[0]}" must be text`,
				},
			]);
		message.data = m.data;
	}
	const bytes = payloadBytes(message);
	if (bytes > TEXT_LIMITS.pushPayloadBytes)
		return fail([
			{
				code: 'PAYLOAD_TOO_LARGE',
				field: 'data',
				message: `The push payload is ${bytes} bytes; FCM allows ${TEXT_LIMITS.pushPayloadBytes}`,
			},
		]);
	return { ok: true, built: { kind: 'fcm', message, info: { payloadBytes: bytes } } };
}

/**
 * Data only (no notification): the app shows it in its own UI; a topic would reach people whose
 * consent was not checked, so an in-app message goes to the person's token only.
 */
function buildInApp(m: OutboundMessage, inApp: NonNullable<OutboundMessage['inApp']>): BuildResult {
	const v: Violation[] = [];
	if (m.topic)
		v.push({
			code: 'IN_APP_TOPIC',
			field: 'pushTopic',
			message: "An in-app message goes to one person's app, not to a topic",
		});
	if (!inApp.payload.title.trim() && !inApp.payload.body.trim())
		v.push({
			code: 'EMPTY_IN_APP',
			field: 'title',
			message: 'An in-app message needs a title or a body',
		});
	if (inApp.payload.ctaUrl && !safeUrl(inApp.payload.ctaUrl, ['https:', 'http:']))
		v.push({
			code: 'BAD_CTA_URL',
			field: 'inAppCtaUrl',
			message: `Call to Action URL "${inApp.payload.ctaUrl.slice(0, 80)}" is not an http(s) URL`,
		});
	if (v.length) return fail(v);
	const message = {
		token: m.to,
		data: {
			...(m.data ?? {}),
			...inAppData(inApp.id, inApp.payload, inApp.inboxToken),
		},
		android: { priority: 'high' },
		apns: {
			headers: { 'apns-push-type': 'background', 'apns-priority': '5' },
			payload: { aps: { 'content-available': 1 } },
		},
	};
	const bytes = payloadBytes(message);
	if (bytes > TEXT_LIMITS.pushPayloadBytes)
		return fail([
			{
				code: 'PAYLOAD_TOO_LARGE',
				field: 'data',
				message: `The in-app message is ${bytes} bytes; FCM allows ${TEXT_LIMITS.pushPayloadBytes}`,
			},
		]);
	return {
		ok: true,
		built: {
			kind: 'fcm',
			message,
			info: {
				payloadBytes: bytes,
				inAppId: inApp.id,
				inAppExpiresHours: inApp.expiresHours,
			},
		},
	};
}

function classifyFcmError(status: number, b: ProviderBody): ProviderError {
	const e = b?.error ?? {};
	const fcmCode =
		(e.details ?? []).find((d: NonNullable<ProviderBody>) => d.errorCode)?.errorCode ?? e.status;
	if (fcmCode === 'UNREGISTERED' || status === 404)
		return {
			retryable: false,
			code: 'UNREGISTERED',
			reason: 'DEAD_TOKEN',
			httpStatus: status,
			message: 'The push token is no longer valid (UNREGISTERED): stop using it',
		};
	if (fcmCode === 'QUOTA_EXCEEDED' || status === 429)
		return {
			retryable: true,
			code: 'QUOTA_EXCEEDED',
			reason: 'RATE_LIMITED',
			httpStatus: status,
			message: 'FCM quota exceeded: retried with backoff',
		};
	if (fcmCode === 'UNAVAILABLE' || fcmCode === 'INTERNAL' || status >= 500)
		return {
			retryable: true,
			code: String(fcmCode ?? status),
			httpStatus: status,
			message: `FCM ${fcmCode ?? status}: retried`,
		};
	if (status === 401 || status === 403)
		return {
			retryable: false,
			code: String(fcmCode ?? status),
			reason: 'AUTH',
			httpStatus: status,
			message: 'FCM refused the service account: check the credential',
		};
	return {
		retryable: false,
		code: String(fcmCode ?? status),
		reason: 'REJECTED',
		httpStatus: status,
		message: `FCM rejected the message: ${e.message ?? ''}`,
	};
}
