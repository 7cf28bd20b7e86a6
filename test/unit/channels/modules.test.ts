/**
 * Each channel module on its own (no n8n, no server): the request it builds from a message, as the
 * provider documents it, the rules it enforces, and what its provider's error answers mean.
 */
import { CHANNELS } from '../../../nodes/shared/contact';
import { email } from '../../../nodes/shared/channels/email';
import { metaPage } from '../../../nodes/shared/channels/meta-page';
import type {
	BuildContext,
	BuildResult,
	BuiltRequest,
	OutboundMessage,
} from '../../../nodes/shared/channels/message';
import { push } from '../../../nodes/shared/channels/push';
import {
	buildRequest,
	classifyError,
	CHANNEL_MODULES,
} from '../../../nodes/shared/channels/registry';
import { sms } from '../../../nodes/shared/channels/sms';
import { whatsapp } from '../../../nodes/shared/channels/whatsapp';

const ctx: BuildContext = {
	apiVersion: 'v21.0',
	phoneNumberId: '1055',
	accountSid: 'AC1',
	smsFrom: '+15550001111',
	emailFrom: 'news@shop.example',
};

function built(result: BuildResult): BuiltRequest {
	if (!result.ok) throw new Error(result.violations.map((v) => v.message).join(' '));
	return result.built;
}
const codes = (result: BuildResult) => (result.ok ? [] : result.violations.map((v) => v.code));
const json = (b: BuiltRequest) => (b.kind === 'http' ? b.request.json : undefined);

describe('the registry', () => {
	it('has a module for every channel, and buildRequest goes through it', () => {
		for (const channel of CHANNELS) expect(CHANNEL_MODULES[channel]).toBeDefined();
		const m: OutboundMessage = {
			channel: 'sms',
			to: '+15550002222',
			purpose: 'service',
			text: 'Hi',
		};
		expect(buildRequest(m, ctx)).toEqual(sms.build(m, ctx));
	});

	it('refuses a channel it does not know, naming it', () => {
		const result = buildRequest(
			{ channel: 'fax' as never, to: '1', purpose: 'service', text: 'x' },
			ctx,
		);
		expect(result).toEqual({
			ok: false,
			violations: [{ code: 'UNKNOWN_CHANNEL', field: 'channel', message: 'Unknown channel "fax"' }],
		});
	});

	it('reads no answer as a network error, and a gateway error as an unknown outcome except on email', () => {
		expect(classifyError('sms', undefined, undefined)).toMatchObject({
			retryable: true,
			code: 'NETWORK',
		});
		expect(classifyError('whatsapp', 502, '')).toMatchObject({
			retryable: false,
			reason: 'UNKNOWN_OUTCOME',
		});
		expect(classifyError('email', 502, '')).toMatchObject({ reason: 'REJECTED' });
	});
});

