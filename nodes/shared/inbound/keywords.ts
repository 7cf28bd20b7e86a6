/**
 * Opt-out, opt-in and help keywords in inbound messages, per language.
 *
 * Sources:
 * - en: US FCC order 24-24 (47 CFR 64.1200(a)(10), in force 11 April 2025): STOP, QUIT, END,
 *   REVOKE, OPT OUT, CANCEL, UNSUBSCRIBE; carriers' and CTIA's STOPALL, OPTOUT; HELP / INFO; START,
 *   UNSTOP (and YES on carriers that use it) re-subscribe after a STOP.
 * - es: BAJA is the word Spanish SMS marketing asks for ("envía BAJA"); PARAR, CANCELAR, DETENER
 *   as Latin-American providers list them; AYUDA; ALTA re-subscribes.
 * - it: STOP as Italian SMS marketing prints it, plus CANCELLA, ANNULLA, DISISCRIVI(MI), BASTA; AIUTO.
 * - fr: STOP (the French operators' AF2M code requires "STOP"), ARRET, DESABONNER, DESINSCRIRE; AIDE.
 * - de: STOPP, ABMELDEN, ABBESTELLEN, KUENDIGEN; HILFE.
 * - pt: PARAR, SAIR, CANCELAR, DESCADASTRAR; AJUDA.
 * Where no regulator lists words, these are the words providers print in their opt-out footers;
 * the list leans to opting out on purpose: a false opt-out is cheap, a false opt-in is not.
 *
 * Matching (documented in the README, tested in test/unit/inbound/keywords.test.ts):
 * - Text is folded: Unicode NFKD, accents removed, upper-cased, split into words on anything that
 *   is not a letter or digit ("Arrêt!" = ARRET, "opt-out" = OPT OUT, "S.T.O.P" = STOP).
 * - Opt-out: the whole message is the word (spaces and punctuation ignored: "OPTOUT" = "opt out"),
 *   or a short message (at most 5 words) contains the word as whole words ("stop please",
 *   "BAJA por favor", "please stop").
 * - Opt-in and help: only the whole message ("Start", "unstop!"). Opt-out wins over both.
 * - Opt-in words never grant consent: they restore only what a STOP on that channel withdrew
 *   (see the store's consent fold). YES counts as opt-in only right after such a STOP.
 */
import type { ConversationEvent } from '../contact';
import type { Store } from '../store/types';
import type { ConsentEventInput } from '../domain';
import { consentKeyString } from '../domain';
import { contactIdOf } from './sender';

export type KeywordKind = 'stop' | 'start' | 'help';
export type Language = 'en' | 'es' | 'it' | 'fr' | 'de' | 'pt';

export const KEYWORDS: Record<Language, Record<KeywordKind, string[]>> = {
	en: {
		stop: [
			'STOP',
			'STOPALL',
			'STOP ALL',
			'UNSUBSCRIBE',
			'CANCEL',
			'END',
			'QUIT',
			'REVOKE',
			'OPT OUT',
			'OPTOUT',
		],
		start: ['START', 'UNSTOP', 'YES'],
		help: ['HELP', 'INFO'],
	},
	es: {
		stop: ['BAJA', 'PARAR', 'CANCELAR', 'DETENER', 'NO MAS'],
		start: ['ALTA'],
		help: ['AYUDA'],
	},
	it: {
		stop: ['CANCELLA', 'ANNULLA', 'DISISCRIVI', 'DISISCRIVIMI', 'BASTA'],
		start: [],
		help: ['AIUTO'],
	},
	fr: {
		stop: ['ARRET', 'ARRETER', 'DESABONNER', 'DESINSCRIRE', 'STOP SMS'],
		start: [],
		help: ['AIDE'],
	},
	de: {
		stop: ['STOPP', 'ABMELDEN', 'ABBESTELLEN', 'KUENDIGEN', 'KUNDIGEN'],
		start: [],
		help: ['HILFE'],
	},
	pt: { stop: ['PARAR', 'SAIR', 'CANCELAR', 'DESCADASTRAR'], start: [], help: ['AJUDA'] },
};

/** Words that restore only when the person's last word on the channel was a STOP. */
export const CONDITIONAL_START = new Set(['YES']);

const SHORT_MESSAGE_WORDS = 5;
/** Longer texts are never scanned word by word (and never fold megabytes). */
const MAX_SCANNED_CHARS = 200;

export interface KeywordOptions {
	extraStop?: string[];
	extraStart?: string[];
	extraHelp?: string[];
}

export interface KeywordMatch {
	keyword: KeywordKind;
	/** The listed word that matched, folded (e.g. "OPT OUT"). */
	word: string;
	/** true for YES: an opt-in only right after a STOP. */
	conditional?: boolean;
}

