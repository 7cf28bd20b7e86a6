/**
 * Docker image build step: writes the templates as the image's first start imports them (stable
 * ids, store steps bound to the Convergent Store credential, no provider credential ids) into the
 * folder given as the first argument. Usage: node scripts/docker-templates.js /pack/templates
 */
'use strict';

const rt = require('./n8n-runtime');

const out = process.argv[2];
if (!out) {
	process.stderr.write('Usage: node scripts/docker-templates.js <output folder>\n');
	process.exit(2);
}
const ids = rt.templatesWithIds(out, (wf) => rt.bindTemplate(wf));
process.stdout.write(`${Object.keys(ids).length} templates written to ${out}\n`);
