/**
 * The built package holds only what the sources build: a file moved or renamed must not leave its
 * old output behind, where Node would load it instead (`./transport` resolved to a stale
 * dist/nodes/Touchpoint/transport.js before the new transport/index.js).
 */
import fs from 'node:fs';
import path from 'node:path';

import { PROJECT_ROOT } from '../harness';

function files(dir: string): string[] {
	return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
		const p = path.join(dir, e.name);
		return e.isDirectory() ? files(p) : [p];
	});
}

describe('dist/', () => {
	it('has a TypeScript source for every JavaScript file in it', () => {
		const dist = path.join(PROJECT_ROOT, 'dist');
		const orphans = files(dist)
			.filter((f) => f.endsWith('.js'))
			.map((f) => path.relative(dist, f))
			.filter((rel) => !fs.existsSync(path.join(PROJECT_ROOT, rel.replace(/\.js$/, '.ts'))));
		expect(orphans).toEqual([]);
	});
});
