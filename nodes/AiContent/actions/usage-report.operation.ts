import type { IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import { getStore } from '../../shared/n8n/store';

/** Report AI Usage: what the models cost, by campaign, model and operation, from the store. */
export async function usageReport(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const days = Number(this.getNodeParameter('usageSinceDays', 0, 30));
	const inputPrice = Number(this.getNodeParameter('inputPrice', 0, 0));
	const outputPrice = Number(this.getNodeParameter('outputPrice', 0, 0));
	const since = Date.now() - Math.max(0, days) * 86_400_000;
	const totals = await (await getStore(this)).aiUsageReport(since);
	const priced = inputPrice > 0 || outputPrice > 0;
	const paired = this.getInputData().map((_, i) => ({ item: i }));
	return [
		totals.map((t) => ({
			json: {
				...t,
				campaign: t.campaign || null,
				firstAt: new Date(t.firstAt).toISOString(),
				lastAt: new Date(t.lastAt).toISOString(),
				...(priced
					? {
							estimatedCost:
								Math.round(t.inputTokens * inputPrice + t.outputTokens * outputPrice) / 1e6,
						}
					: {}),
			} as unknown as IDataObject,
			pairedItem: paired,
		})),
	];
}
