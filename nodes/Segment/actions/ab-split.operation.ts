/** Audience Segment, A/B Split: each person to the arm their hash falls in (shared/insights/ab.ts). */
import type {
	IDataObject,
	IExecuteFunctions,
	INodeExecutionData,
	INodeProperties,
} from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { armProblems, assignArm, type Arm } from '../../shared/insights/ab';
import { compileFieldPath } from '../../shared/field-path';
import { getStore } from '../../shared/n8n/store';
import { personIdsOf } from '../../shared/people';

export const description: INodeProperties[] = [
	{
		displayName: 'Experiment',
		name: 'experiment',
		type: 'string',
		default: '',
		required: true,
		placeholder: 'spring-subject-test',
		description:
			"The test's name: the same person always lands in the same arm of an experiment. Use the campaign name Touchpoint and Pick A/B Winner use.",
		displayOptions: { show: { operation: ['abSplit'] } },
	},
	{
		displayName: 'Arms',
		name: 'arms',
		type: 'fixedCollection',
		typeOptions: { multipleValues: true },
		placeholder: 'Add Arm',
		default: {
			arm: [
				{ name: 'A', percent: 10 },
				{ name: 'B', percent: 10 },
			],
		},
		description:
			"Each arm's share of people; the rest (up to 100 %) leaves on Rest, e.g. to get the winner later",
		displayOptions: { show: { operation: ['abSplit'] } },
		options: [
			{
				displayName: 'Arm',
				name: 'arm',
				values: [
					{ displayName: 'Name', name: 'name', type: 'string', default: 'A' },
					{
						displayName: 'Percent',
						name: 'percent',
						type: 'number',
						default: 10,
						typeOptions: { minValue: 0.01, maxValue: 100, numberPrecision: 2 },
					},
				],
			},
		],
	},
	{
		displayName: 'Contact ID Field',
		name: 'abContactIdField',
		type: 'string',
		requiresDataPath: 'single',
		default: 'contact.id',
		description: 'The person the arm is drawn for',
		displayOptions: { show: { operation: ['abSplit'] } },
	},
];

export function abArms(ctx: IExecuteFunctions): Arm[] {
	const raw =
		((ctx.getNodeParameter('arms', 0, {}) as IDataObject).arm as IDataObject[] | undefined) ?? [];
	return raw.map((a, i) => ({
		name: String(a.name ?? '').trim() || `Arm ${i + 1}`,
		percent: Number(a.percent),
	}));
}

/** A/B Split: each person to the arm their hash falls in (the same every run), the rest to Rest. */
export async function abSplit(
	this: IExecuteFunctions,
	items: INodeExecutionData[],
): Promise<INodeExecutionData[][]> {
	const arms = abArms(this);
	const problems = armProblems(arms);
	if (problems.length)
		throw new NodeOperationError(this.getNode(), `Arms: ${problems.join('; ')}`, {
			description: 'Give each arm a name and a share; together at most 100 %.',
		});
	const experiment = String(this.getNodeParameter('experiment', 0, '')).trim();
	if (!experiment)
		throw new NodeOperationError(this.getNode(), 'Experiment is empty', {
			description: 'Name the test (e.g. the campaign): the name decides who lands in which arm.',
		});
	const field = String(this.getNodeParameter('abContactIdField', 0, 'contact.id'));
	const idOf = compileFieldPath(field);
	const raw = items.map((item) => idOf(item.json));
	// The person, so a merged id or an address-derived id lands in the same arm as the person.
	const known = raw
		.filter(
			(v): v is string | number => (typeof v === 'string' && v !== '') || typeof v === 'number',
		)
		.map(String);
	const personOf = known.length
		? await personIdsOf(await getStore(this), known)
		: new Map<string, string>();
	const outputs: INodeExecutionData[][] = [...arms.map(() => []), []];
	items.forEach((item, i) => {
		const id = raw[i];
		if ((typeof id !== 'string' || id === '') && typeof id !== 'number') {
			const error = new NodeOperationError(this.getNode(), `No contact ID at "${field}"`, {
				itemIndex: i,
				description: 'A/B Split draws the arm from the contact ID: set Contact ID Field.',
			});
			if (!this.continueOnFail()) throw error;
			outputs[arms.length].push({
				json: { ...item.json, error: error.message },
				pairedItem: { item: i },
			});
			return;
		}
		const person = personOf.get(String(id)) ?? String(id);
		const arm = assignArm(experiment, person, arms);
		const k = arm === undefined ? arms.length : arms.findIndex((a) => a.name === arm);
		outputs[k].push({
			json: { ...item.json, abTest: { experiment, arm: arm ?? null } },
			pairedItem: { item: i },
		});
	});
	return outputs;
}
