/**
 * End-to-end tests against a real n8n (npm run test:e2e): one n8n at a time, long timeouts
 * (the first run downloads n8n into .cache).
 */
const base = require('./jest.config');

/** @type {import('jest').Config} */
module.exports = {
	...base,
	roots: ['<rootDir>/test'],
	testMatch: ['**/*.e2e.test.ts'],
	testPathIgnorePatterns: ['/node_modules/'],
	testTimeout: 600000,
	maxWorkers: 1,
};
