/**
 * The keyword table: opt-out, opt-in and help words in six languages, the matching rules
 * (case, accents, punctuation, short messages starting with or containing the word), extra words,
 * and the asymmetry: opt-out matches generously, opt-in only as the whole message.
 */
import { keywordMatcher } from '../../../nodes/shared/inbound/keywords';

const match = keywordMatcher();
const kind = (text: string) => match(text)?.keyword;

describe('keywords', () => {
	it.each([
		// en (FCC 24-24 and carriers)
		['STOP', 'stop'],
		['stop', 'stop'],
		[' Stop! ', 'stop'],
		['STOPALL', 'stop'],
		['Stop all', 'stop'],
		['unsubscribe', 'stop'],
		['Cancel', 'stop'],
		['END', 'stop'],
		['quit', 'stop'],
		['Revoke', 'stop'],
		['OPT OUT', 'stop'],
		['opt-out', 'stop'],
		['OptOut', 'stop'],
		['S.T.O.P', 'stop'],
		['stop please', 'stop'],
		['Please stop', 'stop'],
		['STOP sending me texts', 'stop'],
		// es
		['BAJA', 'stop'],
		['baja por favor', 'stop'],
		['Parar', 'stop'],
		['cancelar', 'stop'],
		['No más', 'stop'],
		['no mas', 'stop'],
		['Detener', 'stop'],
		// it
		['Cancella', 'stop'],
		['ANNULLA', 'stop'],
		['disiscrivimi', 'stop'],
		['Basta!', 'stop'],
		// fr
		['Arrêt', 'stop'],
		['ARRET', 'stop'],
		['désabonner', 'stop'],
		['STOP SMS', 'stop'],
		['Désinscrire', 'stop'],
		// de
		['STOPP', 'stop'],
		['Abmelden', 'stop'],
		['abbestellen', 'stop'],
		['Kündigen', 'stop'],
		// pt
		['SAIR', 'stop'],
		['Descadastrar', 'stop'],
		['parar', 'stop'],
		// opt-in: only the whole message
		['START', 'start'],
		['Unstop', 'start'],
		['un-stop', 'start'],
		['ALTA', 'start'],
		['yes', 'start'],
		// help
		['HELP', 'help'],
		['info', 'help'],
		['Ayuda', 'help'],
		['aiuto', 'help'],
		['Aide', 'help'],
		['Hilfe', 'help'],
		['AJUDA', 'help'],
	])('%j -> %s', (text, expected) => {
		expect(kind(text)).toBe(expected);
	});

	it.each([
		'Hi, can you stop by the store tomorrow and tell me if the blue one is still available?', // long: not scanned word by word
		'Start me up with the blue one please now', // opt-in is never a prefix match
		'yes please',
		'I want info about prices',
		'Stopwatch',
		'endless',
		'',
		'   ',
		'👍',
	])('%j is no keyword', (text) => {
		expect(kind(text)).toBeUndefined();
	});

	it('opt-out wins over opt-in in the same short message', () => {
		expect(kind('stop start')).toBe('stop');
		expect(kind('START STOP')).toBe('stop');
	});

	it('YES is a conditional opt-in (only right after a STOP); START is not', () => {
		expect(match('Yes')).toEqual({ keyword: 'start', word: 'YES', conditional: true });
		expect(match('START')).toEqual({ keyword: 'start', word: 'START' });
	});

	it('extra words from the node options, with the same folding', () => {
		const m = keywordMatcher({
			extraStop: ['Afmelden', 'lâchez-moi'],
			extraStart: ['RIATTIVA'],
			extraHelp: ['Socorro'],
		});
		expect(m('afmelden')?.keyword).toBe('stop');
		expect(m('LACHEZ MOI')?.keyword).toBe('stop');
		expect(m('riattiva')?.keyword).toBe('start');
		expect(m('socorro')?.keyword).toBe('help');
		expect(kind('afmelden')).toBeUndefined();
	});

	it('a huge message is not folded whole (bounded work) and is no keyword', () => {
		expect(kind('STOP'.padEnd(1_000_000, ' x'))).toBeUndefined();
	});
});
