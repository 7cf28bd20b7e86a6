/**
 * The nodes as an AI Agent's tools, called the way n8n's agent calls them: n8n-core turns each
 * usableAsTool node into a LangChain tool (getInputConnectionData), the agent invokes it with the
 * model's arguments, and reads back the JSON of output 0. Blocked, Not Sent and refusals must
 * reach the model as what they are, with the reason; nothing leaves for a person without consent.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { IDataObject, IConnections } from 'n8n-workflow';

import { openStore } from '../../nodes/shared/store';
import type { Store } from '../../nodes/shared/store/types';
import { makeNode, runWorkflow, type NodeSpec, type WorkflowJson } from '../harness';
import { TwilioMock } from '../mocks';
import { grantConsent } from '../helpers/people';

// Quiet hours are 08:00-21:00 in the contact's zone by default: a zone where it is daytime now.
const dayZone = (() => {
	const h = new Date().getUTCHours();
	for (let o = -12; o <= 12; o++)
		if ((h + o + 24) % 24 >= 10 && (h + o + 24) % 24 < 19)
			return o === 0 ? 'UTC' : `Etc/GMT${o > 0 ? '-' : '+'}${Math.abs(o)}`;
	return 'UTC';
})();
const AI_FIXTURES = path.join(__dirname, '..', 'fixtures', 'ai-package');
const twilio = new TwilioMock();
const databasePath = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cm-tools-')), 'store.sqlite');
let store: Store;
let credentials: Record<string, IDataObject>;

beforeAll(async () => {
	await twilio.start();
	store = await openStore({ type: 'embedded', path: databasePath });
	credentials = {
		convergentStoreApi: { storageType: 'embedded', databasePath },
		twilioMessagingApi: {
			accountSid: twilio.accountSid,
			authToken: twilio.authToken,
			from: '+15550100000',
			ratePerSecond: 50,
			baseUrl: twilio.baseUrl,
		},
	};
	// Ana consented to SMS marketing; Ben never did; both are in the contact book, where it is daytime.
	await grantConsent(store, [{ id: 'crm-ana', phone: '+34600200001' } as never], ['sms']);
	await grantConsent(store, [{ id: 'crm-ben', phone: '+34600200002' } as never], []);
	await store.upsertProfiles([
		{ contactId: 'crm-ana', timeZone: dayZone },
		{ contactId: 'crm-ben', timeZone: dayZone },
	]);
});
afterAll(async () => {
	await twilio.stop();
});

/**
 * A manual trigger -> Harness Agent, with the given nodes connected to it as tools. The agent
 * answers `conversation`'s message (the item it gets carries their contactId, as the Touchpoint
 * Trigger's does), which the tools' Conversation Contact reads by default.
 */
function agentWorkflow(
	tools: NodeSpec[],
	calls: Array<{ tool: string; args: IDataObject }>,
	conversation = 'crm-ana',
): WorkflowJson {
	const trigger = makeNode({ type: 'n8n-nodes-base.manualTrigger', name: 'Start' }, [0, 0]);
	const agent = makeNode(
		{
			type: 'harness-ai-fixture-nodes.harnessAgent',
			name: 'Agent',
			parameters: { calls: JSON.stringify(calls) },
		},
		[220, 0],
	);
	const toolNodes = tools.map((t, i) => makeNode(t, [220 + i * 120, 200]));
	const connections: IConnections = {
		Start: { main: [[{ node: 'Agent', type: 'main', index: 0 }]] },
	};
	for (const t of toolNodes)
		connections[t.name] = { ai_tool: [[{ node: 'Agent', type: 'ai_tool', index: 0 }]] };
	return {
		name: 'agent',
		nodes: [trigger, agent, ...toolNodes],
		connections,
		pinData: { Start: [{ json: { contactId: conversation, text: 'Hola' } }] } as never,
		settings: { executionOrder: 'v1' },
	};
}
const run = (wf: WorkflowJson) =>
	runWorkflow(wf, { extraPackages: [AI_FIXTURES], credentials: credentials as never });
const STORE = { convergentStoreApi: 'Store' };

