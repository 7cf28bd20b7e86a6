/**
 * Twilio Programmable Messaging: POST /2010-04-01/Accounts/{AccountSid}/Messages.json,
 * form-encoded, HTTP Basic auth (AccountSid:AuthToken), Twilio's Message resource and errors.
 */
import { randomBytes } from 'node:crypto';

import { MockServer, type MockResponse, type RecordedRequest } from './base';

const GSM7 =
	'@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';
const GSM7_EXT = '^{}\\[~]|€\f';

/** Honest segment count, as carriers count it (GSM-7 160/153, else UCS-2 70/67 in UTF-16 units). */
export function countSegments(text: string): { encoding: 'GSM-7' | 'UCS-2'; segments: number } {
	let septets = 0;
	let gsm = true;
	for (const ch of text) {
		if (GSM7.includes(ch)) septets += 1;
		else if (GSM7_EXT.includes(ch)) septets += 2;
		else {
			gsm = false;
			break;
		}
	}
	if (gsm) return { encoding: 'GSM-7', segments: septets <= 160 ? 1 : Math.ceil(septets / 153) };
	const units = text.length;
	return { encoding: 'UCS-2', segments: units <= 70 ? 1 : Math.ceil(units / 67) };
}

export function twilioError(status: number, code: number, message: string): MockResponse {
	return {
		status,
		body: { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status },
	};
}

export class TwilioMock extends MockServer {
	accountSid = 'AC' + 'a'.repeat(32);
	authToken = 'twilio-test-auth-token';
	readonly unsubscribed = new Set<string>();
	/** MMS media by MediaSid (ME...). */
	readonly media = new Map<string, { bytes: Buffer; mimeType: string }>();
	/** When set, media answers 307 to this base URL + the media SID (a CDN on another host). */
	mediaRedirect: string | undefined;

	constructor() {
		super();
		this.route('POST', '/2010-04-01/Accounts/{sid}/Messages.json', (req, p) =>
			this.create(req, p.sid),
		);
		// MMS media, behind the account's basic auth (HTTP Basic Authentication for media on).
		this.route(
			'GET',
			'/2010-04-01/Accounts/{sid}/Messages/{messageSid}/Media/{mediaSid}',
			(req, p) => {
				if (!this.authorised(req, p.sid)) return twilioError(401, 20003, 'Authenticate');
				// As Twilio does: a 307 to a short-lived signed URL on another host (its CDN on S3).
				if (this.mediaRedirect)
					return {
						status: 307,
						headers: { location: `${this.mediaRedirect}${p.mediaSid}?X-Amz-Signature=mock` },
					};
				const m = this.media.get(p.mediaSid);
				return m
					? { status: 200, body: m.bytes, headers: { 'content-type': m.mimeType } }
					: twilioError(404, 20404, 'The requested resource was not found');
			},
		);
		this.route('GET', '/2010-04-01/Accounts/{sid}.json', (req, p) =>
			this.authorised(req, p.sid)
				? { status: 200, body: { sid: p.sid, friendly_name: 'Test Account', status: 'active' } }
				: twilioError(401, 20003, 'Authenticate'),
		);
	}

	protected rateLimitResponse(): MockResponse {
		return twilioError(429, 20429, 'Too Many Requests');
	}

	private authorised(req: RecordedRequest, sid: string): boolean {
		const h = String(req.headers.authorization ?? '');
		if (!h.startsWith('Basic ')) return false;
		const [user, pass] = Buffer.from(h.slice(6), 'base64').toString('utf8').split(':');
		return user === this.accountSid && pass === this.authToken && sid === this.accountSid;
	}

	private create(req: RecordedRequest, sid: string): MockResponse {
		if (!this.authorised(req, sid)) return twilioError(401, 20003, 'Authenticate');
		if (!String(req.headers['content-type'] ?? '').includes('application/x-www-form-urlencoded')) {
			return twilioError(400, 20001, 'Expected a form-encoded body');
		}
		const b = (req.body ?? {}) as Record<string, string>;
		if (!b.To) return twilioError(400, 21604, "A 'To' phone number is required.");
		if (!/^\+[1-9]\d{6,14}$/.test(b.To))
			return twilioError(400, 21211, `The 'To' number ${b.To} is not a valid phone number.`);
		if (!b.From && !b.MessagingServiceSid)
			return twilioError(400, 21603, "A 'From' phone number is required.");
		if (!b.Body && !b.MediaUrl) return twilioError(400, 21602, 'Message body is required.');
		if ((b.Body ?? '').length > 1600)
			return twilioError(
				400,
				21617,
				'The concatenated message body exceeds the 1600 character limit.',
			);
		if (this.unsubscribed.has(b.To))
			return twilioError(400, 21610, 'Attempt to send to unsubscribed recipient');
		const { segments } = countSegments(b.Body ?? '');
		const now = new Date().toUTCString();
		const messageSid = 'SM' + randomBytes(16).toString('hex');
		return {
			status: 201,
			body: {
				account_sid: sid,
				api_version: '2010-04-01',
				body: b.Body ?? '',
				date_created: now,
				date_sent: null,
				date_updated: now,
				direction: 'outbound-api',
				error_code: null,
				error_message: null,
				from: b.From ?? null,
				messaging_service_sid: b.MessagingServiceSid ?? null,
				num_media: b.MediaUrl ? '1' : '0',
				num_segments: String(segments),
				price: null,
				price_unit: 'USD',
				sid: messageSid,
				status: b.MessagingServiceSid && !b.From ? 'accepted' : 'queued',
				subresource_uris: {
					media: `/2010-04-01/Accounts/${sid}/Messages/${messageSid}/Media.json`,
				},
				to: b.To,
				uri: `/2010-04-01/Accounts/${sid}/Messages/${messageSid}.json`,
			},
		};
	}
}
