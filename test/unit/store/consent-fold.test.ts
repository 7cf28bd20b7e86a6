/**
 * The addresses a consent covers, as the store keeps them (a JSON list): read back exactly as
 * JSON.parse would, including what the one-address fast path must leave to the parser.
 */
import { decodeAddresses } from '../../../nodes/shared/store/consent-fold';

describe('decodeAddresses', () => {
	it('reads every list as JSON.parse does', () => {
		const lists = [
			['+34600111222'],
			['ana@example.com'],
			['+34600111222', 'ana@example.com'],
			['a"b@example.com'],
			['back\\slash'],
			['tab\there'],
			['josé@correo.es'],
			['emoji😀@example.com'],
			['","'],
			[],
			[''],
		];
		for (const list of lists) expect(decodeAddresses(JSON.stringify(list))).toEqual(list);
	});

	it('anything that is not a list of text is no addresses', () => {
		for (const value of [null, undefined, 42, '', 'not json', '{"a":1}', '["unterminated'])
			expect(decodeAddresses(value)).toEqual([]);
		expect(decodeAddresses('[1,2]')).toEqual(['1', '2']);
	});
});
