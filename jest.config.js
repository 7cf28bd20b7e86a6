const ESM_ONLY = 'htmlparser2|domhandler|domutils|domelementtype|dom-serializer|entities';

/** @type {import('jest').Config} */
module.exports = {
	testEnvironment: 'node',
	roots: ['<rootDir>/nodes', '<rootDir>/test'],
	testMatch: ['**/*.test.ts'],
	// Real-n8n suites have their own commands (npm run test:e2e, npm run test:queue).
	testPathIgnorePatterns: ['/node_modules/', '\\.e2e\\.test\\.ts$', '\\.queue\\.test\\.ts$'],
	transform: {
		'^.+\\.ts$': [
			'ts-jest',
			{ tsconfig: '<rootDir>/tsconfig.json', isolatedModules: true, diagnostics: false },
		],
		// n8n's Wait and Respond to Webhook nodes load sanitize-html, whose parser packages ship as ES
		// modules only; Node 24 can require() them, Jest's module system cannot, so they are compiled to CommonJS.
		[`/node_modules/sanitize-html/node_modules/(${ESM_ONLY})/.+\\.js$`]: [
			'ts-jest',
			{
				tsconfig: { allowJs: true, module: 'commonjs', target: 'es2022' },
				isolatedModules: true,
				diagnostics: false,
			},
		],
	},
	transformIgnorePatterns: [`/node_modules/(?!(sanitize-html/node_modules/)?(${ESM_ONLY})/)`],
	globalSetup: '<rootDir>/test/setup/global-setup.js',
	testTimeout: 30000,
	// Several suites start loopback servers and a database; two cores, so run two at a time.
	maxWorkers: 2,
};
