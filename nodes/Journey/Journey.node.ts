import type {
	IDataObject,
	IExecuteFunctions,
	INodeExecutionData,
	INodeType,
	INodeTypeDescription,
} from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';

import { DEFAULT_STAGES } from '../shared/journey/journey';
import { optionSubtitle } from '../shared/n8n/display-options';
import { convergentStoreApiTest } from '../shared/n8n/store';
import * as contact from './actions/contact.operation';
import { OPERATIONS } from './actions/operations';
import * as reports from './actions/reports.operation';
import { router } from './actions/router';

const configuredOutputs = (parameters: IDataObject) => {
	if (parameters.operation !== 'routeByStage') return [{ type: 'main' }];
	const stages = String(
		parameters.stages ?? 'Awareness, Interest, Consideration, Conversion, Loyalty, Advocacy',
	)
		.split(',')
		.map((s) => s.trim())
		.filter((s) => s !== '');
	return [
		...stages.map((s) => ({ type: 'main', displayName: s })),
		{ type: 'main', displayName: 'Not in Journey' },
	];
};

export class Journey implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Journey',
		name: 'journey',
		icon: { light: 'file:journey.svg', dark: 'file:journey.dark.svg' },
		group: ['transform'],
		version: 1,
		// Pick A/B Winner is about a campaign's test, so its subtitle names the campaign.
		subtitle: optionSubtitle(
			OPERATIONS,
			'operation',
			' + ": " + ($parameter["operation"] === "pickWinner" ? $parameter["abCampaign"] : $parameter["journeyName"])',
		),
		description:
			"Track each person's journey stage, report campaigns and the funnel, and pick the A/B winner",
		defaults: { name: 'Journey' },
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
				default: 'trackEvent',
			},
			{
				displayName: 'Journey Name',
				name: 'journeyName',
				type: 'string',
				default: 'Customer Journey',
				required: true,
				description:
					'Several journeys can live in one store, by name. For a report or an A/B test: the journey whose goal counts as a conversion.',
			},
			{
				displayName: 'Stages',
				name: 'stages',
				type: 'string',
				default: DEFAULT_STAGES.join(', '),
				description: 'Stage names in order, comma-separated',
				// A campaign report and an A/B test count sends, not stages.
				displayOptions: { hide: { operation: ['campaignReport', 'pickWinner'] } },
			},
			{
				displayName: 'Moves',
				name: 'moves',
				type: 'fixedCollection',
				typeOptions: { multipleValues: true },
				placeholder: 'Add Move',
				default: {
					move: [
						{ event: 'clicked', stage: 'Interest' },
						{ event: 'purchased', stage: 'Conversion' },
					],
				},
				description: 'Which event moves a contact to which stage',
				displayOptions: { show: { operation: ['trackEvent'] } },
				options: [
					{
						displayName: 'Move',
						name: 'move',
						values: [
							{
								displayName: 'Event',
								name: 'event',
								type: 'string',
								default: '',
								placeholder: 'clicked',
							},
							{
								displayName: 'To Stage',
								name: 'stage',
								type: 'string',
								default: '',
								placeholder: 'Interest',
							},
						],
					},
				],
			},
			...contact.description,
			...reports.description,
		],
	};

	methods = { credentialTest: { convergentStoreApiTest } };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return await router.call(this);
	}
}
