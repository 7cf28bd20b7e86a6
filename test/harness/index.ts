/**
 * In-process workflow harness: runs a workflow JSON exactly as n8n exports it through
 * n8n-core's WorkflowExecute, with this package's BUILT nodes (dist/, loaded through the
 * package.json n8n manifest) and n8n's own nodes-base. Expressions, credentials, pairedItem,
 * continueOnFail and multiple outputs behave as in n8n because n8n's engine runs them.
 *
 *   const wf = manualWorkflow({ items: [{ a: 1 }, { a: 2 }], node: { type: 'segment', parameters } });
 *   const run = await runWorkflow(wf, { credentials: { convergentStoreApi: { type: 'embedded' } } });
 *   run.items('Segment', 0)  // items on output 0
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { ExecutionLifecycleHooks, WorkflowExecute } from 'n8n-core';
import type {
	ExecutionError,
	ICredentialDataDecryptedObject,
	IDataObject,
	INode,
	INodeExecutionData,
	IPinData,
	IRun,
	IRunData,
	IWorkflowBase,
	IWorkflowExecuteAdditionalData,
	WorkflowExecuteMode,
} from 'n8n-workflow';
import { Workflow } from 'n8n-workflow';

import { HarnessCredentialsHelper } from './credentials';
import { PACKAGE_NAME, Registry } from './loader';

export { PACKAGE_NAME, PROJECT_ROOT, Registry } from './loader';

/** A workflow as n8n exports it (File > Download, or a template in workflows/). */
export interface WorkflowJson {
	name?: string;
	nodes: INode[];
	connections: IWorkflowBase['connections'];
	pinData?: IPinData;
	settings?: IWorkflowBase['settings'];
	[key: string]: unknown;
}

export interface RunOptions {
	/** Credential data by credential type name, e.g. { whatsAppCloudApi: { accessToken: 'x' } }. */
	credentials?: Record<string, ICredentialDataDecryptedObject>;
	mode?: WorkflowExecuteMode;
	/** Node to start from; default: the workflow's trigger/start node. */
	startNode?: string;
	/** Items the start node emits (e.g. a webhook's output); default: its pinned data or one empty item. */
	startItems?: INodeExecutionData[];
	/** Extra package folders (with a package.json n8n manifest) to load, e.g. test fixtures. */
	extraPackages?: string[];
}

export interface RunResult {
	run: IRun;
	status: IRun['status'];
	/** The workflow-level error (a node failed without continueOnFail), if any. */
	error?: ExecutionError;
	runData: IRunData;
	executionOrder: string[];
	/** Output branches of a node's run (default: first run): one array of items per output. */
	outputs(nodeName: string, runIndex?: number): INodeExecutionData[][];
	/** Items of one output of a node (default output 0, first run). */
	items(nodeName: string, outputIndex?: number, runIndex?: number): INodeExecutionData[];
	/** The json of items of one output. */
	json(nodeName: string, outputIndex?: number, runIndex?: number): IDataObject[];
	/** The error a node's run ended with, if any. */
	nodeError(nodeName: string, runIndex?: number): ExecutionError | undefined;
	credentialsHelper: HarnessCredentialsHelper;
}

let registryPromise: Promise<Registry> | undefined;
const extraRegistries = new Map<string, Promise<Registry>>();

export function getRegistry(extraPackages: string[] = []): Promise<Registry> {
	if (extraPackages.length === 0) return (registryPromise ??= Registry.create());
	const key = extraPackages.join('|');
	if (!extraRegistries.has(key)) extraRegistries.set(key, Registry.create(extraPackages));
	return extraRegistries.get(key)!;
}

/** A private n8n user folder for the test process (the embedded store lives there). */
export function useTempUserFolder(): string {
	if (!process.env.N8N_USER_FOLDER || !process.env.N8N_USER_FOLDER.includes('cm-harness-')) {
		process.env.N8N_USER_FOLDER = fs.mkdtempSync(path.join(os.tmpdir(), 'cm-harness-'));
	}
	return process.env.N8N_USER_FOLDER;
}

export function buildAdditionalData(
	hooks: ExecutionLifecycleHooks,
	credentialsHelper: HarnessCredentialsHelper,
	executionId: string,
): IWorkflowExecuteAdditionalData {
	const base = {
		hooks,
		credentialsHelper,
		executionId,
		restApiUrl: 'http://127.0.0.1:5678/rest',
		instanceBaseUrl: 'http://127.0.0.1:5678/',
		webhookBaseUrl: 'http://127.0.0.1:5678/webhook',
		webhookWaitingBaseUrl: 'http://127.0.0.1:5678/webhook-waiting',
		webhookTestBaseUrl: 'http://127.0.0.1:5678/webhook-test',
		formWaitingBaseUrl: 'http://127.0.0.1:5678/form-waiting',
		variables: {},
		currentNodeParameters: undefined,
		executionTimeoutTimestamp: undefined,
		userId: 'harness-user',
		setExecutionStatus: () => {},
		sendDataToUI: () => {},
		logAiEvent: () => {},
		startRunnerTask: async () => {
			throw new Error('The harness runs no task runner: Code nodes are not supported here');
		},
		executeWorkflow: async () => {
			throw new Error('The harness does not run sub-workflows');
		},
		getRunExecutionData: async () => undefined,
	};
	return base as unknown as IWorkflowExecuteAdditionalData;
}