describe('WhatsApp', () => {
	const base: OutboundMessage = { channel: 'whatsapp', to: '+34600000001', purpose: 'service' };

	it('builds a text message to the phone number ID, without the plus', () => {
		const b = built(whatsapp.build({ ...base, text: 'See https://x.example' }, ctx));
		expect(b).toEqual({
			kind: 'http',
			request: {
				method: 'POST',
				path: '/v21.0/1055/messages',
				json: {
					messaging_product: 'whatsapp',
					recipient_type: 'individual',
					to: '34600000001',
					type: 'text',
					text: { preview_url: true, body: 'See https://x.example' },
				},
			},
		});
	});

	it('builds a template with body parameters, and refuses one without a name', () => {
		const b = built(
			whatsapp.build(
				{
					...base,
					whatsappType: 'template',
					templateName: 'order_update',
					templateLanguage: 'es',
					templateBodyParameters: ['Ana', '42'],
				},
				ctx,
			),
		);
		expect(json(b)?.template).toEqual({
			name: 'order_update',
			language: { code: 'es' },
			components: [
				{
					type: 'body',
					parameters: [
						{ type: 'text', text: 'Ana' },
						{ type: 'text', text: '42' },
					],
				},
			],
		});
		expect(codes(whatsapp.build({ ...base, whatsappType: 'template' }, ctx))).toEqual([
			'NO_TEMPLATE',
		]);
	});

	it('sends a file from binary data as an upload first, and checks its type', () => {
		const content = Buffer.from('%PDF-1.4 brochure');
		const b = built(
			whatsapp.build(
				{
					...base,
					whatsappType: 'document',
					mediaUpload: { filename: 'brochure.pdf', mimeType: 'application/pdf', content },
					caption: 'Our brochure',
				},
				ctx,
			),
		);
		expect(b.kind === 'http' && b.upload).toMatchObject({
			path: '/v21.0/1055/media',
			field: 'document',
			filename: 'brochure.pdf',
			mimeType: 'application/pdf',
			bytes: content.length,
		});
		expect(json(b)?.document).toEqual({
			id: '',
			caption: 'Our brochure',
			filename: 'brochure.pdf',
		});
		expect(
			codes(
				whatsapp.build(
					{
						...base,
						whatsappType: 'image',
						mediaUpload: { filename: 'a.exe', mimeType: 'application/x-msdownload', content },
					},
					ctx,
				),
			),
		).toEqual(['MEDIA_TYPE_NOT_SUPPORTED']);
	});

	it('takes a media link only when it is http(s), and an id only when it is digits', () => {
		expect(
			codes(whatsapp.build({ ...base, whatsappType: 'image', mediaUrl: 'javascript:x' }, ctx)),
		).toEqual(['BAD_MEDIA_URL']);
		expect(codes(whatsapp.build({ ...base, whatsappType: 'image', mediaId: '12ab' }, ctx))).toEqual(
			['BAD_MEDIA_ID'],
		);
		const b = built(
			whatsapp.build({ ...base, whatsappType: 'audio', mediaId: '987', caption: 'x' }, ctx),
		);
		expect(json(b)?.audio).toEqual({ id: '987' });
	});

	it('shows up to three short choices as reply buttons, more as a list', () => {
		const three = [1, 2, 3].map((n) => ({ id: `c${n}`, title: `Choice ${n}` }));
		const buttons = built(whatsapp.build({ ...base, text: 'Pick', choices: three }, ctx));
		expect((json(buttons)?.interactive as { type: string }).type).toBe('button');
		const five = [1, 2, 3, 4, 5].map((n) => ({ id: `c${n}`, title: `Choice ${n}` }));
		const list = built(whatsapp.build({ ...base, text: 'Pick', choices: five }, ctx));
		expect((json(list)?.interactive as { type: string }).type).toBe('list');
	});

	it('checks a location and contact cards', () => {
		expect(
			codes(
				whatsapp.build(
					{ ...base, whatsappType: 'location', location: { latitude: 91, longitude: 0 } },
					ctx,
				),
			),
		).toEqual(['BAD_LOCATION']);
		expect(codes(whatsapp.build({ ...base, whatsappType: 'contacts', contacts: [] }, ctx))).toEqual(
			['NO_CONTACTS'],
		);
	});

	it("reads Meta's error codes", () => {
		const answer = (code: number, status = 400, subcode?: number) =>
			whatsapp.classify(status, { error: { code, error_subcode: subcode, message: 'm' } });
		expect(answer(131047).reason).toBe('WINDOW_CLOSED');
		expect(answer(130429).reason).toBe('RATE_LIMITED');
		expect(answer(130429).retryable).toBe(true);
		expect(answer(190, 401).reason).toBe('AUTH');
		expect(answer(100, 400, 33).reason).toBe('CONFIG');
		expect(answer(132001).reason).toBe('TEMPLATE');
		expect(answer(131026).reason).toBe('INVALID_ADDRESS');
		expect(answer(131050).reason).toBe('UNSUBSCRIBED');
		expect(answer(131000, 500).retryable).toBe(true);
		expect(answer(1, 400)).toMatchObject({ reason: 'REJECTED', retryable: false });
	});
});

describe('Messenger and Instagram', () => {
	const base: OutboundMessage = {
		channel: 'messenger',
		to: 'PSID1',
		purpose: 'service',
		text: 'Hi',
	};

	it('sends to /me/messages with choices as quick replies whose payload is the id', () => {
		const b = built(
			metaPage.build({ ...base, choices: [{ id: 'yes', title: 'Yes please' }] }, ctx),
		);
		expect(b).toEqual({
			kind: 'http',
			request: {
				method: 'POST',
				path: '/v21.0/me/messages',
				json: {
					recipient: { id: 'PSID1' },
					messaging_type: 'RESPONSE',
					message: {
						text: 'Hi',
						quick_replies: [{ content_type: 'text', title: 'Yes please', payload: 'yes' }],
					},
				},
			},
		});
	});

	it('tags a message HUMAN_AGENT, never a marketing one', () => {
		const tagged = built(metaPage.build({ ...base, messagingType: 'MESSAGE_TAG' }, ctx));
		expect(json(tagged)?.tag).toBe('HUMAN_AGENT');
		expect(
			codes(
				metaPage.build(
					{ ...base, channel: 'instagram', purpose: 'marketing', messagingType: 'MESSAGE_TAG' },
					ctx,
				),
			),
		).toEqual(['TAG_NOT_FOR_PROMOTION']);
	});

	it('reads the 24 h window refusal as WINDOW_CLOSED', () => {
		expect(metaPage.classify(400, { error: { code: 10, error_subcode: 2018278 } }).reason).toBe(
			'WINDOW_CLOSED',
		);
	});
});