describe('nodes as AI Agent tools', () => {
	it('Consent Guard Check: the agent reads allowed, or blocked with the reason; its arguments are the contact', async () => {
		const check = {
			type: 'consentGuardTool',
			name: 'Check Consent',
			parameters: {
				operation: 'check',
				channel: 'sms',
				purpose: 'marketing',
				campaign: 'concierge',
			},
			credentials: STORE,
		};
		const result = await run(
			agentWorkflow([check], [{ tool: 'Check_Consent', args: { contact: 'crm-ana' } }]),
		);
		expect(result.error).toBeUndefined();
		const [ana] = result.json('Agent')[0].steps as IDataObject[];
		expect(ana.schema).toEqual(['contact']);
		expect(ana.result).toEqual([
			expect.objectContaining({ outcome: 'Allowed', status: 'allowed' }),
		]);
		// In Ben's own conversation, by his phone number.
		const [ben] = (
			await run(
				agentWorkflow(
					[check],
					[{ tool: 'Check_Consent', args: { contact: '+34 600 200 002' } }],
					'crm-ben',
				),
			)
		).json('Agent')[0].steps as IDataObject[];
		expect(ben.result).toEqual([
			expect.objectContaining({
				outcome: 'Blocked',
				status: 'blocked',
				reason: 'NO_CONSENT',
				message: expect.stringMatching(
					/^Blocked: No marketing consent on SMS for contact crm-ben.*Do not send this message\.$/,
				),
			}),
		]);
		// A tool's Check holds no place under the caps (the send checks again).
		expect((await store.exportContact('crm-ana')).touches).toEqual([]);
	});

	it('Touchpoint: the agent writes the text for a contact; sent for the consented person, not sent with the reason for the other, and nothing leaves for them', async () => {
		const send = {
			type: 'touchpointTool',
			name: 'Send SMS',
			parameters: { channel: 'sms', purpose: 'marketing', campaign: 'concierge' },
			credentials: { ...STORE, twilioMessagingApi: 'Twilio' },
		};
		twilio.reset();
		const [ana] = (
			await run(
				agentWorkflow(
					[send],
					[
						{
							tool: 'Send_SMS',
							args: { contact: 'crm-ana', text: 'Your table for two is held until 8pm.' },
						},
					],
				),
			)
		).json('Agent')[0].steps as IDataObject[];
		const [ben] = (
			await run(
				agentWorkflow(
					[send],
					[
						{
							tool: 'Send_SMS',
							args: { contact: 'crm-ben', text: 'Spring sale: 20% off tonight!' },
						},
					],
					'crm-ben',
				),
			)
		).json('Agent')[0].steps as IDataObject[];
		expect(ana.schema).toEqual(['contact', 'text']);
		expect(ana.result).toEqual([
			expect.objectContaining({ outcome: 'Sent', status: 'sent', channel: 'sms' }),
		]);
		expect(ben.result).toEqual([
			expect.objectContaining({
				outcome: 'Not Sent',
				status: 'not_sent',
				reason: 'NO_CONSENT',
				message: expect.stringContaining('No marketing consent on SMS for contact crm-ben'),
			}),
		]);
		expect(twilio.requests.map((r) => [r.body.To, r.body.Body])).toEqual([
			['+34600200001', 'Your table for two is held until 8pm.'],
		]);
	});

	it('Record Consent as a tool withdraws when the person asks to stop, and refuses to grant: an agent never gives consent', async () => {
		const grant = agentWorkflow(
			[
				{
					type: 'consentGuardTool',
					name: 'Record Consent',
					parameters: {
						operation: 'recordConsent',
						channel: 'sms',
						purpose: 'marketing',
						consentAction: 'grant',
						source: 'ai-agent',
					},
					credentials: STORE,
				},
			],
			[{ tool: 'Record_Consent', args: { contact: 'crm-ben' } }],
			'crm-ben',
		);
		const refused = ((await run(grant)).json('Agent')[0].steps as IDataObject[])[0];
		expect(refused.result).toEqual([
			expect.objectContaining({
				status: 'refused',
				message: expect.stringContaining('An AI agent cannot grant consent'),
			}),
		]);
		expect((await store.exportContact('crm-ben')).consentLedger).toEqual([]);

		const withdraw = agentWorkflow(
			[
				{
					type: 'consentGuardTool',
					name: 'Record Opt-Out',
					parameters: {
						operation: 'recordConsent',
						channel: 'sms',
						purpose: 'marketing',
						consentAction: 'withdraw',
						source: 'ai-agent',
					},
					credentials: STORE,
				},
			],
			[{ tool: 'Record_Opt-Out', args: { contact: 'crm-ana' } }],
		);
		const done = ((await run(withdraw)).json('Agent')[0].steps as IDataObject[])[0];
		expect(done.result).toEqual([expect.objectContaining({ outcome: 'Record Consent' })]);
		expect((await store.exportContact('crm-ana')).consentLedger.at(-1)).toMatchObject({
			action: 'withdraw',
			channel: 'sms',
			purpose: 'marketing',
		});
		// The next send through the tool is refused with the reason, and nothing leaves.
		twilio.reset();
		const send = agentWorkflow(
			[
				{
					type: 'touchpointTool',
					name: 'Send SMS',
					parameters: { channel: 'sms', purpose: 'marketing', campaign: 'after-stop' },
					credentials: { ...STORE, twilioMessagingApi: 'Twilio' },
				},
			],
			[{ tool: 'Send_SMS', args: { contact: 'crm-ana', text: 'One more offer?' } }],
		);
		expect(((await run(send)).json('Agent')[0].steps as IDataObject[])[0].result).toEqual([
			expect.objectContaining({ status: 'not_sent', reason: 'WITHDRAWN' }),
		]);
		expect(twilio.requests).toHaveLength(0);
	});

	it('as tools, the operations that would let a message reach someone the policy keeps it from, erase a person, or hand all of their data to a model are refused, and change nothing', async () => {
		await store.addSuppressions([
			{ address: '+34600200009', channel: 'sms', reason: 'unsubscribed', note: 'test' },
		]);
		const tools: Array<[string, IDataObject, IDataObject]> = [
			[
				'Unsuppress',
				{ operation: 'removeSuppression', resource: 'consent', addressField: 'address' },
				{ address: '+34600200009' },
			],
			['Link', { resource: 'contact', operation: 'linkAddress' }, { contact: 'crm-ana' }],
			['Merge', { resource: 'contact', operation: 'mergeContacts' }, { contact: 'crm-ana' }],
			['Upsert', { resource: 'contact', operation: 'upsertContact' }, { contact: 'crm-ana' }],
			['Confirm', { operation: 'confirmConsent' }, { contact: 'crm-ana' }],
			['Erase', { resource: 'contact', operation: 'eraseContact' }, { contact: 'crm-ana' }],
			['Export', { resource: 'contact', operation: 'exportContact' }, { contact: 'crm-ana' }],
		];
		for (const [name, parameters, args] of tools) {
			const wf = agentWorkflow(
				[{ type: 'consentGuardTool', name, parameters, credentials: STORE }],
				[{ tool: name, args }],
			);
			const [step] = (await run(wf)).json('Agent')[0].steps as IDataObject[];
			expect({ name, result: step.result }).toEqual({
				name,
				result: [
					expect.objectContaining({
						outcome: 'Refused',
						status: 'refused',
						message: expect.stringMatching(/^An AI agent cannot .* Nothing was changed\.$/),
					}),
				],
			});
		}
		expect((await store.findSuppressions(['+34600200009'])).map((x) => x.reason)).toEqual([
			'unsubscribed',
		]);
		// Nothing of Ana was erased or handed to the model.
		expect(
			(
				await store.getConsentStates([
					{ contactId: 'crm-ana', channel: 'sms', purpose: 'marketing' },
				])
			).size,
		).toBe(1);
	});

	it("as tools, the nodes read and act only for the person of the conversation: another person's contact, consent, journey or messages are refused and nothing of them reaches the model", async () => {
		await store.upsertProfiles([{ contactId: 'crm-ben', name: 'Ben Secret' }]);
		const refusedFor = async (spec: NodeSpec, args: IDataObject, conversation = 'crm-ana') => {
			const [step] = (
				await run(
					agentWorkflow(
						[spec],
						[{ tool: String(spec.name).replace(/ /g, '_'), args }],
						conversation,
					),
				)
			).json('Agent')[0].steps as IDataObject[];
			return step.result as IDataObject[];
		};
		const get = {
			type: 'consentGuardTool',
			name: 'Get Contact',
			parameters: { resource: 'contact', operation: 'getContact' },
			credentials: STORE,
		};
		const find = {
			type: 'consentGuardTool',
			name: 'Find Contact',
			parameters: { resource: 'contact', operation: 'findContact' },
			credentials: STORE,
		};
		const check = {
			type: 'consentGuardTool',
			name: 'Check Consent',
			parameters: { operation: 'check', channel: 'sms', purpose: 'marketing' },
			credentials: STORE,
		};
		const journey = {
			type: 'journeyTool',
			name: 'Journey',
			parameters: {
				operation: 'getContactJourney',
				journeyName: 'Salon',
				stages: 'Interest, Booked',
			},
			credentials: STORE,
		};
		const send = {
			type: 'touchpointTool',
			name: 'Send SMS',
			parameters: { channel: 'sms', purpose: 'marketing', campaign: 'other-person' },
			credentials: { ...STORE, twilioMessagingApi: 'Twilio' },
		};
		twilio.reset();
		// Before, Get and Find by Address answered for any id, phone or email the chat named.
		for (const [spec, args] of [
			[get, { contact: 'crm-ben' }],
			[find, { contact: '+34600200002' }],
			[check, { contact: '+34 600 200 002' }],
			[journey, { contactId: 'crm-ben' }],
			[send, { contact: 'crm-ben', text: 'hi' }],
		] as Array<[NodeSpec, IDataObject]>) {
			const result = await refusedFor(spec, args);
			expect({ tool: spec.name, result }).toEqual({
				tool: spec.name,
				result: [
					expect.objectContaining({
						outcome: 'Refused',
						status: 'refused',
						message:
							'An AI agent reads and acts only for the person it is talking with, and this names someone else. Nothing was read or changed.',
					}),
				],
			});
			expect(JSON.stringify(result)).not.toMatch(/Ben Secret|crm-ben|600200002/);
		}
		expect(twilio.requests).toHaveLength(0);
		// Its own person, by ID or by phone: answered.
		expect((await refusedFor(get, { contact: 'crm-ana' }))[0]).not.toMatchObject({
			outcome: 'Refused',
		});
		expect((await refusedFor(find, { contact: '+34600200001' }))[0]).not.toMatchObject({
			outcome: 'Refused',
		});
		// A tool that does not know who the conversation is with answers about nobody.
		const blind = { ...get, parameters: { ...get.parameters, toolConversationContact: '' } };
		expect((await refusedFor(blind, { contact: 'crm-ana' }))[0]).toMatchObject({
			status: 'refused',
			message: expect.stringMatching(/does not know who the conversation is with/),
		});
	});

	it('as tools, a store that cannot be reached refuses the call: who it is about cannot be checked, so nothing runs', async () => {
		const broken = {
			storageType: 'postgres',
			host: '127.0.0.1',
			port: 1,
			database: 'none',
			user: 'none',
			password: '',
			ssl: false,
		};
		const wf = agentWorkflow(
			[
				{
					type: 'consentGuardTool',
					name: 'Check Consent',
					parameters: { operation: 'check', channel: 'sms', purpose: 'marketing' },
					credentials: STORE,
				},
			],
			[{ tool: 'Check_Consent', args: { contact: 'crm-ana' } }],
		);
		const result = await runWorkflow(wf, {
			extraPackages: [AI_FIXTURES],
			credentials: { ...credentials, convergentStoreApi: broken } as never,
		});
		const [step] = result.json('Agent')[0].steps as IDataObject[];
		expect(step.result).toEqual([
			expect.objectContaining({
				status: 'refused',
				message: expect.stringMatching(
					/^Could not check who the conversation is with \(.*\)\. Nothing was read or changed\.$/,
				),
			}),
		]);
	});
});
