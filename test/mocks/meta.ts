/**
 * Meta Graph API send endpoints as WhatsApp Cloud, Messenger and Instagram speak them, with
 * Meta's own success and error bodies: 131047 (outside the 24 h window, produced by the mock
 * itself for free-form WhatsApp messages), 130429 (throughput), 131056 (pair rate), 100, 190.
 */
import { createHash, randomBytes } from 'node:crypto';

import { MockServer, bearer, type MockResponse, type RecordedRequest } from './base';

export function metaError(
	status: number,
	code: number,
	message: string,
	extra: { type?: string; subcode?: number; details?: string } = {},
): MockResponse {
	return {
		status,
		body: {
			error: {
				message,
				type: extra.type ?? 'OAuthException',
				code,
				...(extra.subcode ? { error_subcode: extra.subcode } : {}),
				error_data: { messaging_product: 'whatsapp', details: extra.details ?? message },
				fbtrace_id: randomBytes(8).toString('base64url'),
			},
		},
	};
}

const WINDOW_MS = 24 * 3600 * 1000;

export class MetaGraphMock extends MockServer {
	accessToken = 'meta-test-token';
	phoneNumberId = '106540352242922';
	pageId = '104000000000001';
	private lastInbound = new Map<string, number>();
	private lastToRecipient = new Map<string, number>();
	/** Enforce Meta's ~1 message per 6 s to the same person (131056) when true. */
	pairRateLimit = false;
	/** The account's message templates (the message_templates edge pages through them). */
	templates: Array<{
		name: string;
		language: string;
		status: string;
		category: string;
		components?: unknown[];
	}> = [];
	/** WhatsApp ids of people who stopped marketing from the business: a template to them is 131050. */
	readonly marketingOptedOut = new Set<string>();
	/** Media held by the account: uploaded through /media, or put here as a person's inbound file. */
	readonly media = new Map<
		string,
		{ bytes: Buffer; mimeType: string; sha256: string; filename?: string }
	>();
	/** Files behind Messenger / Instagram attachment URLs ({baseUrl}/cdn/{name}). */
	readonly cdn = new Map<string, { bytes: Buffer; mimeType: string }>();
	/** Downloads of media bytes (GET on the media URL). */
	downloads = 0;

	/** A file as if a person had sent it: its id for an inbound webhook fixture, and its sha256 (base64, as Meta writes it). */
	addMedia(bytes: Buffer, mimeType: string): { id: string; sha256: string } {
		const id = String(1_000_000_000_000_000n + BigInt(this.media.size + 1));
		const sha256 = createHash('sha256').update(bytes).digest('base64');
		this.media.set(id, { bytes, mimeType, sha256 });
		return { id, sha256 };
	}

