/**
 * Numbers the contact book already holds are not parsed again when items are resolved to people:
 * they were normalised when linked. Parsing with full metadata is the costliest step of resolving
 * a batch in a fresh n8n process (Touchpoint's time before its first send).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

jest.mock('libphonenumber-js/max', () => {
	const actual = jest.requireActual('libphonenumber-js/max');
	return { ...actual, parsePhoneNumberFromString: jest.fn(actual.parsePhoneNumberFromString) };
});
// eslint-disable-next-line @typescript-eslint/no-require-imports
const parse = require('libphonenumber-js/max').parsePhoneNumberFromString as jest.Mock;

import { openStore } from '../../../nodes/shared/store';
import { resolvePeople } from '../../../nodes/shared/people';

describe('resolvePeople and the contact book', () => {
	it('parses only the numbers the book does not hold; a held number resolves to its holder, an unknown one is still checked', async () => {
		const store = await openStore({
			type: 'embedded',
			path: path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cm-known-')), 'store.sqlite'),
		});
		const held = ['+34600300001', '+34600300002', '+34600300003'];
		await store.resolveContacts(
			held.map((phone, k) => ({ id: `held-${k}`, addresses: [{ kind: 'phone', value: phone }] })),
			{ create: true, link: true, source: 'test' },
		);
		parse.mockClear();
		const people = await resolvePeople(store, [
			...held.map((phone) => ({ id: '', phone })),
			{ id: '', phone: '+34600300009' },
			{ id: '', phone: '+3460030000' },
		]);
		expect(people.slice(0, 3).map((p) => p.contactId)).toEqual(['held-0', 'held-1', 'held-2']);
		// Only the two numbers the book does not hold were parsed (all five before).
		expect(parse.mock.calls.map((c) => c[0]).sort()).toEqual(['+3460030000', '+34600300009']);
		// An invalid number is still refused: it is nobody's, and no address of it is made.
		expect(people[4].contactId).toBeFalsy();
		expect(people[4].error?.message).toMatch(/No contact ID/);
	});
});
