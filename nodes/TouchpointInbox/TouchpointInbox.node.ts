import type {
	IExecuteFunctions,
	INodeExecutionData,
	INodeType,
	INodeTypeDescription,
} from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';

import { INBOX_NODE } from '../shared/inbound/inbox';
import { twilioWebhookApiTest } from '../shared/n8n/credentials';
import { credentialFor, optionSubtitle } from '../shared/n8n/display-options';
import { convergentStoreApiTest } from '../shared/n8n/store';
import * as click from './actions/click.operation';
import * as inApp from './actions/in-app.operation';
import * as inbound from './actions/inbound.operation';
import * as inbox from './actions/inbox.operation';
import { router } from './actions/router';

const OPERATIONS = [
	{
		name: 'List In-App Messages',
		value: 'inAppList',
		description: 'The unexpired in-app messages of the person whose inbox code the app sent',
		action: 'List the in-app messages of a person',
	},
	{
		name: 'Mark Done',
		value: 'markDone',
		description: 'Mark the inbound event of each item as handled',
		action: 'Mark inbound events as handled',
	},
	{
		name: 'Mark In-App Messages Read',
		value: 'inAppRead',
		description: 'Mark messages of the person whose inbox code the app sent as read',
		action: 'Mark in app messages read',
	},
	{
		name: 'Record Link Click',
		value: 'recordClick',
		description:
			"Verify a tracked link's token (Touchpoint Click Tracking), record the click on the send it came with, and give the URL to redirect to",
		action: 'Record a click on a tracked link',
	},
	{
		name: 'Record Inbound Message',
		value: 'recordInbound',
		description:
			"Record messages that reached n8n another way (or sample messages) as the Touchpoint Trigger does: the sender's contact, the service window, STOP",
		action: 'Record inbound messages',
	},
	{
		name: 'Replay',
		value: 'replay',
		description: 'Emit again the events no run marked done in time, with their original IDs',
		action: 'Replay events no run finished',
	},
];

export class TouchpointInbox implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Touchpoint Inbox',
		name: INBOX_NODE,
		icon: { light: 'file:touchpointInbox.svg', dark: 'file:touchpointInbox.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: optionSubtitle(OPERATIONS),
		description:
			"Record link clicks and messages from elsewhere, serve each person's in-app inbox, and replay messages a run never finished",
		defaults: { name: 'Touchpoint Inbox' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: `={{ $parameter.operation === "replay" ? [{ "type": "main", "displayName": "Replayed" }, { "type": "main", "displayName": "Abandoned" }] : [{ "type": "main" }] }}`,
		credentials: [
			{ name: 'convergentStoreApi', required: false, testedBy: 'convergentStoreApiTest' },
			// Replay's Download Media: the keys the trigger used to fetch the files.
			{
				name: 'whatsAppCloudApi',
				required: false,
				displayOptions: credentialFor(
					'operation',
					['replay'],
					OPERATIONS.map((o) => o.value),
					{ downloadMedia: [false] },
				),
			},
			{
				name: 'twilioWebhookApi',
				required: false,
				testedBy: 'twilioWebhookApiTest',
				displayOptions: credentialFor(
					'operation',
					['replay'],
					OPERATIONS.map((o) => o.value),
					{ downloadMedia: [false] },
				),
			},
		],
		properties: [
			{
				displayName:
					'With this node in the workflow, the Touchpoint Trigger keeps every event in the store until it is marked done. Put Mark Done where each branch ends, and run Replay on a schedule (Schedule Trigger, every minute) into the node after the trigger.',
				name: 'inboxNotice',
				type: 'notice',
				default: '',
			},
			{
				displayName: 'Operation',
				name: 'operation',
				type: 'options',
				noDataExpression: true,
				options: OPERATIONS,
				default: 'markDone',
			},
			...inbox.description,
			...inbound.description,
			...click.description,
			...inApp.description,
		],
	};

	methods = { credentialTest: { convergentStoreApiTest, twilioWebhookApiTest } };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return await router.call(this);
	}
}