	constructor() {
		super();
		// Messenger / Instagram first: 'me' would otherwise match the phone-number-id route.
		this.route('POST', '/{version}/me/messages', (req) => this.messenger(req));
		this.route('POST', '/{version}/{phoneNumberId}/messages', (req, p) =>
			this.whatsapp(req, p.phoneNumberId),
		);
		// Media upload (multipart: messaging_product, type, file) as the Cloud API documents it.
		this.route('POST', '/{version}/{phoneNumberId}/media', async (req, p) => {
			if (!this.authorised(req)) return this.unauthorised();
			if (p.phoneNumberId !== this.phoneNumberId)
				return metaError(
					400,
					100,
					`(#100) Unsupported post request. Object with ID '${p.phoneNumberId}' does not exist`,
					{ type: 'GraphMethodException', subcode: 33 },
				);
			const b = req.body ?? {};
			if (b.messaging_product !== 'whatsapp')
				return metaError(400, 100, '(#100) The parameter messaging_product is required.');
			const file = b.file as Blob | undefined;
			if (!file || typeof (file as Blob).arrayBuffer !== 'function')
				return metaError(400, 100, '(#100) The parameter file is required.');
			const supported = [
				'image/jpeg',
				'image/png',
				'audio/aac',
				'audio/amr',
				'audio/mpeg',
				'audio/mp4',
				'audio/ogg',
				'video/mp4',
				'video/3gpp',
				'application/pdf',
				'text/plain',
			];
			if (!supported.includes(String(b.type)) || file.type !== b.type)
				return metaError(400, 131053, 'Media upload error', {
					details: `Unsupported file type ${String(b.type)}`,
				});
			const id = String(2_000_000_000_000_000n + BigInt(this.media.size + 1));
			const bytes = Buffer.from(await file.arrayBuffer());
			this.media.set(id, {
				bytes,
				mimeType: String(b.type),
				sha256: createHash('sha256').update(bytes).digest('base64'),
				filename: (file as File).name,
			});
			return { status: 200, body: { id } };
		});
		// Messenger / Instagram attachments: a CDN URL that needs no token.
		this.route('GET', '/cdn/{file}', (req, p) => {
			const f = this.cdn.get(p.file);
			if (!f) return { status: 404, body: 'Not found' };
			this.downloads++;
			return { status: 200, body: f.bytes, headers: { 'content-type': f.mimeType } };
		});
		// The media URL: only with the access token, as Meta serves it.
		this.route('GET', '/media-download/{mediaId}', (req, p) => {
			if (!this.authorised(req)) return this.unauthorised();
			const m = this.media.get(p.mediaId);
			if (!m) return { status: 404, body: 'Not found' };
			this.downloads++;
			return { status: 200, body: m.bytes, headers: { 'content-type': m.mimeType } };
		});
		// Graph API paging: `limit` per page, a `paging.next` URL with an `after` cursor while more remain.
		this.route('GET', '/{version}/{wabaId}/message_templates', (req, p) => {
			if (!this.authorised(req)) return this.unauthorised();
			const limit = Math.min(Number(req.query.get('limit') ?? 25), 100);
			const from = Number(Buffer.from(req.query.get('after') ?? '', 'base64url').toString() || 0);
			const name = req.query.get('name');
			const all = name ? this.templates.filter((t) => t.name === name) : this.templates;
			const page = all.slice(from, from + limit);
			const after = Buffer.from(String(from + limit)).toString('base64url');
			const next =
				from + limit < all.length
					? `${this.baseUrl}/${p.version}/${p.wabaId}/message_templates?limit=${limit}&after=${after}`
					: undefined;
			return {
				status: 200,
				body: {
					data: page.map((t, k) => ({ ...t, id: String(1000 + from + k) })),
					paging: { cursors: { before: 'MA', after }, ...(next ? { next } : {}) },
				},
			};
		});
		this.route('GET', '/{version}/me', (req) =>
			this.authorised(req)
				? { status: 200, body: { id: this.pageId, name: 'Test Page' } }
				: this.unauthorised(),
		);
		this.route('GET', '/{version}/{phoneNumberId}', (req, p) =>
			this.authorised(req) && this.media.has(p.phoneNumberId)
				? { status: 200, body: this.mediaInfo(p.phoneNumberId) }
				: this.authorised(req)
					? {
							status: 200,
							body: {
								id: p.phoneNumberId,
								display_phone_number: '+1 555 010 0000',
								verified_name: 'Test Business',
							},
						}
					: this.unauthorised(),
		);
	}

	private mediaInfo(id: string) {
		const m = this.media.get(id)!;
		return {
			messaging_product: 'whatsapp',
			url: `${this.baseUrl}/media-download/${id}`,
			mime_type: m.mimeType,
			sha256: m.sha256,
			file_size: m.bytes.length,
			id,
		};
	}

	/** When the person last wrote (opens the 24 h window). Unknown = never. */
	setLastInbound(waIdOrPsid: string, at: number) {
		this.lastInbound.set(waIdOrPsid.replace(/^\+/, ''), at);
	}

	protected rateLimitResponse(): MockResponse {
		return metaError(429, 130429, '(#130429) Rate limit hit', {
			details: 'Cloud API message throughput has been reached.',
		});
	}

	private authorised(req: RecordedRequest): boolean {
		return (bearer(req) ?? req.query.get('access_token')) === this.accessToken;
	}

	private unauthorised(): MockResponse {
		return metaError(401, 190, 'Error validating access token: Session has expired or is invalid', {
			subcode: 463,
		});
	}