export function foldWords(text: string): string[] {
	return text
		.normalize('NFKD')
		.replace(/\p{M}+/gu, '')
		.toUpperCase()
		.split(/[^\p{L}\p{N}]+/u)
		.filter(Boolean);
}

interface Compiled {
	exact: Map<string, KeywordMatch>;
	phrases: Array<{ words: string[]; match: KeywordMatch }>;
}

function compile(options: KeywordOptions): Compiled {
	const exact = new Map<string, KeywordMatch>();
	const phrases: Compiled['phrases'] = [];
	const add = (kind: KeywordKind, raw: string) => {
		const words = foldWords(raw);
		if (!words.length) return;
		const word = words.join(' ');
		const match: KeywordMatch = {
			keyword: kind,
			word,
			...(kind === 'start' && CONDITIONAL_START.has(word) ? { conditional: true } : {}),
		};
		const joined = words.join('');
		// Opt-out wins: a word listed as both (CANCELAR) is an opt-out.
		const prior = exact.get(joined);
		if (!prior || (kind === 'stop' && prior.keyword !== 'stop')) exact.set(joined, match);
		if (kind === 'stop') phrases.push({ words, match });
	};
	for (const lang of Object.values(KEYWORDS))
		for (const kind of ['help', 'start', 'stop'] as const) for (const w of lang[kind]) add(kind, w);
	for (const w of options.extraHelp ?? []) add('help', w);
	for (const w of options.extraStart ?? []) add('start', w);
	for (const w of options.extraStop ?? []) add('stop', w);
	return { exact, phrases };
}

const defaultCompiled = compile({});

/** Compiles the lists once (per execution) with the node's extra words. */
export function keywordMatcher(
	options: KeywordOptions = {},
): (text: string | undefined) => KeywordMatch | undefined {
	const c =
		options.extraStop?.length || options.extraStart?.length || options.extraHelp?.length
			? compile(options)
			: defaultCompiled;
	return (text) => {
		if (!text || typeof text !== 'string') return undefined;
		const words = foldWords(
			text.length > MAX_SCANNED_CHARS ? text.slice(0, MAX_SCANNED_CHARS) : text,
		);
		if (!words.length) return undefined;
		if (text.length <= MAX_SCANNED_CHARS) {
			const whole = c.exact.get(words.join(''));
			if (whole) return whole;
		}
		if (words.length > SHORT_MESSAGE_WORDS || text.length > MAX_SCANNED_CHARS) return undefined;
		for (const { words: phrase, match } of c.phrases) {
			for (let i = 0; i + phrase.length <= words.length; i++) {
				if (phrase.every((w, k) => words[i + k] === w)) return match;
			}
		}
		return undefined;
	};
}

/**
 * The consent ledger events for the keywords in a batch of inbound messages: a STOP withdraws
 * each purpose on the channel (restorably, so START can undo exactly that); START and the other
 * opt-in words restore; YES restores only when the person's last word on the channel was a STOP
 * that withdrew a grant, and otherwise is an ordinary answer (its `keyword` is removed).
 */
export async function keywordConsentEvents(
	store: Pick<Store, 'getConsentStates'>,
	messages: ConversationEvent[],
	purposesSetting: string,
	/** The person each message is from (the trigger resolves senders to contacts); default: the id rule. */
	idOf: (e: ConversationEvent) => string = contactIdOf,
): Promise<ConsentEventInput[]> {
	const purposes = purposesSetting
		.split(',')
		.map((p) => p.trim())
		.filter(Boolean);
	const conditional = messages.filter((e) => e.keyword === 'start' && e.keywordConditional);
	const states = conditional.length
		? await store.getConsentStates(
				conditional.flatMap((e) =>
					purposes.map((purpose) => ({ contactId: idOf(e), channel: e.channel, purpose })),
				),
			)
		: new Map();
	const out: ConsentEventInput[] = [];
	for (const e of messages) {
		if (e.keyword !== 'stop' && e.keyword !== 'start') continue;
		const contactId = idOf(e);
		if (e.keywordConditional) {
			const restorable = purposes.some(
				(purpose) =>
					states.get(consentKeyString({ contactId, channel: e.channel, purpose }))?.restorable ===
					true,
			);
			if (!restorable) {
				delete e.keyword;
				delete e.keywordConditional;
				continue;
			}
		}
		for (const purpose of purposes) {
			out.push({
				contactId,
				channel: e.channel,
				purpose,
				address: e.contact.phone ?? e.contact.psid ?? e.contact.instagramId ?? e.contact.whatsappId,
				action: e.keyword === 'stop' ? 'withdraw' : 'restore',
				keyword: e.keyword,
				evidence: {
					source: `${e.channel}-keyword`,
					wording: e.text,
					actor: 'contact',
					extra: { providerMessageId: e.providerMessageId },
				},
				occurredAt: Date.parse(e.timestamp),
			});
		}
	}
	return out;
}
