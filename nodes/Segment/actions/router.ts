import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import { runOperation, type Operation, type Operations } from '../../shared/n8n/operation';
import * as ab from './ab-split.operation';
import * as engagement from './engagement.operation';
import * as nearest from './nearest-store.operation';
import { configuredOutputs } from './outputs';
import * as rfm from './rfm.operation';
import * as rules from './rules.operation';

export async function router(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const operation = this.getNodeParameter('operation', 0) as string;
	return await runOperation(this, OPERATIONS, operation);
}

/** The outputs as the panel shows them (n8n's Switch v3 way), as an agent reads them. */
const outputNames = (fn: IExecuteFunctions) =>
	configuredOutputs(fn.getNode().parameters).map((o) =>
		'displayName' in o ? o.displayName : 'Engagement Score',
	);

/**
 * An error must not reach n8n's continue path, which would copy every item to output 0, the first
 * segment: errors go to No Segment (RFM: its last output, as per-item errors do; Engagement
 * Score: its one output).
 */
function segmentation(count: (fn: IExecuteFunctions) => number, run: Operation['run']): Operation {
	return { outputs: outputNames, count, run };
}

const OPERATIONS: Operations = {
	routeByRules: segmentation(
		(fn) => rules.segmentCount(fn) + 1,
		async (fn, items) => rules.routeByRules.call(fn, items),
	),
	rfm: segmentation(
		(fn) => rfm.rfmOutputNames(fn).length,
		async (fn, items) => rfm.rfm.call(fn, items),
	),
	engagementScore: segmentation(
		() => 1,
		async (fn, items) => await engagement.engagement.call(fn, items),
	),
	abSplit: segmentation(
		(fn) => ab.abArms(fn).length + 1,
		async (fn, items) => await ab.abSplit.call(fn, items),
	),
	nearestPlace: segmentation(
		() => 2,
		async (fn, items) => nearest.nearestStore.call(fn, items),
	),
};
