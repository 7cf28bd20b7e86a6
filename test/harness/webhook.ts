/**
 * n8n's webhook path, in-process: a real HTTP server on 127.0.0.1 receives the provider's
 * request, keeps the raw body as n8n does (`req.rawBody`), runs the trigger node's `webhook()`
 * in n8n-core's own WebhookContext, answers as n8n would (the node's own response, or 200 on
 * receipt), and runs the rest of the workflow with the items the trigger returned.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebhookContext, ExecutionLifecycleHooks } from 'n8n-core';
import type {
	ICredentialDataDecryptedObject,
	IDataObject,
	INode,
	IWebhookData,
	IWorkflowBase,
} from 'n8n-workflow';
import { Workflow } from 'n8n-workflow';

import { HarnessCredentialsHelper } from './credentials';
import {
	buildAdditionalData,
	getRegistry,
	runWorkflow,
	useTempUserFolder,
	type RunResult,
	type WorkflowJson,
} from './index';

export interface WebhookServer {
	/** The production webhook URL of the trigger (POST and GET go here). */
	url: string;
	/** Workflow runs started by accepted requests, in order. */
	runs: RunResult[];
	/** Requests the trigger accepted without starting a run (duplicates, statuses). */
	accepted: number;
	/** Resolves when every request received so far has been handled (n8n answers before the run ends). */
	settled(): Promise<void>;
	stop(): Promise<void>;
}

export async function startWebhookServer(
	workflowJson: WorkflowJson,
	options: {
		trigger: string;
		credentials?: Record<string, ICredentialDataDecryptedObject>;
		extraPackages?: string[];
	},
): Promise<WebhookServer> {
	useTempUserFolder();
	const registry = await getRegistry(options.extraPackages);
	const triggerNode = workflowJson.nodes.find((n) => n.name === options.trigger) as INode;
	if (!triggerNode) throw new Error(`No node "${options.trigger}" in the workflow`);
	if (triggerNode.disabled)
		throw new Error(`"${triggerNode.name}" is disabled: enable it to serve it`);
	triggerNode.webhookId ??= 'harness-webhook';
	let queue = Promise.resolve();
	const state: WebhookServer = {
		url: '',
		runs: [],
		accepted: 0,
		stop: async () => {},
		settled: async () => {
			await new Promise((r) => setImmediate(r));
			await queue;
		},
	};

	const server = http.createServer((req, res) => {
		const chunks: Buffer[] = [];
		req.on('data', (c: Buffer) => chunks.push(c));
		req.on('end', () => {
			// One request at a time, as a single n8n main process handles a trigger's calls in order.
			queue = queue
				.then(() => handle(req, res, Buffer.concat(chunks)))
				.catch((error) => {
					res.writeHead(500, { 'content-type': 'text/plain' });
					res.end(String(error?.message ?? error));
				});
		});
	});

	async function handle(req: http.IncomingMessage, res: http.ServerResponse, rawBody: Buffer) {
		const url = new URL(req.url ?? '/', state.url);
		const type = String(req.headers['content-type'] ?? '');
		let body: IDataObject = {};
		if (rawBody.length && type.includes('application/json'))
			body = JSON.parse(rawBody.toString('utf8'));
		else if (rawBody.length && type.includes('application/x-www-form-urlencoded'))
			body = Object.fromEntries(new URLSearchParams(rawBody.toString('utf8')));
		const expressReq = Object.assign(req, {
			body,
			rawBody,
			query: Object.fromEntries(url.searchParams),
			path: url.pathname,
		});
		let responded = false;
		const expressRes = Object.assign(res, {
			status(code: number) {
				res.statusCode = code;
				return expressRes;
			},
			type(t: string) {
				res.setHeader('content-type', t);
				return expressRes;
			},
			send(data: unknown) {
				responded = true;
				res.end(typeof data === 'string' || Buffer.isBuffer(data) ? data : JSON.stringify(data));
				return expressRes;
			},
			json(data: unknown) {
				res.setHeader('content-type', 'application/json');
				return expressRes.send(data);
			},
		});

		const workflow = new Workflow({
			id: String(workflowJson.id ?? 'harness'),
			name: workflowJson.name ?? 'harness',
			nodes: structuredClone(workflowJson.nodes),
			connections: workflowJson.connections,
			active: true,
			nodeTypes: registry.nodeTypes,
			staticData: {},
			settings: workflowJson.settings ?? {},
		});
		const node = workflow.getNode(options.trigger)!;
		const nodeType = registry.nodeTypes.getByNameAndVersion(node.type, node.typeVersion);
		const method = (req.method ?? 'GET').toUpperCase();
		const description = nodeType.description.webhooks?.find(
			(w) => String(w.httpMethod).toUpperCase() === method,
		);
		if (!description || !nodeType.webhook) {
			res.writeHead(404).end('This webhook does not accept ' + method);
			return;
		}
		const credentialsHelper = new HarnessCredentialsHelper(
			registry.credentialTypes,
			options.credentials ?? {},
		);
		const hooks = new ExecutionLifecycleHooks('webhook', 'webhook-call', {
			id: workflow.id,
			name: workflow.name,
			nodes: workflowJson.nodes,
			connections: workflowJson.connections,
			active: true,
		} as IWorkflowBase);
		const additionalData = buildAdditionalData(hooks, credentialsHelper, 'webhook-call');
		Object.assign(additionalData, {
			httpRequest: expressReq,
			httpResponse: expressRes,
			webhookBaseUrl: `${state.url.replace(/\/webhook\/.*$/, '')}/webhook`,
		});
		const webhookData: IWebhookData = {
			httpMethod: method as IWebhookData['httpMethod'],
			node: node.name,
			path: String(description.path),
			webhookDescription: description,
			workflowId: workflow.id,
			workflowExecuteAdditionalData: additionalData,
			webhookId: node.webhookId,
		};
		const context = new WebhookContext(
			workflow,
			node,
			additionalData,
			'webhook',
			webhookData,
			[],
			null,
		);
		const result = await nodeType.webhook.call(context);
		if (!result.noWebhookResponse && !responded) {
			res.writeHead(200, { 'content-type': 'application/json' });
			res.end(JSON.stringify({ message: 'Workflow was started' }));
		}
		if (!result.workflowData) {
			state.accepted++;
			return;
		}
		state.runs.push(
			await runWorkflow(workflowJson, {
				mode: 'webhook',
				startNode: options.trigger,
				extraPackages: options.extraPackages,
				startItems: result.workflowData[0],
				credentials: options.credentials,
			}),
		);
	}

	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const port = (server.address() as AddressInfo).port;
	state.url = `http://127.0.0.1:${port}/webhook/${triggerNode.webhookId}/webhook`;
	state.stop = () =>
		new Promise<void>((resolve) => {
			server.closeAllConnections();
			server.close(() => resolve());
		});
	return state;
}
