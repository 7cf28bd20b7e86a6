/**
 * Journey's per-contact operations: Track Event, Route by Stage, Get Contact Journey. Each item is
 * one person (a merged id or one they were known by is theirs); one bad item is that item's error.
 */
import type { IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import type { Store } from '../../shared/store/types';
import { getContactJourney, personItems, routeByStage, trackEvent } from './person';
import { conversationContactProperty } from '../../shared/n8n/tool-scope';

/** The operations about one person (as a tool: the person of the conversation only). */
export const PERSON_OPERATIONS = ['trackEvent', 'routeByStage', 'getContactJourney'];

export const description: INodeProperties[] = [
	{
		displayName: 'Allow Moving Backwards',
		name: 'allowBackwards',
		type: 'boolean',
		default: false,
		description: 'Whether an event may move a contact to an earlier stage',
		displayOptions: { show: { operation: ['trackEvent'] } },
	},
	{
		displayName: 'Goal Stage',
		name: 'goalStage',
		type: 'string',
		default: 'Conversion',
		description: 'Reaching it (or a later stage) sets goalReached, once per contact',
		displayOptions: { show: { operation: ['trackEvent'] } },
	},
	{
		displayName: 'Exit Events',
		name: 'exitEvents',
		type: 'string',
		default: 'unsubscribed',
		description: 'Comma-separated events that take a contact out of the journey',
		displayOptions: { show: { operation: ['trackEvent'] } },
	},
	{
		displayName: 'Max Days in a Stage',
		name: 'maxDaysInStage',
		type: 'number',
		default: 0,
		description: 'Contacts longer than this in a stage are marked overdue (0 = no limit)',
		displayOptions: { show: { operation: ['trackEvent'] } },
	},
	{
		displayName: 'Contact ID Field',
		name: 'contactIdField',
		type: 'string',
		requiresDataPath: 'single',
		default: 'contact.id',
		displayOptions: {
			show: { operation: ['trackEvent', 'routeByStage', 'getContactJourney'] },
			hide: { '@tool': [true] },
		},
	},
	{
		displayName: 'Event Field',
		name: 'eventField',
		type: 'string',
		requiresDataPath: 'single',
		default: 'event.type',
		displayOptions: { show: { operation: ['trackEvent'] }, hide: { '@tool': [true] } },
	},
	// The tool variant an AI Agent uses: the agent names the contact and the event.
	{
		displayName: 'Contact ID',
		name: 'toolContactId',
		type: 'string',
		default:
			"={{ $fromAI('contactId', 'The contact ID of the person (for example crm-77)', 'string') }}",
		description: 'Filled by the agent',
		displayOptions: { show: { '@tool': [true], operation: PERSON_OPERATIONS } },
	},
	{
		...conversationContactProperty,
		displayOptions: { show: { '@tool': [true], operation: PERSON_OPERATIONS } },
	},
	{
		displayName: 'Event',
		name: 'toolEvent',
		type: 'string',
		default:
			"={{ $fromAI('event', 'What the person did, one of the events this journey knows (see its Moves), for example booked', 'string') }}",
		description: 'Filled by the agent',
		displayOptions: { show: { '@tool': [true], operation: ['trackEvent'] } },
	},
	{
		displayName: 'Event ID Field',
		name: 'eventIdField',
		type: 'string',
		requiresDataPath: 'single',
		default: 'event.id',
		description:
			'A re-delivered event with the same ID is recorded once. Without one, contact + event + time is used.',
		displayOptions: { show: { operation: ['trackEvent'] } },
	},
	{
		displayName: 'Event Time Field',
		name: 'eventTimeField',
		type: 'string',
		requiresDataPath: 'single',
		default: 'event.at',
		description: 'ISO date or epoch; now when missing',
		displayOptions: { show: { operation: ['trackEvent'] } },
	},
];

export async function execute(
	this: IExecuteFunctions,
	operation: string,
	store: Store,
	name: string,
	stages: string[],
	items: INodeExecutionData[],
): Promise<INodeExecutionData[][]> {
	const people = await personItems(this, store, items);
	if (operation === 'trackEvent') return await trackEvent(this, people, store, name, stages, items);
	if (operation === 'routeByStage') return await routeByStage(people, store, name, stages, items);
	if (operation === 'getContactJourney') return await getContactJourney(people, store, name, items);
	throw new NodeOperationError(this.getNode(), `The operation "${operation}" is not known`);
}
