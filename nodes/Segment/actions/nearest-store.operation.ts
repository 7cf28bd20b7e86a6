/** Audience Segment, Nearest Store (shared/insights/geo.ts). */
import type {
	IDataObject,
	IExecuteFunctions,
	INodeExecutionData,
	INodeProperties,
} from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { nearestPlace, validCoordinates, visitKey, type Place } from '../../shared/insights/geo';
import { compileFieldPath } from '../../shared/field-path';
import { toNumber, toTime } from '../../shared/segment/rules';

export const description: INodeProperties[] = [
	{
		displayName: 'Stores',
		name: 'places',
		type: 'fixedCollection',
		typeOptions: { multipleValues: true },
		placeholder: 'Add Store',
		default: {},
		description: 'Your stores and how close counts as near',
		displayOptions: { show: { operation: ['nearestPlace'] } },
		options: [
			{
				displayName: 'Store',
				name: 'place',
				values: [
					{ displayName: 'Address', name: 'address', type: 'string', default: '' },
					{
						displayName: 'Latitude',
						name: 'latitude',
						type: 'number',
						default: 0,
						typeOptions: { numberPrecision: 6 },
					},
					{
						displayName: 'Longitude',
						name: 'longitude',
						type: 'number',
						default: 0,
						typeOptions: { numberPrecision: 6 },
					},
					{ displayName: 'Name', name: 'name', type: 'string', default: '' },
					{
						displayName: 'Radius (Meters)',
						name: 'radiusMeters',
						type: 'number',
						default: 200,
						typeOptions: { minValue: 1 },
					},
				],
			},
		],
	},
	{
		displayName: 'Latitude Field',
		name: 'latitudeField',
		type: 'string',
		requiresDataPath: 'single',
		default: 'location.latitude',
		description: "Where the person's latitude is (a Touchpoint Trigger location event has it here)",
		displayOptions: { show: { operation: ['nearestPlace'] } },
	},
	{
		displayName: 'Longitude Field',
		name: 'longitudeField',
		type: 'string',
		requiresDataPath: 'single',
		default: 'location.longitude',
		displayOptions: { show: { operation: ['nearestPlace'] } },
	},
	{
		displayName: 'Contact ID Field',
		name: 'placeContactIdField',
		type: 'string',
		requiresDataPath: 'single',
		default: 'contactId',
		description: 'Whose visit it is (for the visit key)',
		displayOptions: { show: { operation: ['nearestPlace'] } },
	},
	{
		displayName: 'Event Time Field',
		name: 'placeTimeField',
		type: 'string',
		requiresDataPath: 'single',
		default: 'timestamp',
		description: 'When the person was there (ISO date or epoch; now when missing)',
		displayOptions: { show: { operation: ['nearestPlace'] } },
	},
	{
		displayName: 'Visit Length (Hours)',
		name: 'visitHours',
		type: 'number',
		default: 4,
		typeOptions: { minValue: 0.25 },
		description:
			'Locations of one person at one store within this time are one visit: nearestStore.visitKey is the same, so Touchpoint (Idempotency Key Field) sends once per visit',
		displayOptions: { show: { operation: ['nearestPlace'] } },
	},
];

/** Nearest Store: the closest store whose radius holds the person's location, with a key per visit. */
export function nearestStore(
	this: IExecuteFunctions,
	items: INodeExecutionData[],
): INodeExecutionData[][] {
	const raw =
		((this.getNodeParameter('places', 0, {}) as IDataObject).place as IDataObject[] | undefined) ??
		[];
	const places: Place[] = raw.map((p, k) => ({
		name: String(p.name ?? '').trim() || `Store ${k + 1}`,
		latitude: Number(p.latitude),
		longitude: Number(p.longitude),
		radiusMeters: Number(p.radiusMeters ?? 200),
		address: String(p.address ?? '') || undefined,
	}));
	if (!places.length)
		throw new NodeOperationError(this.getNode(), 'No stores', {
			description: 'Add your stores with their coordinates under Stores.',
		});
	const bad = places.find(
		(p) => !validCoordinates(p.latitude, p.longitude) || !(p.radiusMeters > 0),
	);
	if (bad)
		throw new NodeOperationError(
			this.getNode(),
			`Store "${bad.name}" has latitude ${bad.latitude}, longitude ${bad.longitude} and radius ${bad.radiusMeters} m`,
			{ description: 'Latitude within ±90, longitude within ±180, radius above 0.' },
		);
	const latField = String(this.getNodeParameter('latitudeField', 0, 'location.latitude'));
	const lonField = String(this.getNodeParameter('longitudeField', 0, 'location.longitude'));
	const latOf = compileFieldPath(latField);
	const lonOf = compileFieldPath(lonField);
	const idOf = compileFieldPath(
		String(this.getNodeParameter('placeContactIdField', 0, 'contactId')),
	);
	const timeOf = compileFieldPath(String(this.getNodeParameter('placeTimeField', 0, 'timestamp')));
	const visitHours = Number(this.getNodeParameter('visitHours', 0, 4));
	const now = Date.now();
	const outputs: INodeExecutionData[][] = [[], []];
	items.forEach((item, i) => {
		const latitude = toNumber(latOf(item.json));
		const longitude = toNumber(lonOf(item.json));
		if (!validCoordinates(latitude, longitude)) {
			const error = new NodeOperationError(
				this.getNode(),
				`No location at "${latField}" / "${lonField}" (found ${JSON.stringify(latOf(item.json)) ?? 'nothing'}, ${JSON.stringify(lonOf(item.json)) ?? 'nothing'})`,
				{
					itemIndex: i,
					description:
						'Feed the node location events, or point Latitude Field and Longitude Field at the coordinates.',
				},
			);
			if (!this.continueOnFail()) throw error;
			outputs[1].push({ json: { ...item.json, error: error.message }, pairedItem: { item: i } });
			return;
		}
		const hit = nearestPlace(places, { latitude: latitude!, longitude: longitude! })!;
		const id = idOf(item.json);
		const at = toTime(timeOf(item.json)) ?? now;
		const nearest = {
			name: hit.place.name,
			...(hit.place.address ? { address: hit.place.address } : {}),
			latitude: hit.place.latitude,
			longitude: hit.place.longitude,
			distanceMeters: Math.round(hit.distanceMeters),
			near: hit.near,
			...(hit.near && id !== undefined && id !== null && id !== ''
				? { visitKey: visitKey(String(id), hit.place.name, at, visitHours) }
				: {}),
		};
		outputs[hit.near ? 0 : 1].push({
			json: { ...item.json, nearestStore: nearest },
			pairedItem: { item: i },
		});
	});
	return outputs;
}
