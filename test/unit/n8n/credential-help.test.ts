/**
 * A credential's dialog says which of this package's nodes use it and where each value is found,
 * and its docs link opens the README's credentials table (not a provider's generic page).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ICredentialType } from 'n8n-workflow';

import { CREDENTIALS_DOCS } from '../../../credentials/help';

const ROOT = path.join(__dirname, '../../..');
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));

function credentials(): ICredentialType[] {
	return (pkg.n8n.credentials as string[]).map((file) => {
		const source = path.join(ROOT, file.replace(/^dist\//, '').replace(/\.js$/, '.ts'));
		// eslint-disable-next-line @typescript-eslint/no-require-imports
		const mod = require(source) as Record<string, new () => ICredentialType>;
		return new (Object.values(mod)[0])();
	});
}

/** GitHub's anchor for a heading: lower case, punctuation gone, spaces as hyphens. */
const anchor = (heading: string) =>
	heading
		.toLowerCase()
		.replace(/[^\p{L}\p{N}\s-]/gu, '')
		.trim()
		.replace(/\s/g, '-');

describe('credential help', () => {
	it('every credential opens with a notice naming what uses it and where its values are', () => {
		for (const c of credentials()) {
			const first = c.properties[0];
			expect({ credential: c.name, type: first.type }).toEqual({
				credential: c.name,
				type: 'notice',
			});
			expect({
				credential: c.name,
				names: /Touchpoint|AI Content|every node/.test(first.displayName),
			}).toEqual({
				credential: c.name,
				names: true,
			});
		}
		const whatsapp = credentials().find((c) => c.name === 'whatsAppCloudApi')!;
		expect(whatsapp.properties[0].displayName).toContain('not the temporary 24-hour token');
	});

	it("every credential's docs link is the README's credentials table, and that heading exists", () => {
		for (const c of credentials())
			expect([c.name, c.documentationUrl]).toEqual([c.name, CREDENTIALS_DOCS]);
		const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
		const headings = [...readme.matchAll(/^#{1,4} (.+)$/gm)].map((m) => anchor(m[1]));
		expect(headings).toContain(CREDENTIALS_DOCS.split('#')[1]);
	});
});