describe('SMS', () => {
	const base: OutboundMessage = {
		channel: 'sms',
		to: '+15550002222',
		purpose: 'service',
		text: 'Hi',
	};

	it("posts Twilio's form with the sender, media and status callback", () => {
		const b = built(
			sms.build(
				{
					...base,
					mediaUrls: ['https://cdn.example/a.png'],
					statusCallback: 'https://n8n.example/webhook/status',
				},
				ctx,
			),
		);
		expect(b).toEqual({
			kind: 'http',
			request: {
				method: 'POST',
				path: '/2010-04-01/Accounts/AC1/Messages.json',
				form: {
					To: '+15550002222',
					Body: 'Hi',
					From: '+15550001111',
					MediaUrl: ['https://cdn.example/a.png'],
					StatusCallback: 'https://n8n.example/webhook/status',
				},
			},
			info: { encoding: 'GSM-7', segments: 1 },
		});
	});

	it('numbers choices in the text, and refuses a number that is not E.164 or no sender', () => {
		const b = built(sms.build({ ...base, choices: [{ id: 'a', title: 'Yes' }] }, ctx));
		expect(b.kind === 'http' && b.request.form?.Body).toBe('Hi\n1. Yes');
		expect(codes(sms.build({ ...base, to: '555' }, { ...ctx, smsFrom: undefined }))).toEqual([
			'INVALID_ADDRESS',
			'NO_SENDER',
		]);
	});

	it("reads Twilio's error codes", () => {
		expect(sms.classify(400, { code: 21610 }).reason).toBe('UNSUBSCRIBED');
		expect(sms.classify(400, { code: 21211 }).reason).toBe('INVALID_ADDRESS');
		expect(sms.classify(401, { code: 20003 }).reason).toBe('AUTH');
		expect(sms.classify(400, { code: 21606 }).reason).toBe('CONFIG');
		expect(sms.classify(429, { code: 20429 })).toMatchObject({
			reason: 'RATE_LIMITED',
			retryable: true,
		});
	});
});

describe('Push', () => {
	const base: OutboundMessage = { channel: 'push', to: 'tok1', purpose: 'service' };

	it('builds a notification to the token, and refuses an empty one', () => {
		const b = built(push.build({ ...base, title: 'Sale', text: 'Today only' }, ctx));
		expect(b.kind === 'fcm' && b.message).toEqual({
			token: 'tok1',
			notification: { title: 'Sale', body: 'Today only' },
		});
		expect(codes(push.build(base, ctx))).toEqual(['EMPTY_PUSH']);
	});

	it('sends an in-app message as data only, never to a topic', () => {
		const inApp = {
			id: 'ia1',
			inboxToken: 't',
			expiresHours: 72,
			payload: { title: 'Hello', body: 'In the app', expiresAt: '2027-01-01T00:00:00.000Z' },
		};
		const b = built(push.build({ ...base, inApp }, ctx));
		expect(b.kind === 'fcm' && b.message.notification).toBeUndefined();
		expect(b.kind === 'fcm' && (b.message.data as Record<string, string>).type).toBe('in_app');
		expect(codes(push.build({ ...base, inApp, topic: 'news' }, ctx))).toEqual(['IN_APP_TOPIC']);
	});

	it("reads FCM's errors", () => {
		const answer = (status: number, errorCode?: string) =>
			push.classify(status, { error: { details: errorCode ? [{ errorCode }] : [] } });
		expect(answer(404, 'UNREGISTERED').reason).toBe('DEAD_TOKEN');
		expect(answer(429, 'QUOTA_EXCEEDED').retryable).toBe(true);
		expect(answer(401).reason).toBe('AUTH');
		expect(answer(400, 'INVALID_ARGUMENT').reason).toBe('REJECTED');
	});
});

