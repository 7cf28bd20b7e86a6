/**
 * What every stage of a send run reads: the settings, the store, the credentials, the limiter and
 * the run's shared state (which keys went first, whether the run stopped). Built once per execution.
 */
import type { IExecuteFunctions, INode, INodeExecutionData } from 'n8n-workflow';

import { localLimiter, sharedLimiter, type RateLimiter } from '../../shared/channels/limiter';
import { getStore } from '../../shared/n8n/store';
import { readPolicySettings } from '../../shared/n8n/policy-settings';
import type { Store } from '../../shared/store/types';
import type { MediaIds } from '../transport';
import { CredentialBook } from './credentials';
import { planLinks } from './links';
import type { ItemFiles, MessageContext } from './message';
import {
	readMessageParams,
	readRunSettings,
	type MessageParams,
	type RunSettings,
} from './parameters';

/** Warned once per process: queue mode on the embedded store paces per worker. */
let warnedPerProcess = false;

export interface SendRun extends RunSettings {
	fn: IExecuteFunctions;
	node: INode;
	items: INodeExecutionData[];
	p: MessageParams;
	policy: ReturnType<typeof readPolicySettings> & {
		transactionalExempt: boolean;
		allowUnlinkedAddress: boolean;
	};
	store: Store;
	creds: CredentialBook;
	limiter: RateLimiter;
	message: MessageContext;
	files: ItemFiles;
	mediaIds: MediaIds;
	/** The first item of each message (by idempotency key) in the whole run, and whether it went. */
	firstOfKey: Map<string, { i: number; sent: Promise<boolean> }>;
	/** Set once the run stops: nothing more starts. The first error is the node's. */
	stop: { stopped: boolean; firstError?: unknown };
}

export async function startRun(fn: IExecuteFunctions): Promise<SendRun> {
	const settings = readRunSettings(fn);
	const p = readMessageParams(fn);
	const { options } = settings;
	const policy = {
		...readPolicySettings(fn),
		transactionalExempt: options.transactionalExempt !== false,
		allowUnlinkedAddress: options.allowUnlinkedAddress === true,
	};
	const store = await getStore(fn);
	const items = fn.getInputData();
	const links = await planLinks(fn, store, p, settings.channelParam, items.length);
	// One rate limit per credential and sender for all workers when the store is shared
	// (PostgreSQL); per process on the embedded store, which queue mode should not use.
	const limiter = store.dialect === 'postgres' ? sharedLimiter(store) : localLimiter;
	if (!limiter.shared && process.env.EXECUTIONS_MODE === 'queue' && !warnedPerProcess) {
		warnedPerProcess = true;
		fn.logger.warn(
			"Touchpoint: n8n runs in queue mode but the Convergent Store is the embedded SQLite file, so each worker paces its sends on its own and several workers together can exceed a provider's rate limit. Point the Convergent Store credential at PostgreSQL to share one limit.",
		);
	}
	const files: ItemFiles = { attachments: new Map(), media: new Map() };
	const node = fn.getNode();
	return {
		...settings,
		fn,
		node,
		items,
		p,
		policy,
		store,
		creds: new CredentialBook(fn, options, settings.dryRun),
		limiter,
		message: { node, p, options, purpose: settings.purpose, links, files },
		files,
		mediaIds: new Map(),
		firstOfKey: new Map(),
		stop: { stopped: false },
	};
}
