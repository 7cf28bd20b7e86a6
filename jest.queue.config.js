/**
 * n8n queue mode (npm run test:queue): several real n8n processes, PostgreSQL and Redis, one
 * suite at a time, long timeouts (the first run downloads n8n into .cache).
 */
const base = require('./jest.config');

/** @type {import('jest').Config} */
module.exports = {
	...base,
	roots: ['<rootDir>/test'],
	testMatch: ['**/*.queue.test.ts'],
	testPathIgnorePatterns: ['/node_modules/'],
	testTimeout: 900000,
	maxWorkers: 1,
};
