/**
 * The browser check drives Debian's Chromium with playwright-core (a test tool's own browser
 * download cannot work here). Installs the `chromium` package when it is missing and this runs
 * as root with apt-get; otherwise says what to do. CHROMIUM_PATH overrides the location.
 */
'use strict';

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');

const bin = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
if (fs.existsSync(bin)) process.exit(0);

const say = (m) => process.stderr.write(`[ensure-chromium] ${m}\n`);
const hasApt = spawnSync('sh', ['-c', 'command -v apt-get'], { encoding: 'utf8' }).status === 0;
if (!hasApt || typeof process.getuid !== 'function' || process.getuid() !== 0) {
	say(
		`No Chromium at ${bin}. Install your distribution's chromium package (Debian: apt-get install chromium) or set CHROMIUM_PATH.`,
	);
	process.exit(1);
}
say("Installing Debian's chromium package for the browser check (once per machine)...");
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
const install = () =>
	spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'chromium'], {
		stdio: 'inherit',
		env,
	}).status === 0;
if (!install()) {
	spawnSync('apt-get', ['update'], { stdio: 'inherit', env });
	if (!install()) {
		say('apt-get could not install chromium. Check the Debian package sources, then run again.');
		process.exit(1);
	}
}
if (!fs.existsSync(bin)) {
	say(`chromium installed but ${bin} is missing: set CHROMIUM_PATH.`);
	process.exit(1);
}
