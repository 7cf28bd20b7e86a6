/**
 * The package as n8n sees it: after `npm run build` every file the n8n manifest lists exists,
 * n8n's own loader loads every node and credential, and each description follows n8n's
 * conventions (codex file, light/dark icons present in dist, operations with actions, named outputs).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { INodeProperties, INodeTypeDescription } from 'n8n-workflow';
import { NodeHelpers } from 'n8n-workflow';

import { PROJECT_ROOT, getRegistry } from '../harness';

const pkg = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8'));
const listed: string[] = [...pkg.n8n.nodes, ...pkg.n8n.credentials];

describe('package manifest', () => {
	it('is an n8n community package', () => {
		expect(pkg.keywords).toContain('n8n-community-node-package');
		expect(pkg.n8n.n8nNodesApiVersion).toBe(1);
		// The starter's manifest: the package is built to n8n's strict community-node rules.
		expect(pkg.n8n.strict).toBe(true);
		expect(pkg.files).toEqual(['dist', '!dist/.tsbuildinfo']);
		expect(pkg.peerDependencies).toEqual({ 'n8n-workflow': '*' });
		expect(pkg.license).toBe('MIT');
	});

	it('ships the built nodes, credentials and icons only: no source maps, no build info, no tests', () => {
		const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
			cwd: PROJECT_ROOT,
			encoding: 'utf8',
		});
		const files = (JSON.parse(out)[0].files as Array<{ path: string }>).map((f) => f.path);
		expect(files.filter((f) => /\.map$|tsbuildinfo|\.test\.|(^|\/)test\//.test(f))).toEqual([]);
		expect(files).toEqual(
			expect.arrayContaining(['package.json', 'README.md', 'LICENSE', ...listed]),
		);
		expect(pkg.main).toBeUndefined();
	});

	it('npm run build produced every file the manifest lists', () => {
		const missing = listed.filter(
			(file) => !file.startsWith('dist/') || !fs.existsSync(path.join(PROJECT_ROOT, file)),
		);
		expect(missing).toEqual([]);
	});

	it("every credential shows its provider's mark, light and dark, shipped in dist", () => {
		const marks = (pkg.n8n.credentials as string[]).map((file) => {
			// eslint-disable-next-line @typescript-eslint/no-require-imports
			const mod = require(path.join(PROJECT_ROOT, file));
			const Cred = Object.values(mod)[0] as new () => {
				name: string;
				icon: { light: string; dark: string };
			};
			const c = new Cred();
			for (const v of [c.icon.light, c.icon.dark])
				expect(
					fs.existsSync(path.join(PROJECT_ROOT, path.dirname(file), v.replace(/^file:/, ''))),
				).toBe(true);
			return [c.name, path.basename(c.icon.light)];
		});
		expect(Object.fromEntries(marks)).toEqual({
			convergentStoreApi: 'store.svg',
			metaWebhookApi: 'meta.svg',
			twilioWebhookApi: 'twilio.svg',
			whatsAppCloudApi: 'whatsapp.svg',
			metaPageApi: 'meta.svg',
			twilioMessagingApi: 'twilio.svg',
			fcmServiceAccountApi: 'firebase.svg',
			convergentSmtpApi: 'email.svg',
			emailEventsWebhookApi: 'email.svg',
			openAiCompatibleApi: 'ai.svg',
		});
	});

	it('n8n loads every listed node and credential', async () => {
		const registry = await getRegistry();
		expect(registry.ownNodeTypes().length).toBe(pkg.n8n.nodes.length);
		expect(registry.ownCredentialTypes().length).toBe(pkg.n8n.credentials.length);
	});
});

function iconFiles(icon: INodeTypeDescription['icon']): string[] {
	if (!icon) return [];
	const values = typeof icon === 'string' ? [icon] : [icon.light, icon.dark];
	return values.map((v) => String(v).replace(/^file:/, ''));
}

const nodeFiles = (pkg.n8n.nodes as string[]).map((file) => [
	path.basename(file, '.node.js'),
	file,
]);

(nodeFiles.length ? describe.each(nodeFiles) : describe.skip.each([['(none yet)', '']]))(
	'node %s',
	(_name, file) => {
		const abs = path.join(PROJECT_ROOT, file);
		let description: INodeTypeDescription;
		beforeAll(() => {
			// eslint-disable-next-line @typescript-eslint/no-require-imports
			const mod = require(abs);
			const NodeClass = Object.values(mod)[0] as new () => { description: INodeTypeDescription };
			description = new NodeClass().description;
		});

		it('has a codex file beside it naming the node', () => {
			const codex = abs.replace(/\.js$/, '.json');
			expect(fs.existsSync(codex)).toBe(true);
			const json = JSON.parse(fs.readFileSync(codex, 'utf8'));
			expect(json.node).toBe(`${pkg.name}.${description.name}`);
			expect(json.categories.length).toBeGreaterThan(0);
		});

		it('is found where it is used: a node in the main nodes panel, a Chat Model sub-node among the language models; by "marketing" and "convergent"', () => {
			const json = JSON.parse(fs.readFileSync(abs.replace(/\.js$/, '.json'), 'utf8'));
			// n8n's node creator leaves a node whose codex category is AI (other than an agent) out of the
			// regular panel and its search: it is listed only inside the AI view. That is where a Chat
			// Model belongs: the agent's Chat Model connector opens the language models.
			if (JSON.stringify(description.outputs) === JSON.stringify(['ai_languageModel']))
				expect(json.subcategories?.AI).toEqual(['Language Models']);
			else expect(json.categories).not.toContain('AI');
			expect(json.alias.map((a: string) => a.toLowerCase())).toEqual(
				expect.arrayContaining(['marketing', 'convergent']),
			);
		});

		it('has light and dark icons that exist in dist', () => {
			expect(typeof description.icon).toBe('object');
			for (const icon of iconFiles(description.icon)) {
				expect(fs.existsSync(path.join(path.dirname(abs), icon))).toBe(true);
			}
		});

		it('declares outputs honestly and every operation has an action', () => {
			if (Array.isArray(description.outputs) && description.outputs.length > 1) {
				expect(description.outputNames?.length).toBe(description.outputs.length);
			}
			const operations = description.properties.filter(
				(p: INodeProperties) => p.name === 'operation',
			);
			for (const op of operations) {
				for (const option of op.options ?? []) {
					expect(option).toHaveProperty('action');
					expect(String((option as { value: string }).value)).toMatch(/^[a-z][a-zA-Z0-9]*$/);
					// Whole words: no possessive whose apostrophe was lost ("a contact s data").
					expect(String((option as { action: string }).action)).not.toMatch(/\w s\b/);
				}
			}
		});

		it("the canvas subtitle shows the option's display name, never its internal value", () => {
			const subtitle = String(description.subtitle ?? '');
			const inner = /^=\{\{([\s\S]*)\}\}$/.exec(subtitle)?.[1];
			if (!inner) return;
			// eslint-disable-next-line @typescript-eslint/no-implied-eval
			const evaluate = new Function('$parameter', `return (${inner});`) as (
				p: Record<string, unknown>,
			) => unknown;
			const selectors = description.properties.filter(
				(p: INodeProperties) =>
					['operation', 'channel', 'provider'].includes(p.name) &&
					p.type === 'options' &&
					subtitle.includes(`$parameter["${p.name}"]`),
			);
			for (const selector of selectors) {
				for (const option of (selector.options ?? []) as Array<{ name: string; value: string }>) {
					const resource = (selector.displayOptions?.show?.resource as string[] | undefined)?.[0];
					const shown = String(
						evaluate({
							[selector.name]: option.value,
							...(resource ? { resource } : {}),
							formName: 'Lead',
							journeyName: 'Journey',
						}),
					);
					expect(shown).toContain(option.name);
					if (option.name !== option.value) expect(shown).not.toContain(option.value);
				}
			}
		});
	},
);

describe('Touchpoint credentials panel', () => {
	it('shows only the credential the channel sends with (and the store); Best Available those of the channels it will try', () => {
		// eslint-disable-next-line @typescript-eslint/no-require-imports
		const { Touchpoint } = require(
			path.join(PROJECT_ROOT, 'dist/nodes/Touchpoint/Touchpoint.node.js'),
		);
		const description = new Touchpoint().description as INodeTypeDescription;
		const shown = (channel: string, channelPriority?: string) => {
			const parameters = channelPriority === undefined ? { channel } : { channel, channelPriority };
			return (description.credentials ?? [])
				.filter((c) =>
					NodeHelpers.displayParameter(parameters, c, { parameters } as never, description),
				)
				.map((c) => c.name);
		};
		expect(shown('sms')).toEqual(['twilioMessagingApi', 'convergentStoreApi']);
		expect(shown('whatsapp')).toEqual(['whatsAppCloudApi', 'convergentStoreApi']);
		expect(shown('instagram')).toEqual(['metaPageApi', 'convergentStoreApi']);
		expect(shown('bestAvailable')).toHaveLength(6);
		// Best Available asks only for the channels its Channel Priority will try.
		expect(shown('bestAvailable', 'push, whatsapp, sms, email')).toEqual([
			'whatsAppCloudApi',
			'twilioMessagingApi',
			'fcmServiceAccountApi',
			'convergentSmtpApi',
			'convergentStoreApi',
		]);
		expect(shown('bestAvailable', 'SMS,Email')).toEqual([
			'twilioMessagingApi',
			'convergentSmtpApi',
			'convergentStoreApi',
		]);
		expect(shown('bestAvailable', 'instagram, email')).toEqual([
			'metaPageApi',
			'convergentSmtpApi',
			'convergentStoreApi',
		]);
		// Each says which channel it is for (the editor labels the dropdown with it).
		expect((description.credentials ?? []).map((c) => c.displayName ?? null).slice(0, 5)).toEqual([
			'WhatsApp Credential',
			'Messenger / Instagram Credential',
			'SMS (Twilio) Credential',
			'Push (Firebase) Credential',
			'Email (SMTP) Credential',
		]);
		// An expression is known only when the node runs: every channel's credential stays.
		expect(shown('bestAvailable', '={{ $json.preferredChannel }}, email')).toHaveLength(6);
		// A word inside another is not the channel ("smsx" is not sms).
		expect(shown('bestAvailable', 'smsx, email')).not.toContain('twilioMessagingApi');
	});
});

describe('no parameter is taken into the credential dialog', () => {
	// The editor's rule (editor-ui nodeTypesUtils getMainAuthField): a parameter that credentials
	// `show` on, with every one of its values covered, is the node's "authentication": it leaves the
	// panel for a dropdown at the top of the credential dialog. Touchpoint's Channel and the
	// trigger's Provider were taken that way; a marketer could not find them.
	const load = (node: string) =>
		new (Object.values(
			// eslint-disable-next-line @typescript-eslint/no-require-imports
			require(path.join(PROJECT_ROOT, `dist/nodes/${node}/${node}.node.js`)),
		)[0] as new () => { description: INodeTypeDescription })().description;
	it.each([
		'Touchpoint',
		'TouchpointTrigger',
		'ConsentGuard',
		'TouchpointInbox',
		'AiContent',
		'ConversationalForm',
		'Journey',
		'Segment',
	])('%s', (node) => {
		const description = load(node);
		const shownOn = new Map<string, Set<string>>();
		for (const c of description.credentials ?? []) {
			for (const [name, values] of Object.entries(c.displayOptions?.show ?? {})) {
				const set = shownOn.get(name) ?? new Set<string>();
				for (const v of values ?? []) set.add(String(v));
				shownOn.set(name, set);
			}
		}
		const taken = description.properties.filter(
			(prop) =>
				shownOn.has(prop.name) &&
				(prop.options ?? []).every((o) =>
					shownOn.get(prop.name)!.has(String((o as { value?: unknown }).value)),
				),
		);
		expect(taken.map((prop) => prop.displayName)).toEqual([]);
	});
});

describe("panels read like n8n's own", () => {
	// eslint-disable-next-line @typescript-eslint/no-require-imports
	const load = (node: string) =>
		new (Object.values(
			require(path.join(PROJECT_ROOT, `dist/nodes/${node}/${node}.node.js`)),
		)[0] as new () => { description: INodeTypeDescription })().description;
	const valuesOf = (p: INodeProperties | undefined) =>
		(p?.options?.[0] as { values?: INodeProperties[] } | undefined)?.values ?? [];

	it('every field-path parameter takes a dragged input field as its path (requiresDataPath), not as {{ $json.x }}', () => {
		const missing: string[] = [];
		const walk = (node: string, props: INodeProperties[]) => {
			for (const p of props) {
				if (
					p.type === 'string' &&
					(/Field$/.test(p.name) || p.name === 'field') &&
					p.requiresDataPath !== 'single'
				)
					missing.push(`${node}.${p.name}`);
				for (const o of (p.options ?? []) as Array<
					INodeProperties & { values?: INodeProperties[] }
				>) {
					if (o.values) walk(node, o.values);
					else if ((o as INodeProperties).type) walk(node, [o as INodeProperties]);
				}
			}
		};
		for (const file of pkg.n8n.nodes as string[]) {
			const name = path.basename(file, '.node.js');
			walk(name, load(name).properties);
		}
		expect(missing).toEqual([]);
	});

	it('Frequency Caps fields in reading order: 2 messages per 7 days on all channels for marketing', () => {
		const caps = load('ConsentGuard').properties.find((p) => p.name === 'frequencyCaps');
		expect(valuesOf(caps).map((v) => v.displayName)).toEqual([
			'Max Messages',
			'Per',
			'Unit',
			'Channel',
			'Purpose',
		]);
	});

	it('Quiet Hours shows the hours that apply by default instead of "No properties"', () => {
		const qh = load('Touchpoint').properties.find((p) => p.name === 'quietHours');
		expect(qh?.default).toEqual({ start: '08:00', end: '21:00' });
	});

	it('a Segment rule starts with its name; Value and Upper Value show only for the operators that take them', () => {
		const segments = load('Segment').properties.find((p) => p.name === 'segments');
		const segment = valuesOf(segments);
		expect(segment.map((v) => v.name)).toEqual(['name', 'combine', 'conditions']);
		const condition = valuesOf(segment.find((v) => v.name === 'conditions'));
		const description = load('Segment');
		const shown = (operator: string) =>
			condition
				.filter((c) =>
					NodeHelpers.displayParameter({ operator }, c, { parameters: {} } as never, description),
				)
				.map((c) => c.displayName);
		expect(shown('equals')).toEqual(['Field', 'Operator', 'Value']);
		expect(shown('between')).toEqual(['Field', 'Operator', 'Value', 'Upper Value']);
		expect(shown('exists')).toEqual(['Field', 'Operator']);
	});
});
