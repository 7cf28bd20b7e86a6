import type { IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import { getStore } from '../../shared/n8n/store';
import { classify } from './classify.operation';
import { generateCopy } from './generate-copy.operation';
import { modelRun, type Meter } from './model';
import { reply } from './reply.operation';
import { usageReport } from './usage-report.operation';

export async function router(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const operation = this.getNodeParameter('operation', 0) as string;
	if (operation === 'usageReport') return await usageReport.call(this);
	// What the run cost, kept in the store by campaign (a sample run costs nothing and is not kept).
	const meter: Meter = {
		usage: { inputTokens: 0, outputTokens: 0, calls: 0 },
		cacheHits: 0,
		model: '',
		sample: false,
	};
	try {
		return await run.call(this, meter);
	} finally {
		if (!meter.sample && (meter.usage.calls > 0 || meter.cacheHits > 0)) {
			const options = this.getNodeParameter('options', 0, {}) as IDataObject;
			await (
				await getStore(this)
			).recordAiUsage([
				{
					at: Date.now(),
					workflowId: String(this.getWorkflow().id ?? ''),
					executionId: String(this.getExecutionId() ?? ''),
					node: this.getNode().name,
					operation,
					model: meter.model,
					campaign: String(options.campaign ?? '').trim(),
					items: this.getInputData().length,
					calls: meter.usage.calls,
					inputTokens: meter.usage.inputTokens,
					outputTokens: meter.usage.outputTokens,
					cacheHits: meter.cacheHits,
				},
			]);
		}
	}
}

async function run(this: IExecuteFunctions, meter: Meter): Promise<INodeExecutionData[][]> {
	const m = await modelRun.call(this, meter);
	if (m.operation === 'generateCopy') return await generateCopy.call(this, m);
	if (m.operation === 'classify') return await classify.call(this, m);
	return await reply.call(this, m);
}
