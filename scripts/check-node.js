#!/usr/bin/env node
// npm scripts run on the Node 24 that the `node` devDependency brings; refuse anything older.
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
	console.error(
		`n8n-nodes-convergent-marketing needs Node >= 24 (n8n 2.x, node:sqlite); this is ${process.version}.\n` +
			'Run `npm ci` first (it installs Node 24 into node_modules/.bin) and use the npm scripts.',
	);
	process.exit(1);
}
