/**
 * Loads node and credential types the way n8n does: this package from its built dist/ through
 * the n8n manifest in package.json (PackageDirectoryLoader, as n8n loads a community package),
 * n8n-nodes-base lazily from its known/types JSON (Manual Trigger, Webhook, Switch, Wait...).
 */
import fs from 'node:fs';
import path from 'node:path';
import { LazyPackageDirectoryLoader, PackageDirectoryLoader } from 'n8n-core';
import type {
	ICredentialTypes,
	INodeType,
	INodeTypes,
	IVersionedNodeType,
	LoadedClass,
} from 'n8n-workflow';
import { NodeConnectionTypes, NodeHelpers } from 'n8n-workflow';

/** The package root: the nearest folder up from here whose package.json is this package. */
function findRoot(): string {
	let dir = __dirname;
	for (;;) {
		const file = path.join(dir, 'package.json');
		if (
			fs.existsSync(file) &&
			JSON.parse(fs.readFileSync(file, 'utf8')).name === 'n8n-nodes-convergent-marketing'
		)
			return dir;
		const up = path.dirname(dir);
		if (up === dir)
			throw new Error('Cannot find the package root of n8n-nodes-convergent-marketing');
		dir = up;
	}
}

export const PROJECT_ROOT = findRoot();
export const PACKAGE_NAME: string = require(path.join(PROJECT_ROOT, 'package.json')).name;
const NODES_BASE_DIR = path.dirname(require.resolve('n8n-nodes-base/package.json'));

type Loader = PackageDirectoryLoader;

export class Registry {
	private readonly loaders = new Map<string, Loader>();

	static async create(extraPackageDirs: string[] = []): Promise<Registry> {
		const registry = new Registry();
		await registry.add(new PackageDirectoryLoader(PROJECT_ROOT));
		await registry.add(new LazyPackageDirectoryLoader(NODES_BASE_DIR));
		for (const dir of extraPackageDirs) await registry.add(new PackageDirectoryLoader(dir));
		return registry;
	}

	private async add(loader: Loader) {
		await loader.loadAll();
		this.loaders.set(loader.packageName, loader);
	}

	/** The package's own node type names (short names, e.g. 'consentGuard'). */
	ownNodeTypes(): string[] {
		return Object.keys(this.loaders.get(PACKAGE_NAME)!.known.nodes);
	}

	ownCredentialTypes(): string[] {
		return Object.keys(this.loaders.get(PACKAGE_NAME)!.known.credentials);
	}

	private loaderFor(fullType: string): [Loader, string] {
		const dot = fullType.lastIndexOf('.');
		const loader = this.loaders.get(fullType.slice(0, dot));
		const type = fullType.slice(dot + 1);
		if (!loader || !(type in loader.known.nodes)) {
			throw new Error(`Unknown node type "${fullType}" (is the package built? run npm run build)`);
		}
		return [loader, type];
	}

	private readonly tools = new Map<string, LoadedClass<INodeType | IVersionedNodeType>>();

	getNode(fullType: string): LoadedClass<INodeType | IVersionedNodeType> {
		if (fullType.endsWith('Tool') && !this.isKnown(fullType)) return this.toolVariant(fullType);
		const [loader, type] = this.loaderFor(fullType);
		return loader.getNode(type);
	}

	private isKnown(fullType: string): boolean {
		const dot = fullType.lastIndexOf('.');
		return fullType.slice(dot + 1) in (this.loaders.get(fullType.slice(0, dot))?.known.nodes ?? {});
	}

	/**
	 * The `<name>Tool` variant n8n makes of every `usableAsTool` node for the AI Agent, made the way
	 * n8n's loader does (convertNodeToAiTool): no main input, one ai_tool output, the tool
	 * description parameters; the node's own execute runs.
	 */
	private toolVariant(fullType: string): LoadedClass<INodeType | IVersionedNodeType> {
		const hit = this.tools.get(fullType);
		if (hit) return hit;
		const base = this.getNode(fullType.slice(0, -'Tool'.length));
		const node = base.type as INodeType;
		if (!node.description?.usableAsTool)
			throw new Error(
				`Unknown node type "${fullType}" (${fullType.slice(0, -4)} is not usable as a tool)`,
			);
		const description = structuredClone(node.description);
		description.name += 'Tool';
		description.displayName += ' Tool';
		description.inputs = [];
		description.outputs = [NodeConnectionTypes.AiTool];
		delete description.usableAsTool;
		description.properties = [
			{
				displayName: 'Tool Description',
				name: 'descriptionType',
				type: 'options',
				noDataExpression: true,
				options: [
					{ name: 'Set Automatically', value: 'auto' },
					{ name: 'Set Manually', value: 'manual' },
				],
				default: 'auto',
			},
			{
				displayName: 'Description',
				name: 'toolDescription',
				type: 'string',
				default: node.description.description,
				displayOptions: { show: { descriptionType: ['manual'] } },
			},
			...description.properties,
		];
		const variant = Object.assign(Object.create(node) as INodeType, { description });
		const loaded = { type: variant, sourcePath: base.sourcePath };
		this.tools.set(fullType, loaded);
		return loaded;
	}

	readonly nodeTypes: INodeTypes = {
		getByName: (type) => this.getNode(type).type,
		getByNameAndVersion: (type, version) =>
			NodeHelpers.getVersionedNodeType(this.getNode(type).type, version),
		getKnownTypes: () => {
			const known: Record<string, { className: string; sourcePath: string }> = {};
			for (const [pkg, loader] of this.loaders) {
				for (const [type, info] of Object.entries(loader.known.nodes))
					known[`${pkg}.${type}`] = info;
			}
			return known;
		},
	};

	readonly credentialTypes: ICredentialTypes = {
		recognizes: (type) => [...this.loaders.values()].some((l) => type in l.known.credentials),
		getByName: (type) => {
			for (const loader of this.loaders.values()) {
				if (type in loader.known.credentials) return loader.getCredential(type).type;
			}
			throw new Error(`Unknown credential type "${type}"`);
		},
		getSupportedNodes: (type) => {
			for (const loader of this.loaders.values()) {
				const info = loader.known.credentials[type];
				if (info) return (info.supportedNodes ?? []).map((n) => `${loader.packageName}.${n}`);
			}
			return [];
		},
		getParentTypes: (type) => {
			const parents: string[] = [];
			let current = this.credentialTypes.recognizes(type)
				? this.credentialTypes.getByName(type)
				: undefined;
			while (current?.extends?.length) {
				parents.push(...current.extends);
				const next = current.extends[0];
				current = this.credentialTypes.recognizes(next)
					? this.credentialTypes.getByName(next)
					: undefined;
			}
			return parents;
		},
	};
}