describe('Email', () => {
	const base: OutboundMessage = {
		channel: 'email',
		to: 'ana@example.com',
		purpose: 'marketing',
		subject: 'News',
		text: 'Hello',
		unsubscribeUrl: 'https://n8n.example/webhook/unsubscribe?t=1',
		postalAddress: '1 Main St, Springfield',
	};

	it('adds the one-click unsubscribe headers and the postal footer to marketing email', () => {
		const b = built(email.build(base, ctx));
		expect(b.kind === 'email' && b.email.headers).toEqual({
			'List-Unsubscribe': '<https://n8n.example/webhook/unsubscribe?t=1>',
			'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
		});
		expect(b.kind === 'email' && b.email.text).toBe(
			'Hello\n\n--\n1 Main St, Springfield\nUnsubscribe: https://n8n.example/webhook/unsubscribe?t=1',
		);
		expect(b.kind === 'email' && b.email.from).toBe('news@shop.example');
	});

	it('refuses marketing email without an unsubscribe link or postal address, and copies on it', () => {
		expect(
			codes(
				email.build(
					{ ...base, unsubscribeUrl: undefined, postalAddress: undefined, cc: ['b@example.com'] },
					ctx,
				),
			),
		).toEqual(['COPIES_NEED_CONSENT', 'NO_ONE_CLICK_UNSUBSCRIBE', 'NO_POSTAL_ADDRESS']);
	});

	it('reads SMTP reply codes', () => {
		expect(email.classify(535, undefined).reason).toBe('AUTH');
		expect(email.classify(550, undefined).reason).toBe('INVALID_ADDRESS');
		expect(email.classify(554, undefined)).toMatchObject({ reason: 'REJECTED', retryable: false });
		expect(email.classify(421, undefined).retryable).toBe(true);
	});
});

describe('how each channel reads a built message to the person (a Dry Run shows it first)', () => {
	const base = { to: '+34600111222', purpose: 'marketing' } as const;
	const read = (m: OutboundMessage) => CHANNEL_MODULES[m.channel].read(built(buildRequest(m, ctx)));

	it('WhatsApp: a template with its parameters filled in, a text, reply buttons', () => {
		expect(
			read({
				...base,
				channel: 'whatsapp',
				whatsappType: 'template',
				templateName: 'cart_reminder',
				templateLanguage: 'es',
				templateBodyParameters: ['Ana', '49,90 €'],
			}),
		).toBe(
			'To +34600111222 on WhatsApp\nApproved template "cart_reminder" (es)\nbody {{1}} = Ana, body {{2}} = 49,90 €',
		);
		expect(read({ ...base, channel: 'whatsapp', text: 'Hola Ana' })).toBe(
			'To +34600111222 on WhatsApp\nHola Ana',
		);
		expect(
			read({
				...base,
				channel: 'whatsapp',
				text: 'Which store?',
				choices: [
					{ id: 'sol', title: 'Sol' },
					{ id: 'sal', title: 'Salamanca' },
				],
			}),
		).toBe('To +34600111222 on WhatsApp\nWhich store?\n[Sol] [Salamanca]');
	});

	it('SMS: the text and what it costs (segments, encoding)', () => {
		expect(read({ ...base, channel: 'sms', text: 'Hola ' + 'x'.repeat(200) })).toMatch(
			/^To \+34600111222 by SMS\nHola x+\n\(2 SMS segments, GSM-7, 205 characters\)$/,
		);
		expect(read({ ...base, channel: 'sms', text: 'Olá 😀' })).toMatch(/1 SMS segment, UCS-2/);
	});

	it('Messenger: the text and its quick replies', () => {
		expect(
			read({
				...base,
				channel: 'messenger',
				to: 'PSID1',
				text: 'Book now?',
				messagingType: 'RESPONSE',
				quickReplies: ['Yes', 'No'],
			}),
		).toBe('To PSID1\nBook now?\n[Yes] [No]');
	});

	it('push: the notification as the phone shows it', () => {
		expect(
			read({ ...base, channel: 'push', to: 'tok', title: 'Your cart', text: 'Still there' }),
		).toBe("To the person's device (push notification)\nYour cart\nStill there");
	});

	it('email: the envelope, then the text', () => {
		expect(
			read({
				...base,
				channel: 'email',
				to: 'ana@example.com',
				subject: 'Hello',
				text: 'Our offers',
				purpose: 'transactional',
			}),
		).toBe('To ana@example.com\nFrom: news@shop.example\nSubject: Hello\n\nOur offers');
	});
});

describe('a WhatsApp template read with named parameters and other components', () => {
	it('names each placeholder as the template does, and a header parameter as the header', () => {
		const text = CHANNEL_MODULES.whatsapp.read(
			built(
				buildRequest(
					{
						to: '+34600111222',
						purpose: 'marketing',
						channel: 'whatsapp',
						whatsappType: 'template',
						templateName: 'welcome',
						templateLanguage: 'es',
						templateComponents: [
							{ type: 'header', parameters: [{ type: 'text', text: 'Glow' }] },
							{
								type: 'body',
								parameters: [{ type: 'text', parameter_name: 'first_name', text: 'Ana' }],
							},
						],
					},
					ctx,
				),
			),
		);
		expect(text).toBe(
			'To +34600111222 on WhatsApp\nApproved template "welcome" (es)\nheader {{1}} = Glow, body {{first_name}} = Ana',
		);
	});
});
