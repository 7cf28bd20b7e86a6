// n8n's official lint for community nodes, as `npx n8n-node lint` runs it: @n8n/node-cli's
// config without n8n Cloud support (this package is self-hosted first: it has runtime
// dependencies and an embedded SQLite store, which n8n Cloud does not allow). Every rule turned
// off below says why, next to it; single exceptions are eslint-disable comments with their reason
// at the line. Tests, benchmarks and scripts are not shipped and not linted by this config.
import { configWithoutCloudSupport } from '@n8n/node-cli/eslint';

export default [
	{ ignores: ['dist/**', 'node_modules/**', 'test/**', 'bench/**', 'scripts/**', 'docker/**', '.cache/**', '*.js', '*.mjs'] },
	...configWithoutCloudSupport,
	{
		files: ['package.json'],
		rules: {
			// DESIGN.md "Dependencies": pg, nodemailer, openai, luxon, libphonenumber-js, html-to-text and
			// the SMS segment calculator are chosen runtime dependencies of a self-hosted package.
			'@n8n/community-nodes/no-runtime-dependencies': 'off',
		},
	},
	{
		files: ['nodes/**/*.ts'],
		rules: {
			// Meta, Twilio and the email services have no API to register a webhook per workflow with the
			// credentials the trigger holds (app secret, auth token, signing key): the user registers the
			// production URL in the provider's console, and the node answers Meta's verification GET itself.
			'@n8n/community-nodes/webhook-lifecycle-complete': 'off',
			// Descriptions quote n8n expressions and field paths ({{ $json.contactId }}, contact.id, id:Title):
			// these rules would upper-case them into expressions and paths that do not work.
			'n8n-nodes-base/node-param-description-miscased-json': 'off',
			'n8n-nodes-base/node-param-description-miscased-id': 'off',
			'n8n-nodes-base/node-param-placeholder-miscased-id': 'off',
		},
	},
	{
		// The functional core knows nothing of n8n (DESIGN.md): it throws plain errors, and the node
		// adapters (the node files and nodes/shared/n8n) turn them into NodeOperationError / NodeApiError
		// with the item index.
		files: ['nodes/shared/**/*.ts'],
		ignores: ['nodes/shared/n8n/**'],
		rules: { '@n8n/community-nodes/require-node-api-error': 'off' },
	},
];
