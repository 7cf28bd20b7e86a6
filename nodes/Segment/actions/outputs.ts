import type { IDataObject } from 'n8n-workflow';

/** Outputs as n8n's Switch v3 declares them: one per segment (rules) or per RFM segment. */
export const configuredOutputs = (parameters: IDataObject) => {
	if (parameters.operation === 'rfm') {
		const all = [
			'Champions',
			'Loyal',
			'Potential loyalist',
			'New',
			'Promising',
			'Need attention',
			'About to sleep',
			'Cannot lose them',
			'At risk',
			'Hibernating',
			'Lost',
		];
		if (parameters.rfmOutputs !== 'chosen')
			return all.map((name) => ({ type: 'main', displayName: name }));
		const chosen = Array.isArray(parameters.rfmSegments)
			? (parameters.rfmSegments as string[])
			: [];
		return [...all.filter((name) => chosen.includes(name)), 'Other Segments'].map((name) => ({
			type: 'main',
			displayName: name,
		}));
	}
	if (parameters.operation === 'engagementScore') return [{ type: 'main' }];
	if (parameters.operation === 'nearestPlace')
		return [
			{ type: 'main', displayName: 'Near a Store' },
			{ type: 'main', displayName: 'Not Near' },
		];
	if (parameters.operation === 'abSplit') {
		const arms = ((parameters.arms as IDataObject)?.arm as IDataObject[] | undefined) ?? [
			{ name: 'A' },
			{ name: 'B' },
		];
		return [
			...arms.map((a, i) => ({ type: 'main', displayName: String(a.name || `Arm ${i + 1}`) })),
			{ type: 'main', displayName: 'Rest' },
		];
	}
	const segments =
		((parameters.segments as IDataObject)?.values as IDataObject[] | undefined) ?? [];
	const outputs = segments.map((s, i) => ({
		type: 'main',
		displayName: String(s.name || `Segment ${i + 1}`),
	}));
	outputs.push({ type: 'main', displayName: 'No Segment' });
	return outputs;
};
