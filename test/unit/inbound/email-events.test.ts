/**
 * Each email service's open and click events, as their webhooks document them, become `open` and
 * `click` (the send log's read and clicked); anything unknown stays `other`.
 */
import { normalizeEmailEvents } from '../../../nodes/shared/inbound/email-events';

const kinds = (events: Array<{ kind: string; email: string }>) =>
	events.map((e) => [e.kind, e.email]);

describe('email service events: opens and clicks', () => {
	it('SendGrid open / click / processed', () => {
		const body = [
			{
				email: 'a@x.example',
				event: 'open',
				sg_event_id: 'o1',
				sg_message_id: 'm1',
				timestamp: 1796000000,
			},
			{
				email: 'a@x.example',
				event: 'click',
				url: 'https://shop.example/sale',
				sg_event_id: 'c1',
				sg_message_id: 'm1',
				timestamp: 1796000001,
			},
			{ email: 'a@x.example', event: 'processed', sg_event_id: 'p1', timestamp: 1796000002 },
		];
		expect(kinds(normalizeEmailEvents('sendgrid', body))).toEqual([
			['open', 'a@x.example'],
			['click', 'a@x.example'],
			['other', 'a@x.example'],
		]);
	});
	it('Mailgun opened / clicked', () => {
		for (const [event, kind] of [
			['opened', 'open'],
			['clicked', 'click'],
			['accepted', 'other'],
		]) {
			expect(
				kinds(
					normalizeEmailEvents('mailgun', {
						'event-data': {
							event,
							id: `id-${event}`,
							timestamp: 1796000000,
							recipient: 'b@x.example',
						},
					}),
				),
			).toEqual([[kind, 'b@x.example']]);
		}
	});
	it('Postmark Open / Click', () => {
		expect(
			kinds(
				normalizeEmailEvents('postmark', {
					RecordType: 'Open',
					MessageID: 'pm-1',
					Recipient: 'c@x.example',
					ReceivedAt: '2026-11-30T04:00:00Z',
				}),
			),
		).toEqual([['open', 'c@x.example']]);
		expect(
			kinds(
				normalizeEmailEvents('postmark', {
					RecordType: 'Click',
					MessageID: 'pm-1',
					Recipient: 'c@x.example',
					ReceivedAt: '2026-11-30T04:00:01Z',
				}),
			),
		).toEqual([['click', 'c@x.example']]);
		// Postmark gives opens no id: each open is its own event (by its time), a re-delivered one the same.
		const open = (at: string) =>
			normalizeEmailEvents('postmark', {
				RecordType: 'Open',
				MessageID: 'pm-1',
				Recipient: 'c@x.example',
				ReceivedAt: at,
			})[0].eventId;
		expect(open('2026-11-30T04:00:00Z')).toBe(open('2026-11-30T04:00:00Z'));
		expect(open('2026-11-30T05:30:00Z')).not.toBe(open('2026-11-30T04:00:00Z'));
	});
	it('Amazon SES (event publishing through SNS) Open / Click', () => {
		const sns = (eventType: string) => ({
			MessageId: `sns-${eventType}`,
			Timestamp: '2026-11-30T04:00:00Z',
			Message: JSON.stringify({
				eventType,
				mail: { messageId: 'ses-1', destination: ['d@x.example'] },
			}),
		});
		expect(
			kinds([
				...normalizeEmailEvents('ses', sns('Open')),
				...normalizeEmailEvents('ses', sns('Click')),
			]),
		).toEqual([
			['open', 'd@x.example'],
			['click', 'd@x.example'],
		]);
	});
});
