/**
 * Each channel's hard limits and the checks on a message's content, in one home: Touchpoint
 * validates before a request leaves, AI Content validates generated copy with the same code.
 */
import { smsInfo, SMS_LIMITS } from './sms-segments';
import type { Violation } from './violations';

export const TEXT_LIMITS = {
	whatsappText: 4096,
	whatsappTemplateBody: 1024,
	messenger: 2000,
	instagram: 1000,
	quickReplyTitle: 20,
	quickReplies: 13,
	whatsappInteractiveBody: 1024,
	whatsappButtons: 3,
	whatsappButtonTitle: 20,
	whatsappListRows: 10,
	whatsappListRowTitle: 24,
	whatsappListButton: 20,
	whatsappReplyId: 256,
	pushPayloadBytes: 4096,
	emailSubjectRecommended: 78,
} as const;

/** The files a WhatsApp media message may carry (Meta's supported media types and sizes). */
export const WHATSAPP_MEDIA = {
	image: { types: ['image/jpeg', 'image/png'], maxBytes: 5 * 1024 * 1024 },
	audio: {
		types: ['audio/aac', 'audio/amr', 'audio/mpeg', 'audio/mp4', 'audio/ogg'],
		maxBytes: 16 * 1024 * 1024,
	},
	video: { types: ['video/mp4', 'video/3gpp'], maxBytes: 16 * 1024 * 1024 },
	document: {
		types: [
			'text/plain',
			'application/pdf',
			'application/msword',
			'application/vnd.ms-excel',
			'application/vnd.ms-powerpoint',
			'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
			'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
			'application/vnd.openxmlformats-officedocument.presentationml.presentation',
		],
		maxBytes: 100 * 1024 * 1024,
	},
} as const;

const chars = (s: string) => [...s].length;

export function checkText(
	channel: 'whatsapp' | 'messenger' | 'instagram',
	text: string,
): Violation[] {
	const max =
		channel === 'whatsapp'
			? TEXT_LIMITS.whatsappText
			: channel === 'messenger'
				? TEXT_LIMITS.messenger
				: TEXT_LIMITS.instagram;
	if (!text || !text.trim())
		return [{ code: 'EMPTY_TEXT', field: 'text', message: 'The message text is empty' }];
	const n = chars(text);
	return n > max
		? [
				{
					code: 'TEXT_TOO_LONG',
					field: 'text',
					message: `The text has ${n} characters; ${channel} allows ${max}. Shorten it.`,
				},
			]
		: [];
}

export function checkSms(text: string, maxSegments: number): Violation[] {
	if (!text || !text.trim())
		return [{ code: 'EMPTY_TEXT', field: 'text', message: 'The SMS text is empty' }];
	const info = smsInfo(text);
	const out: Violation[] = [];
	if (info.characters > SMS_LIMITS.providerMaxChars) {
		out.push({
			code: 'SMS_TOO_LONG',
			field: 'text',
			message: `The SMS has ${info.characters} characters; providers accept at most ${SMS_LIMITS.providerMaxChars}.`,
		});
	}
	if (maxSegments > 0 && info.segments > maxSegments) {
		const why =
			info.encoding === 'UCS-2'
				? ` It is UCS-2 because of ${info.nonGsmCharacters.map((c) => JSON.stringify(c)).join(' ')}: replacing them makes segments of 153 characters instead of 67.`
				: '';
		out.push({
			code: 'TOO_MANY_SEGMENTS',
			field: 'text',
			message: `The SMS needs ${info.segments} ${info.encoding} segments; Max Segments is ${maxSegments}.${why}`,
		});
	}
	return out;
}

export function payloadBytes(message: unknown): number {
	return Buffer.byteLength(JSON.stringify(message), 'utf8');
}