	private whatsapp(req: RecordedRequest, phoneNumberId: string): MockResponse {
		if (!this.authorised(req)) return this.unauthorised();
		if (phoneNumberId !== this.phoneNumberId) {
			return metaError(
				400,
				100,
				`(#100) Unsupported post request. Object with ID '${phoneNumberId}' does not exist`,
				{
					type: 'GraphMethodException',
					subcode: 33,
				},
			);
		}
		const b = req.body;
		if (!b || b.messaging_product !== 'whatsapp')
			return metaError(400, 100, '(#100) The parameter messaging_product is required.');
		if (!b.to) return metaError(400, 100, '(#100) The parameter to is required.');
		const known = [
			'text',
			'template',
			'image',
			'document',
			'audio',
			'video',
			'interactive',
			'location',
			'reaction',
			'sticker',
			'contacts',
		];
		if (!known.includes(b.type ?? 'text'))
			return metaError(400, 100, `(#100) Param type must be one of {${known.join(', ')}}`);
		if (['image', 'document', 'audio', 'video'].includes(b.type)) {
			const m = b[b.type] ?? {};
			if (!m.id === !m.link)
				return metaError(400, 100, `(#100) Param ${b.type} must have either id or link`);
			if (m.id && !this.media.has(String(m.id)))
				return metaError(400, 131053, 'Media upload error', {
					details: `Media id ${String(m.id)} not found`,
				});
		}
		if (
			b.type === 'contacts' &&
			!(
				Array.isArray(b.contacts) &&
				b.contacts.length &&
				b.contacts.every((c: any) => c?.name?.formatted_name)
			)
		) {
			return metaError(400, 100, "(#100) Param contacts[0]['name']['formatted_name'] is required");
		}
		const to = String(b.to).replace(/^\+/, '');
		if ((b.type ?? 'text') === 'text') {
			const text = b.text?.body;
			if (typeof text !== 'string' || text === '')
				return metaError(400, 100, "(#100) The parameter text['body'] is required.");
			if (text.length > 4096)
				return metaError(
					400,
					100,
					"(#100) Param text['body'] must be at most 4096 characters long.",
				);
		}
		const now = Date.now();
		const freeForm = b.type !== 'template';
		const last = this.lastInbound.get(to);
		if (freeForm && (last === undefined || now - last > WINDOW_MS)) {
			return metaError(400, 131047, 'Re-engagement message', {
				details:
					'Message failed to send because more than 24 hours have passed since the customer last replied to this number.',
			});
		}
		if (b.type === 'template' && this.marketingOptedOut.has(to)) {
			return metaError(
				400,
				131050,
				'Unable to deliver the message. This recipient has chosen to stop receiving marketing messages on WhatsApp from your business.',
				{
					details:
						'This recipient has chosen to stop receiving marketing messages on WhatsApp from your business.',
				},
			);
		}
		if (this.pairRateLimit) {
			const prev = this.lastToRecipient.get(to);
			if (prev !== undefined && now - prev < 6000) {
				return metaError(400, 131056, '(Business Account, Consumer Account) pair rate limit hit', {
					details:
						'Too many messages sent from the sender phone number to the same recipient phone number in a short period of time.',
				});
			}
			this.lastToRecipient.set(to, now);
		}
		return {
			status: 200,
			body: {
				messaging_product: 'whatsapp',
				contacts: [{ input: String(b.to), wa_id: to }],
				messages: [{ id: `wamid.${randomBytes(24).toString('base64url')}` }],
			},
		};
	}

	private messenger(req: RecordedRequest): MockResponse {
		if (!this.authorised(req)) return this.unauthorised();
		const b = req.body;
		const id = b?.recipient?.id;
		if (!id) return metaError(400, 100, '(#100) The parameter recipient is required');
		const text: unknown = b.message?.text;
		if (typeof text === 'string' && text.length > 2000) {
			return metaError(
				400,
				100,
				'(#100) Length of param message[text] must be less than or equal to 2000',
			);
		}
		const type = b.messaging_type ?? 'RESPONSE';
		const last = this.lastInbound.get(String(id));
		const now = Date.now();
		if (type !== 'MESSAGE_TAG' && (last === undefined || now - last > WINDOW_MS)) {
			return metaError(400, 10, '(#10) This message is sent outside of allowed window.', {
				subcode: 2018278,
			});
		}
		if (
			type === 'MESSAGE_TAG' &&
			b.tag === 'HUMAN_AGENT' &&
			(last === undefined || now - last > 7 * WINDOW_MS)
		) {
			return metaError(400, 10, '(#10) This message is sent outside of allowed window.', {
				subcode: 2018278,
			});
		}
		return {
			status: 200,
			body: { recipient_id: String(id), message_id: `m_${randomBytes(18).toString('base64url')}` },
		};
	}
}
