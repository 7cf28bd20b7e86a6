/**
 * The release workflow publishes only what CI has checked, from CI, with provenance.
 */
import fs from 'node:fs';
import path from 'node:path';

import { PROJECT_ROOT } from '../harness';

const workflow = fs.readFileSync(
	path.join(PROJECT_ROOT, '.github', 'workflows', 'release.yml'),
	'utf8',
);
const lines = workflow.split('\n').filter((l) => !l.trim().startsWith('#'));
const text = lines.join('\n');

describe('release workflow', () => {
	it('runs on a version tag and by hand (dry run by default)', () => {
		expect(text).toMatch(/on:\n\s+push:\n\s+tags: \['v\*\.\*\.\*'\]/);
		expect(text).toMatch(/workflow_dispatch:\n\s+inputs:\n\s+dry_run:[\s\S]*?default: true/);
	});

	it('runs exactly what CI runs before publishing, and checks the tag against the version', () => {
		const ci = text.indexOf('run: bash .ci/run');
		const publish = text.indexOf('run: npm publish --provenance --access public\n');
		expect(ci).toBeGreaterThan(0);
		expect(publish).toBeGreaterThan(ci);
		expect(text).toContain(
			'test "v$(node -p "require(\'./package.json\').version")" = "${GITHUB_REF_NAME}"',
		);
	});

	it('publishes with npm provenance: an OIDC token, Node 24, the token only in the publish step', () => {
		expect(text).toMatch(/permissions:\n\s+contents: read\n\s+id-token: write/);
		expect(text).toMatch(/node-version: 24/);
		expect(text.match(/--provenance/g)).toHaveLength(2);
		expect(text.match(/secrets\.NPM_TOKEN/g)).toHaveLength(1);
		expect(text).toContain('--dry-run');
	});

	it('brings the services CI expects (PostgreSQL with trust auth and database test, Redis)', () => {
		expect(text).toMatch(/POSTGRES_HOST_AUTH_METHOD: trust/);
		expect(text).toMatch(/POSTGRES_DB: test/);
		expect(text).toMatch(/ports: \['5432:5432'\]/);
		expect(text).toMatch(/ports: \['6379:6379'\]/);
	});
});
