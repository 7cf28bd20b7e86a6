/**
 * The webhook path reads a credential once per CREDENTIAL_TTL_MS per node and credential, not on
 * every delivery (in n8n 2.x each read is a database query, a decryption and an expression isolate).
 */
import type { IWebhookFunctions } from 'n8n-workflow';

import { CREDENTIAL_TTL_MS, webhookCredentials } from '../../../nodes/shared/n8n/credentials';

function context(credentialId: string, reads: string[], fail = false) {
	return {
		getWorkflow: () => ({ id: 'wf-1', name: 'w', active: true }),
		getNode: () => ({
			id: 'node-1',
			name: 'Inbound',
			credentials: { metaWebhookApi: { id: credentialId, name: 'Meta' } },
		}),
		getCredentials: async (type: string) => {
			reads.push(`${type}:${credentialId}`);
			if (fail) throw new Error('database not reachable');
			return { appSecret: `secret-of-${credentialId}` };
		},
	} as unknown as IWebhookFunctions;
}

describe('webhookCredentials', () => {
	afterEach(() => jest.restoreAllMocks());

	it('reads once within the TTL, again after it; another credential is its own entry', async () => {
		let now = 1_000_000;
		jest.spyOn(Date, 'now').mockImplementation(() => now);
		const reads: string[] = [];
		for (let k = 0; k < 50; k++)
			expect(await webhookCredentials(context('c-a', reads))('metaWebhookApi')).toEqual({
				appSecret: 'secret-of-c-a',
			});
		expect(reads).toEqual(['metaWebhookApi:c-a']);
		expect(await webhookCredentials(context('c-b', reads))('metaWebhookApi')).toEqual({
			appSecret: 'secret-of-c-b',
		});
		now += CREDENTIAL_TTL_MS;
		await webhookCredentials(context('c-a', reads))('metaWebhookApi');
		expect(reads).toEqual(['metaWebhookApi:c-a', 'metaWebhookApi:c-b', 'metaWebhookApi:c-a']);
	});

	it('does not remember a failed read', async () => {
		const reads: string[] = [];
		await expect(
			webhookCredentials(context('c-fail', reads, true))('metaWebhookApi'),
		).rejects.toThrow('database not reachable');
		expect(await webhookCredentials(context('c-fail', reads))('metaWebhookApi')).toEqual({
			appSecret: 'secret-of-c-fail',
		});
		expect(reads).toEqual(['metaWebhookApi:c-fail', 'metaWebhookApi:c-fail']);
	});
});