/** Runs a workflow JSON in-process and returns every node's output. */
export async function runWorkflow(
	workflowJson: WorkflowJson,
	options: RunOptions = {},
): Promise<RunResult> {
	useTempUserFolder();
	const registry = await getRegistry(options.extraPackages);
	const json = structuredClone(workflowJson);
	const mode = options.mode ?? 'manual';

	const workflow = new Workflow({
		id: String(json.id ?? 'harness'),
		name: json.name ?? 'harness',
		nodes: json.nodes,
		connections: json.connections,
		active: false,
		nodeTypes: registry.nodeTypes,
		staticData: {},
		settings: json.settings ?? {},
		pinData: json.pinData,
	});

	const credentialsHelper = new HarnessCredentialsHelper(
		registry.credentialTypes,
		options.credentials ?? {},
	);
	const executionId = randomUUID();
	const hooks = new ExecutionLifecycleHooks(mode, executionId, {
		id: workflow.id,
		name: workflow.name,
		nodes: json.nodes,
		connections: json.connections,
		active: false,
		settings: json.settings,
	} as IWorkflowBase);
	const executionOrder: string[] = [];
	hooks.addHandler('nodeExecuteAfter', (nodeName: string) => {
		executionOrder.push(nodeName);
	});

	const additionalData = buildAdditionalData(hooks, credentialsHelper, executionId);
	const startNode = options.startNode
		? workflow.getNode(options.startNode)
		: (workflow.getStartNode() ?? undefined);
	if (!startNode) throw new Error('The workflow has no start node');
	// As in n8n: a trigger that is switched off never starts a run.
	if (startNode.disabled)
		throw new Error(`"${startNode.name}" is disabled: enable it to run from it`);

	let pinData = json.pinData;
	if (options.startItems) pinData = { ...(pinData ?? {}), [startNode.name]: options.startItems };

	const workflowExecute = new WorkflowExecute(additionalData, mode);
	const run = await workflowExecute.run({ workflow, startNode, pinData });

	const runData = run.data.resultData.runData;
	const taskOf = (nodeName: string, runIndex = 0) => {
		const tasks = runData[nodeName];
		if (!tasks) {
			const failed = Object.entries(runData)
				.filter(([, t]) => t.some((x) => x.error))
				.map(([n, t]) => `${n}: ${t.find((x) => x.error)?.error?.message}`);
			throw new Error(
				`Node "${nodeName}" did not run. Ran: ${Object.keys(runData).join(', ')}` +
					(failed.length ? `. Errors: ${failed.join('; ')}` : ''),
			);
		}
		return tasks[runIndex];
	};
	const outputs = (nodeName: string, runIndex = 0) =>
		(taskOf(nodeName, runIndex)?.data?.main ?? []).map((items) => items ?? []);

	return {
		run,
		status: run.status,
		error: run.data.resultData.error,
		runData,
		executionOrder,
		outputs,
		items: (nodeName, outputIndex = 0, runIndex = 0) =>
			outputs(nodeName, runIndex)[outputIndex] ?? [],
		json: (nodeName, outputIndex = 0, runIndex = 0) =>
			(outputs(nodeName, runIndex)[outputIndex] ?? []).map((i) => i.json),
		nodeError: (nodeName, runIndex = 0) => taskOf(nodeName, runIndex)?.error,
		credentialsHelper,
	};
}

export interface NodeSpec {
	/** Our node's short type ('consentGuard') or a full type ('n8n-nodes-base.set'). */
	type: string;
	name?: string;
	typeVersion?: number;
	parameters?: IDataObject;
	/** Credential type -> display name; ids are made up. */
	credentials?: Record<string, string>;
	continueOnFail?: boolean;
	onError?: INode['onError'];
}

export function fullType(type: string): string {
	return type.includes('.') ? type : `${PACKAGE_NAME}.${type}`;
}

export function defaultNodeName(type: string): string {
	const short = type.slice(type.lastIndexOf('.') + 1);
	return short.charAt(0).toUpperCase() + short.slice(1).replace(/([a-z])([A-Z])/g, '$1 $2');
}

export function makeNode(spec: NodeSpec, position: [number, number]): INode {
	const node: INode = {
		id: randomUUID(),
		name: spec.name ?? defaultNodeName(spec.type),
		type: fullType(spec.type),
		typeVersion: spec.typeVersion ?? 1,
		position,
		parameters: (spec.parameters ?? {}) as INode['parameters'],
	};
	if (spec.credentials) {
		node.credentials = Object.fromEntries(
			Object.entries(spec.credentials).map(([type, name], i) => [
				type,
				{ id: `cred-${i + 1}`, name },
			]),
		);
	}
	if (spec.continueOnFail) node.onError = 'continueRegularOutput';
	if (spec.onError) node.onError = spec.onError;
	return node;
}

/**
 * A workflow of a Manual Trigger with pinned items followed by a chain of nodes (each node's
 * output 0 feeds the next), as a marketer would test a node in the editor with pinned data.
 */
export function manualWorkflow(spec: {
	items: IDataObject[];
	node?: NodeSpec;
	chain?: NodeSpec[];
}): WorkflowJson {
	const trigger: INode = {
		id: randomUUID(),
		name: 'When clicking ‘Execute workflow’',
		type: 'n8n-nodes-base.manualTrigger',
		typeVersion: 1,
		position: [0, 0],
		parameters: {},
	};
	const chain = spec.chain ?? (spec.node ? [spec.node] : []);
	const nodes = [trigger, ...chain.map((s, i) => makeNode(s, [220 * (i + 1), 0]))];
	const connections: WorkflowJson['connections'] = {};
	for (let i = 0; i < nodes.length - 1; i++) {
		connections[nodes[i].name] = { main: [[{ node: nodes[i + 1].name, type: 'main', index: 0 }]] };
	}
	return {
		name: 'harness',
		nodes,
		connections,
		pinData: { [trigger.name]: spec.items.map((json) => ({ json })) },
		settings: { executionOrder: 'v1' },
	};
}
