/**
 * The consent policy's settings as a marketer sets them (Frequency Caps, Quiet Hours), shared by
 * Consent Guard's Check and Touchpoint (for touches no Consent Guard reserved), so both decide
 * with the same code and the same defaults. Read once per execution: an expression in them would
 * otherwise silently apply item 0's value to every item, so one is refused with a clear error.
 */
import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import type { Channel } from '../contact';
import {
	DEFAULT_QUIET_HOURS,
	isValidZone,
	parseCapRule,
	parseHHmm,
	type GateSettings,
	type QuietHoursRule,
} from '../policy';
import type { FrequencyCapRule } from '../domain';
import { channelOptions } from './channel-options';
import { isExpressionParameter } from './params';

export const policyProperties: INodeProperties[] = [
	{
		displayName: 'Frequency Caps',
		name: 'frequencyCaps',
		type: 'fixedCollection',
		typeOptions: { multipleValues: true },
		placeholder: 'Add Cap',
		default: {
			caps: [{ maxMessages: 2, per: 7, unit: 'days', channel: 'all', purpose: 'marketing' }],
		},
		description:
			'Rolling-window limits counted from the send log (sent and reserved messages). Read once per execution: expressions are not supported here.',
		options: [
			{
				displayName: 'Cap',
				name: 'caps',
				// Reading order, not alphabetical: "2 messages per 7 days on all channels for marketing".
				// eslint-disable-next-line n8n-nodes-base/node-param-fixed-collection-type-unsorted-items
				values: [
					{
						displayName: 'Max Messages',
						name: 'maxMessages',
						type: 'number',
						default: 2,
						typeOptions: { minValue: 1 },
					},
					{
						displayName: 'Per',
						name: 'per',
						type: 'number',
						default: 7,
						typeOptions: { minValue: 1 },
					},
					{
						displayName: 'Unit',
						name: 'unit',
						type: 'options',
						options: [
							{ name: 'Hours', value: 'hours' },
							{ name: 'Days', value: 'days' },
							{ name: 'Weeks', value: 'weeks' },
						],
						default: 'days',
					},
					{
						displayName: 'Channel',
						name: 'channel',
						type: 'options',
						options: [{ name: 'All Channels', value: 'all' }, ...channelOptions],
						default: 'all',
					},
					{
						displayName: 'Purpose',
						name: 'purpose',
						type: 'string',
						default: 'marketing',
						description: 'Purpose the cap counts, or "all"',
					},
				],
			},
		],
	},
	{
		displayName: 'Quiet Hours',
		name: 'quietHours',
		type: 'collection',
		placeholder: 'Change quiet hours',
		// The effective defaults, shown (an empty default read as "No properties" although they applied).
		default: { start: '08:00', end: '21:00' },
		description:
			"Sending is allowed only inside these local hours in the contact's time zone (default 08:00-21:00 on SMS, WhatsApp, push, Messenger and Instagram; none on email). Read once per execution: expressions are not supported here.",
		options: [
			{
				displayName: 'Allowed From',
				name: 'start',
				type: 'string',
				default: '08:00',
				placeholder: '08:00',
			},
			{
				displayName: 'Allowed Until',
				name: 'end',
				type: 'string',
				default: '21:00',
				placeholder: '21:00',
			},
			{
				displayName: 'Apply to Email',
				name: 'applyToEmail',
				type: 'boolean',
				default: false,
				description: 'Whether email also waits for the allowed hours',
			},
			{
				displayName: 'Default Time Zone',
				name: 'defaultTimeZone',
				type: 'string',
				default: '',
				placeholder: 'Europe/Madrid',
				description:
					"Used when the contact has no time zone and their phone's country has several. Empty: quiet hours must hold in every zone of that country (e.g. 13:00-21:00 New York time for a US number); UTC when the country is unknown.",
			},
			{
				displayName: 'Enabled',
				name: 'enabled',
				type: 'boolean',
				default: true,
				description: 'Whether quiet hours are enforced',
			},
			{
				displayName: 'No Sundays',
				name: 'noSunday',
				type: 'boolean',
				default: false,
				description: 'Whether Sundays are quiet all day (e.g. France)',
			},
			{
				displayName: 'No Weekends',
				name: 'noWeekend',
				type: 'boolean',
				default: false,
				description: 'Whether Saturdays and Sundays are quiet all day',
			},
		],
	},
];

/** Caps, quiet hours and default zone from the node, validated with errors that name the field. */
export function readPolicySettings(
	ctx: IExecuteFunctions,
): Pick<GateSettings, 'now' | 'caps' | 'quietHours' | 'defaultZone'> {
	const node = ctx.getNode();
	for (const [name, label] of [
		['frequencyCaps', 'Frequency Caps'],
		['quietHours', 'Quiet Hours'],
	]) {
		if (isExpressionParameter(ctx, name)) {
			throw new NodeOperationError(
				node,
				`${label} holds an expression, but it is read once per execution`,
				{
					description: `Set ${label} to fixed values, or split the items by policy (e.g. with Segment) into separate nodes.`,
				},
			);
		}
	}
	const capsParam = ctx.getNodeParameter('frequencyCaps', 0, {}) as { caps?: IDataObject[] };
	const caps: FrequencyCapRule[] = [];
	for (const [i, fields] of (capsParam.caps ?? []).entries()) {
		try {
			caps.push(parseCapRule(fields as Parameters<typeof parseCapRule>[0]));
		} catch (error) {
			throw new NodeOperationError(
				node,
				`Frequency Caps, cap ${i + 1}: ${(error as Error).message}`,
			);
		}
	}
	const qh = ctx.getNodeParameter('quietHours', 0, {}) as IDataObject;
	const quietHours: Partial<Record<Channel, QuietHoursRule>> = {};
	const defaultZone = String(qh.defaultTimeZone ?? '').trim();
	if (defaultZone && !isValidZone(defaultZone)) {
		throw new NodeOperationError(
			node,
			`Default Time Zone "${defaultZone.slice(0, 64)}" is not a valid IANA time zone`,
			{
				description: 'Use a name such as Europe/Madrid or America/New_York, or leave it empty.',
			},
		);
	}
	if (qh.enabled !== false) {
		const start = String(qh.start ?? '08:00');
		const end = String(qh.end ?? '21:00');
		try {
			parseHHmm(start, 'Allowed From');
			parseHHmm(end, 'Allowed Until');
		} catch (error) {
			throw new NodeOperationError(node, (error as Error).message);
		}
		for (const channel of Object.keys(DEFAULT_QUIET_HOURS) as Channel[]) {
			quietHours[channel] = {
				start,
				end,
				noSunday: qh.noSunday === true,
				noWeekend: qh.noWeekend === true,
			};
		}
		if (qh.applyToEmail === true) quietHours.email = { ...quietHours.sms! };
	}
	return { now: Date.now(), caps, quietHours, defaultZone: defaultZone || undefined };
}
