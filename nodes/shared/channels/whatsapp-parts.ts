/** WhatsApp's richer message parts: contact cards, reply buttons or a list, and media files' rules. */
import type { Choice } from './choices';
import { numberedChoices } from './choices';
import { checkText, TEXT_LIMITS, WHATSAPP_MEDIA } from './limits';
import type { ContactCard, MediaFile } from './message';
import type { Violation } from './violations';

/** A WhatsApp contacts message's cards, in the shape Meta documents; violations name the card. */
export function whatsappContacts(
	cards: ContactCard[],
): { contacts: Array<Record<string, unknown>> } | { violations: Violation[] } {
	if (!cards.length)
		return {
			violations: [
				{
					code: 'NO_CONTACTS',
					field: 'contacts',
					message: 'Contact Cards is empty: add at least one card with a Formatted Name',
				},
			],
		};
	const violations: Violation[] = [];
	const contacts = cards.map((c, k) => {
		if (!c.formattedName?.trim())
			violations.push({
				code: 'NO_CONTACT_NAME',
				field: 'contacts',
				message: `Contact card ${k + 1} has no Formatted Name (WhatsApp requires one)`,
			});
		if (!c.phone?.trim() && !c.email?.trim())
			violations.push({
				code: 'EMPTY_CONTACT',
				field: 'contacts',
				message: `Contact card ${k + 1} ("${(c.formattedName ?? '').slice(0, 40)}") has neither a phone nor an email`,
			});
		const phone = c.phone?.trim();
		const digits = phone ? phone.replace(/[^\d]/g, '') : '';
		return {
			name: {
				formatted_name: c.formattedName?.trim(),
				...(c.firstName ? { first_name: c.firstName } : {}),
				...(c.lastName ? { last_name: c.lastName } : {}),
			},
			...(phone
				? {
						phones: [
							{
								phone,
								type: 'WORK',
								...(phone.startsWith('+') && digits.length >= 7 ? { wa_id: digits } : {}),
							},
						],
					}
				: {}),
			...(c.email?.trim() ? { emails: [{ email: c.email.trim(), type: 'WORK' }] } : {}),
			...(c.company ? { org: { company: c.company } } : {}),
			...(c.url ? { urls: [{ url: c.url, type: 'WORK' }] } : {}),
		};
	});
	return violations.length ? { violations } : { contacts };
}

/** A file for a WhatsApp media message, checked against Meta's types and sizes for that kind. */
export function mediaFileProblems(type: keyof typeof WHATSAPP_MEDIA, file: MediaFile): Violation[] {
	const rule = WHATSAPP_MEDIA[type];
	const mime = file.mimeType.split(';')[0].trim().toLowerCase();
	const out: Violation[] = [];
	if (!(rule.types as readonly string[]).includes(mime))
		out.push({
			code: 'MEDIA_TYPE_NOT_SUPPORTED',
			field: 'binaryPropertyName',
			message: `"${file.filename}" is ${mime || 'of unknown type'}; a WhatsApp ${type} must be ${rule.types.join(', ')}`,
		});
	if (file.content.length > rule.maxBytes)
		out.push({
			code: 'MEDIA_TOO_LARGE',
			field: 'binaryPropertyName',
			message: `"${file.filename}" is ${(file.content.length / 1048576).toFixed(1)} MB; a WhatsApp ${type} may be at most ${rule.maxBytes / 1048576} MB`,
		});
	if (file.content.length === 0)
		out.push({
			code: 'MEDIA_EMPTY',
			field: 'binaryPropertyName',
			message: `"${file.filename}" is empty`,
		});
	return out;
}

/**
 * A WhatsApp free-form message with choices: reply buttons (up to 3, 20 characters), else a list
 * (up to 10 rows, 24 characters), else the choices numbered in a text message.
 */
export function whatsappChoices(
	text: string,
	choices: Choice[],
	listButton: string,
): { json: Record<string, unknown> } | { violations: Violation[] } {
	const L = TEXT_LIMITS;
	const len = (s: string) => [...s].length;
	const violations = choiceProblems(text, choices);
	if (violations.length) return { violations };
	const fits = (max: number) => choices.every((c) => len(c.title) <= max);
	if (
		(choices.length <= L.whatsappButtons && fits(L.whatsappButtonTitle)) ||
		(choices.length <= L.whatsappListRows && fits(L.whatsappListRowTitle))
	) {
		if (len(text) > L.whatsappInteractiveBody)
			return {
				violations: [
					{
						code: 'TEXT_TOO_LONG',
						field: 'text',
						message: `The text is ${len(text)} characters; a WhatsApp message with buttons or a list allows ${L.whatsappInteractiveBody}`,
					},
				],
			};
	}
	if (choices.length <= L.whatsappButtons && fits(L.whatsappButtonTitle)) {
		return {
			json: {
				type: 'interactive',
				interactive: {
					type: 'button',
					body: { text },
					action: {
						buttons: choices.map((c) => ({ type: 'reply', reply: { id: c.id, title: c.title } })),
					},
				},
			},
		};
	}
	if (choices.length <= L.whatsappListRows && fits(L.whatsappListRowTitle)) {
		const button = listButton.trim() || 'Choose';
		if (len(button) > L.whatsappListButton)
			return {
				violations: [
					{
						code: 'LIST_BUTTON_TOO_LONG',
						field: 'listButton',
						message: `List Button Text "${button}" is longer than ${L.whatsappListButton} characters`,
					},
				],
			};
		return {
			json: {
				type: 'interactive',
				interactive: {
					type: 'list',
					body: { text },
					action: {
						button,
						sections: [{ rows: choices.map((c) => ({ id: c.id, title: c.title })) }],
					},
				},
			},
		};
	}
	const numbered = numberedChoices(text, choices);
	const v = checkText('whatsapp', numbered);
	return v.length
		? { violations: v }
		: { json: { type: 'text', text: { preview_url: false, body: numbered } } };
}

/** A choice needs an id of WhatsApp's length, unique, and a title; the text must not be empty. */
function choiceProblems(text: string, choices: Choice[]): Violation[] {
	const L = TEXT_LIMITS;
	const len = (s: string) => [...s].length;
	const violations: Violation[] = [];
	if (!text.trim())
		violations.push({ code: 'EMPTY_TEXT', field: 'text', message: 'The message text is empty' });
	const ids = new Set<string>();
	for (const c of choices) {
		if (!c.id || len(c.id) > L.whatsappReplyId)
			violations.push({
				code: 'BAD_CHOICE_ID',
				field: 'choices',
				message: `Choice "${c.title.slice(0, 30)}" needs an id of 1 to ${L.whatsappReplyId} characters`,
			});
		if (ids.has(c.id))
			violations.push({
				code: 'DUPLICATE_CHOICE',
				field: 'choices',
				message: `Two choices have the id "${c.id.slice(0, 40)}"`,
			});
		ids.add(c.id);
		if (!c.title.trim())
			violations.push({
				code: 'EMPTY_CHOICE',
				field: 'choices',
				message: `Choice "${c.id.slice(0, 40)}" has no title`,
			});
	}
	return violations;
}
