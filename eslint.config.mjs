// n8n's official lint for community nodes, as `npx n8n-node lint` runs it: @n8n/node-cli's
// config without n8n Cloud support (this package is self-hosted first: it has runtime
// dependencies and an embedded SQLite store, which n8n Cloud does not allow). Every rule turned
// off below says why, next to it; single exceptions are eslint-disable comments with their reason
// at the line. Tests, benchmarks and scripts are not shipped and not linted by this config. The
// floors of nodes/ (what may import what) are checked here too: see ARCHITECTURE.md.
import { configWithoutCloudSupport } from '@n8n/node-cli/eslint';

const NODE_FOLDERS = [
	'AiContent',
	'ConsentGuard',
	'ConversationalForm',
	'Journey',
	'Segment',
	'Touchpoint',
	'TouchpointInbox',
	'TouchpointTrigger',
].map((n) => `**/${n}/*`);

/** One no-restricted-imports block per floor rule. */
function layers(rules) {
	return rules.map(({ files, ignores, forbid, why }) => ({
		files,
		...(ignores ? { ignores } : {}),
		rules: {
			'no-restricted-imports': [
				'error',
				{ patterns: [{ group: forbid, caseSensitive: true, message: `Layering: ${why}.` }] },
			],
		},
	}));
}

export default [
	{
		ignores: [
			'dist/**',
			'node_modules/**',
			'test/**',
			'bench/**',
			'scripts/**',
			'docker/**',
			'.cache/**',
			'*.js',
			'*.mjs',
		],
	},
	...configWithoutCloudSupport,
	{
		files: ['package.json'],
		rules: {
			// Chosen runtime dependencies (README "Requirements"): pg, nodemailer, openai, luxon, libphonenumber-js, html-to-text and
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
	// Floors (ARCHITECTURE.md): an import only goes down. Each rule names the floors a folder may not reach.
	...layers([
		{
			files: ['nodes/shared/**/*.ts'],
			ignores: ['nodes/shared/n8n/**'],
			forbid: ['**/n8n/*', ...NODE_FOLDERS],
			why: 'the functional core knows nothing of n8n or of the nodes: adapters live in nodes/shared/n8n',
		},
		{
			files: ['nodes/shared/*.ts', 'nodes/shared/journey/**/*.ts', 'nodes/shared/domain/**/*.ts'],
			ignores: ['nodes/shared/people.ts'],
			forbid: [
				'**/channels/*',
				'**/store/*',
				'**/policy',
				'**/policy/*',
				'**/inbound/*',
				'**/insights/*',
				'**/ai/*',
				'**/form/*',
				'**/segment/*',
				'./people',
			],
			why: 'the ground floor (address, contact, rate, pool, deadline, field paths, journeys, the domain vocabulary) uses nothing above it',
		},
		{
			files: ['nodes/shared/channels/**/*.ts'],
			forbid: [
				'**/store',
				'**/store/*',
				'**/policy',
				'**/policy/*',
				'**/inbound/*',
				'**/insights/*',
				'**/ai/*',
				'**/form/*',
				'**/segment/*',
				'../people',
			],
			why: 'a channel builds and classifies requests from the ground floor only',
		},
		{
			files: ['nodes/shared/store/**/*.ts'],
			forbid: [
				'**/channels/*',
				'**/policy',
				'**/policy/*',
				'**/inbound/*',
				'**/insights/*',
				'**/ai/*',
				'**/form/*',
				'**/segment/*',
				'../people',
			],
			why: 'the store is below every domain that uses it',
		},
	]),
	{
		// Core code may name n8n's types, never its values (the core runs without n8n in unit tests).
		files: ['nodes/shared/**/*.ts'],
		ignores: ['nodes/shared/n8n/**'],
		rules: {
			'@typescript-eslint/no-restricted-imports': [
				'error',
				{
					paths: ['n8n-workflow', 'n8n-core'].map((name) => ({
						name,
						allowTypeImports: true,
						message: 'The functional core uses no n8n value: put the n8n side in nodes/shared/n8n.',
					})),
				},
			],
		},
	},
	{
		// The functional core knows nothing of n8n (ARCHITECTURE.md): it throws plain errors, and the node
		// adapters (the node files and nodes/shared/n8n) turn them into NodeOperationError / NodeApiError
		// with the item index.
		files: ['nodes/shared/**/*.ts'],
		ignores: ['nodes/shared/n8n/**'],
		rules: { '@n8n/community-nodes/require-node-api-error': 'off' },
	},
];
