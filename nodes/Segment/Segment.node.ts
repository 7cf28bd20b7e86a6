import type {
	IExecuteFunctions,
	INodeExecutionData,
	INodeType,
	INodeTypeDescription,
} from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';

import { optionSubtitle } from '../shared/n8n/display-options';
import { convergentStoreApiTest } from '../shared/n8n/store';
import * as ab from './actions/ab-split.operation';
import * as engagement from './actions/engagement.operation';
import * as nearest from './actions/nearest-store.operation';
import { configuredOutputs } from './actions/outputs';
import * as rfm from './actions/rfm.operation';
import { router } from './actions/router';
import * as rules from './actions/rules.operation';

const OPERATIONS = [
	{ name: 'A/B Split', value: 'abSplit', action: 'Split contacts into A/B test arms' },
	{ name: 'Engagement Score', value: 'engagementScore', action: 'Score engagement with decay' },
	{ name: 'Nearest Store', value: 'nearestPlace', action: 'Find the store nearest to a location' },
	{ name: 'RFM', value: 'rfm', action: 'Score and route by RFM segment' },
	{ name: 'Route by Rules', value: 'routeByRules', action: 'Route contacts by segment rules' },
];

export class Segment implements INodeType {
	// The rule only sees a literal subtitle; this one is built from the operation list (display names).
	// eslint-disable-next-line n8n-nodes-base/node-class-description-missing-subtitle
	description: INodeTypeDescription = {
		// Not "Segment": n8n ships a Segment node (segment.com), listed first in the nodes panel.
		displayName: 'Audience Segment',
		name: 'segment',
		icon: { light: 'file:segment.svg', dark: 'file:segment.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: optionSubtitle(OPERATIONS),
		description:
			'Route contacts by rules, RFM segments, engagement score, A/B test arm or the store nearest to them',
		defaults: { name: 'Audience Segment' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: `={{(${configuredOutputs})($parameter)}}`,
		credentials: [
			{ name: 'convergentStoreApi', required: false, testedBy: 'convergentStoreApiTest' },
		],
		properties: [
			{
				displayName: 'Operation',
				name: 'operation',
				type: 'options',
				noDataExpression: true,
				options: OPERATIONS,
				default: 'routeByRules',
			},
			...rules.description,
			...rfm.description,
			...engagement.description,
			...ab.description,
			...nearest.description,
		],
	};

	methods = { credentialTest: { convergentStoreApiTest } };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return await router.call(this);
	}
}
