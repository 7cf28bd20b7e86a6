/**
 * Sample answers for trying a workflow without a model: shaped exactly like the model's JSON
 * (copy, classification, reply), short enough for every channel's limits, and labelled so that
 * nobody mistakes them for generated copy. No key, no network, nothing cached.
 */
import type { CopyChannel, Variant } from './copy';

export const SAMPLE_LABEL = '[Sample copy: no model was called]';

/** A sample the workflow's author wrote (AI Content's Sample Text and Sample Title or Subject). */
export interface SampleWriting {
	text: string;
	title: string;
}

/**
 * Copy variants for a brief: the author's sample text, labelled "[Sample]" (and the variant's
 * letter), or a generic line naming the audience it was written for (e.g. the segment).
 */
export function sampleCopy(
	channel: CopyChannel,
	variants: number,
	audience: Record<string, unknown>,
	written: SampleWriting = { text: '', title: '' },
): Variant[] {
	if (written.text.trim()) return writtenSample(channel, variants, written);
	const who = Object.values(audience)
		.filter((v) => v !== null && v !== undefined && v !== '')
		.map(String)
		.join(', ');
	return Array.from({ length: variants }, (_, n) => {
		const tag = variants > 1 ? ` ${String.fromCharCode(65 + n)}` : '';
		// 160 GSM-7 characters at most: one SMS segment, a push body, a WhatsApp line.
		const text =
			`${SAMPLE_LABEL}${tag} Your message${who ? ` for ${who}` : ''} appears here once an AI credential is connected.`.slice(
				0,
				160,
			);
		const v: Variant = { text };
		if (channel === 'push') v.title = `Sample title${tag}`;
		if (channel === 'email') {
			v.subject = `Sample subject${tag}`;
			v.preheader = 'Sample preheader: connect an AI credential for real copy';
		}
		return v;
	});
}

function writtenSample(channel: CopyChannel, variants: number, written: SampleWriting): Variant[] {
	return Array.from({ length: variants }, (_, n) => {
		const label = variants > 1 ? `[Sample ${String.fromCharCode(65 + n)}]` : '[Sample]';
		const v: Variant = { text: `${label} ${written.text.trim()}` };
		const title = written.title.trim() || 'Sample';
		if (channel === 'push') v.title = title;
		if (channel === 'email') {
			v.subject = variants > 1 ? `${title} (${String.fromCharCode(65 + n)})` : title;
			v.preheader = written.text
				.trim()
				.split(/(?<=[.!?])\s/)[0]
				.slice(0, 100);
		}
		return v;
	});
}

/** Free-text opt-outs a sample recognises without a model (a model recognises any wording). */
const SAMPLE_OPT_OUT =
	/\b(stop|quit) (messaging|texting|writing|sending)|no more (messages|texts)|unsubscribe me|non scrivetemi|non voglio pi[uù] messaggi|no quiero (recibir )?m[aá]s mensajes|dejen de (escribirme|enviarme)|ne m'[eé]crivez plus|keine nachrichten mehr/i;

/** The first intent whose words appear in the text, else "other": enough to route a sample. */
export function sampleClassification(
	intents: string[],
	text: string,
	detectOptOut = false,
): { intent: string; confidence: number; optOut?: boolean } {
	const words = new Set(
		text
			.toLowerCase()
			.split(/[^\p{L}\p{N}]+/u)
			.filter(Boolean),
	);
	const hit = intents.find((intent) =>
		intent
			.toLowerCase()
			.split(/\s+/)
			.some((w) => words.has(w)),
	);
	return {
		intent: hit ?? 'other',
		confidence: hit ? 1 : 0,
		...(detectOptOut ? { optOut: SAMPLE_OPT_OUT.test(text) } : {}),
	};
}

export function sampleReply(written = ''): {
	reply: string;
	intent: string;
	sentiment: string;
	handoff: boolean;
	handoffReason: string;
} {
	return {
		reply: written.trim()
			? `[Sample reply] ${written.trim()}`
			: '[Sample reply: no model was called] The AI answer appears here once an AI credential is connected.',
		intent: 'other',
		sentiment: 'neutral',
		handoff: false,
		handoffReason: '',
	};
}
