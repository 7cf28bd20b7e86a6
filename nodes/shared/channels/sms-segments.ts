/**
 * SMS encoding and segments as carriers count them (Twilio's own calculator): GSM-7 160 chars in
 * one segment, 153 per segment when concatenated; one character outside GSM-7 switches the whole
 * message to UCS-2 (70 / 67); extension characters (€ [ ] { } ^ ~ \ |) count double.
 */
import { SegmentedMessage } from 'sms-segments-calculator';

export const SMS_LIMITS = {
	gsm7Single: 160,
	gsm7Multi: 153,
	ucs2Single: 70,
	ucs2Multi: 67,
	providerMaxChars: 1600,
};

export interface SmsInfo {
	encoding: 'GSM-7' | 'UCS-2';
	segments: number;
	characters: number;
	/** Characters that forced UCS-2, so a marketer can replace them. */
	nonGsmCharacters: string[];
}

export function smsInfo(text: string): SmsInfo {
	const m = new SegmentedMessage(text, 'auto');
	const encoding = m.encodingName === 'GSM-7' ? 'GSM-7' : 'UCS-2';
	return {
		encoding,
		segments: m.segmentsCount,
		characters: [...text].length,
		nonGsmCharacters: encoding === 'UCS-2' ? [...new Set(m.getNonGsmCharacters())] : [],
	};
}
