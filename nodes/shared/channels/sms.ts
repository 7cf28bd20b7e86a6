/**
 * SMS (Twilio's Messages API): the request as Twilio documents it, within the segments the
 * marketer allows (sms-segments.ts), and what Twilio's error codes mean.
 */
import { numberedChoices } from './choices';
import type { ProviderError } from './errors';
import { checkSms } from './limits';
import { safeUrl } from './markup';
import { smsInfo } from './sms-segments';
import {
	fail,
	type BuildContext,
	type BuildResult,
	type BuiltRequest,
	type ChannelModule,
	type OutboundMessage,
	type ProviderBody,
} from './message';
import { httpRequest, lines } from './readable';

export const sms: ChannelModule = { build: buildSms, classify: classifySmsError, read: readSms };

/** The text as the phone shows it, and what it costs: its segments and encoding. */
function readSms(built: BuiltRequest): string {
	const form = httpRequest(built)?.form ?? {};
	const text = String(form.Body ?? '');
	const info = smsInfo(text);
	const media = ([] as string[]).concat(form.MediaUrl ?? []);
	const cost = `${info.segments} SMS segment${info.segments === 1 ? '' : 's'}, ${info.encoding}, ${info.characters} characters`;
	return lines(
		`To ${String(form.To ?? '')} by SMS`,
		text,
		`(${cost}${media.length ? `; MMS with ${media.length} file${media.length === 1 ? '' : 's'}` : ''})`,
	);
}

function buildSms(m: OutboundMessage, ctx: BuildContext): BuildResult {
	if (m.choices?.length)
		return buildSms(
			{ ...m, text: numberedChoices(m.text ?? '', m.choices), choices: undefined },
			ctx,
		);
	const v = checkSms(m.text ?? '', m.maxSegments ?? 0);
	if (!/^\+[1-9]\d{6,14}$/.test(m.to))
		v.push({
			code: 'INVALID_ADDRESS',
			field: 'to',
			message: `"${m.to}" is not an E.164 number`,
		});
	if (!ctx.smsFrom && !ctx.messagingServiceSid)
		v.push({
			code: 'NO_SENDER',
			field: 'from',
			message: 'The Twilio credential has neither a From number nor a Messaging Service SID',
		});
	if (v.length) return fail(v);
	const media = m.mediaUrls ?? [];
	if (media.length > 10)
		return fail([
			{
				code: 'TOO_MANY_MEDIA',
				field: 'mediaUrls',
				message: `${media.length} media URLs; an MMS carries at most 10`,
			},
		]);
	const badMedia = media.find((u) => !safeUrl(u, ['https:', 'http:']));
	if (badMedia !== undefined)
		return fail([
			{
				code: 'BAD_MEDIA_URL',
				field: 'mediaUrls',
				message: `Media URL "${badMedia.slice(0, 80)}" is not a public http(s) URL`,
			},
		]);
	const form: Record<string, string | string[]> = { To: m.to, Body: m.text! };
	if (ctx.messagingServiceSid) form.MessagingServiceSid = ctx.messagingServiceSid;
	else form.From = ctx.smsFrom!;
	if (media.length) form.MediaUrl = media;
	if (m.statusCallback) {
		const callback = safeUrl(m.statusCallback, ['https:', 'http:']);
		if (!callback)
			return fail([
				{
					code: 'BAD_STATUS_CALLBACK',
					field: 'statusCallback',
					message: `Status Callback URL "${m.statusCallback.slice(0, 80)}" is not an http(s) URL`,
				},
			]);
		form.StatusCallback = callback;
	}
	const info = smsInfo(m.text!);
	return {
		ok: true,
		built: {
			kind: 'http',
			request: {
				method: 'POST',
				path: `/2010-04-01/Accounts/${ctx.accountSid}/Messages.json`,
				form,
			},
			info: { encoding: info.encoding, segments: info.segments },
		},
	};
}

function classifySmsError(status: number, b: ProviderBody): ProviderError {
	const code = Number(b?.code);
	if (status === 429 || code === 20429)
		return {
			retryable: true,
			code: String(code || 429),
			reason: 'RATE_LIMITED',
			httpStatus: status,
			message: 'Twilio rate limit: retried with backoff',
		};
	if (code === 21211 || code === 21614)
		return {
			retryable: false,
			code: String(code),
			reason: 'INVALID_ADDRESS',
			httpStatus: status,
			message: `Invalid phone number (${code})`,
		};
	if (code === 21610)
		return {
			retryable: false,
			code: '21610',
			reason: 'UNSUBSCRIBED',
			httpStatus: status,
			message: 'The person replied STOP to this sender (21610): do not text them',
		};
	if (status === 401 || code === 20003)
		return {
			retryable: false,
			code: String(code || 401),
			reason: 'AUTH',
			httpStatus: status,
			message: 'Twilio rejected the Account SID / Auth Token: update the credential',
		};
	if (
		code === 21606 ||
		code === 21212 ||
		code === 21660 ||
		code === 21703 ||
		code === 21704 ||
		code === 20404
	) {
		return {
			retryable: false,
			code: String(code),
			reason: 'CONFIG',
			httpStatus: status,
			message:
				`Twilio refused the sender (${code}): check From or the Messaging Service SID in the credential. ${b?.message ?? ''}`.trim(),
		};
	}
	if (status >= 500)
		return {
			retryable: true,
			code: String(status),
			httpStatus: status,
			message: `Twilio error ${status}: retried`,
		};
	return {
		retryable: false,
		code: String(code || status),
		reason: 'REJECTED',
		httpStatus: status,
		message: `Rejected by Twilio (${code || status}): ${b?.message ?? ''}`,
	};
}
