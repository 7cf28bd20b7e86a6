import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import { adopt, failClosed } from '../../shared/n8n/fail-closed';
import { toolAware } from '../../shared/n8n/tool-mode';
import * as ab from './ab-split.operation';
import * as engagement from './engagement.operation';
import * as nearest from './nearest-store.operation';
import { configuredOutputs } from './outputs';
import * as rfm from './rfm.operation';
import * as rules from './rules.operation';

export async function router(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const items = this.getInputData();
	const operation = this.getNodeParameter('operation', 0) as string;
	// An error (a bad rule, the store) must not reach n8n's continue path, which would copy every
	// item to output 0, the first segment: errors go to No Segment (RFM: its last output, as
	// per-item errors do; Engagement Score: its one output).
	const count =
		operation === 'rfm'
			? rfm.rfmOutputNames(this).length
			: operation === 'engagementScore'
				? 1
				: operation === 'abSplit'
					? ab.abArms(this).length + 1
					: operation === 'nearestPlace'
						? 2
						: rules.segmentCount(this) + 1;
	const outputs: INodeExecutionData[][] = Array.from({ length: count }, () => []);
	const result = await failClosed(this, outputs, count - 1, async () => {
		const result =
			operation === 'rfm'
				? rfm.rfm.call(this, items)
				: operation === 'engagementScore'
					? await engagement.engagement.call(this, items)
					: operation === 'abSplit'
						? await ab.abSplit.call(this, items)
						: operation === 'nearestPlace'
							? nearest.nearestStore.call(this, items)
							: rules.routeByRules.call(this, items);
		adopt(outputs, result);
	});
	return toolAware(
		this,
		result,
		configuredOutputs(this.getNode().parameters).map((o) =>
			'displayName' in o ? o.displayName : 'Engagement Score',
		),
	);
}
