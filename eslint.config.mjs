// Lint with n8n's community-node rule sets: @n8n/eslint-plugin-community-nodes (recommended) and
// eslint-plugin-n8n-nodes-base (community for package.json, nodes, credentials).
// Rules turned off below each conflict with a decision in ../shared/DESIGN.md and say which.
import { readFileSync } from 'node:fs';
import tseslint from 'typescript-eslint';
import n8nNodesBase from 'eslint-plugin-n8n-nodes-base';
import { n8nCommunityNodesPlugin } from '@n8n/eslint-plugin-community-nodes';

const { configs } = n8nNodesBase;
const manifest = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')).n8n;
// Before the first node lands the manifest's node list is legitimately empty; these two rules
// switch themselves back on as soon as it has an entry.
const noNodesYet = manifest.nodes.length === 0
	? {
			'n8n-nodes-base/community-package-json-n8n-nodes-empty': 'off',
			'@n8n/community-nodes/n8n-object-validation': 'off',
		}
	: {};

export default [
	{ ignores: ['dist/**', 'node_modules/**', 'test/**', 'bench/**', 'scripts/**', 'docker/**', '*.js', '*.mjs'] },
	{
		...n8nCommunityNodesPlugin.configs.recommended,
		files: ['nodes/**/*.ts', 'credentials/**/*.ts', 'package.json'],
		languageOptions: { parser: tseslint.parser },
		rules: {
			...n8nCommunityNodesPlugin.configs.recommended.rules,
			// DESIGN.md "Dependencies": pg, nodemailer, openai, @googleapis/fcm, luxon, libphonenumber-js,
			// sms-segments-calculator and zod are chosen runtime dependencies (self-hosted n8n target).
			'@n8n/community-nodes/no-runtime-dependencies': 'off',
			// DESIGN.md "State": the embedded Convergent store is a SQLite file in the n8n user folder,
			// so nodes/shared/store reads the environment (N8N_USER_FOLDER) and imports node:sqlite/fs.
			'@n8n/community-nodes/no-restricted-globals': 'off',
			'@n8n/community-nodes/no-restricted-imports': 'off',
			...noNodesYet,
		},
	},
	{
		files: ['nodes/**/*.ts', 'credentials/**/*.ts'],
		languageOptions: { parser: tseslint.parser, parserOptions: { sourceType: 'module' } },
		plugins: { '@typescript-eslint': tseslint.plugin },
		rules: {
			'@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
			'no-console': 'error',
		},
	},
	{
		// The functional core knows nothing of n8n (DESIGN.md): it throws plain errors, and the
		// node adapters turn them into NodeOperationError / NodeApiError with the item index.
		files: ['nodes/shared/**/*.ts'],
		rules: { '@n8n/community-nodes/require-node-api-error': 'off' },
	},
	{
		files: ['package.json'],
		languageOptions: { parser: tseslint.parser, parserOptions: { extraFileExtensions: ['.json'] } },
		plugins: { 'n8n-nodes-base': n8nNodesBase },
		rules: { ...configs.community.rules, ...noNodesYet },
	},
	{
		files: ['nodes/**/*.node.ts', 'nodes/**/actions/**/*.ts', 'nodes/**/descriptions/**/*.ts'],
		languageOptions: { parser: tseslint.parser },
		plugins: { 'n8n-nodes-base': n8nNodesBase },
		rules: {
			...configs.nodes.rules,
			// The shared contact mapping and store credential are defined once in nodes/shared and
			// spread into every node (DESIGN.md: one home per concept), which this rule cannot see.
			'n8n-nodes-base/node-class-description-credentials-name-unsuffixed': 'off',
			// These older rules demand the string 'main'; n8n's newer community rule set demands
			// NodeConnectionTypes.Main (node-connection-type-literal). We follow the newer one.
			'n8n-nodes-base/node-class-description-inputs-wrong-regular-node': 'off',
			'n8n-nodes-base/node-class-description-inputs-wrong-trigger-node': 'off',
			'n8n-nodes-base/node-class-description-outputs-wrong': 'off',
			// Touchpoint Trigger: Meta and Twilio webhooks are registered by the user in the
			// provider's console (the node answers Meta's verification GET itself); the webhook
			// credentials (app secret, auth token) give no API to register them per workflow.
			'@n8n/community-nodes/webhook-lifecycle-complete': 'off',
		},
	},
	{
		files: ['credentials/**/*.ts'],
		languageOptions: { parser: tseslint.parser },
		plugins: { 'n8n-nodes-base': n8nNodesBase },
		rules: {
			...configs.credentials.rules,
			// "Only applicable to nodes in the main repository" (the rule's own doc): a community
			// credential links to its own docs by URL, which the rule would mangle into camelCase.
			'n8n-nodes-base/cred-class-field-documentation-url-miscased': 'off',
		},
	},
];
