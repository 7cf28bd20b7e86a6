/** @type {import('jest').Config} */
module.exports = {
	testEnvironment: 'node',
	roots: ['<rootDir>/nodes', '<rootDir>/test'],
	testMatch: ['**/*.test.ts'],
	transform: {
		'^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.json', isolatedModules: true, diagnostics: false }],
	},
	globalSetup: '<rootDir>/test/setup/global-setup.js',
	testTimeout: 30000,
	// Several suites start loopback servers and a database; two cores, so run two at a time.
	maxWorkers: 2,
};
