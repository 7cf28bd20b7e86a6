/**
 * Opt-out / opt-in / help keywords (US FCC 2025 list plus carrier variants): the whole message,
 * case- and space-insensitive ("Stop", " stop ", "OPT OUT", "opt-out" all count).
 */
export const STOP_WORDS = ['STOP', 'STOPALL', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT', 'REVOKE', 'OPT OUT', 'OPTOUT'];
export const START_WORDS = ['START', 'YES', 'UNSTOP'];
export const HELP_WORDS = ['HELP', 'INFO'];

const fold = (text: string) => text.normalize('NFKC').toUpperCase().replace(/[^\p{L}\p{N}]+/gu, '');

export function detectKeyword(text: string | undefined, extraStopWords: string[] = []): 'stop' | 'start' | 'help' | undefined {
	if (!text) return undefined;
	const t = fold(text);
	if (!t) return undefined;
	if ([...STOP_WORDS, ...extraStopWords].some((w) => fold(w) === t)) return 'stop';
	if (START_WORDS.some((w) => fold(w) === t)) return 'start';
	if (HELP_WORDS.some((w) => fold(w) === t)) return 'help';
	return undefined;
}
