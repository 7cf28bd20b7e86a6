/**
 * Check's reading half: its settings read once per execution (the policy, the contact mapping, the
 * channel, the purpose, expressions per item only where the marketer wrote one), and one item's
 * input validated with an error naming the field and the value.
 */
import { NodeOperationError, type IDataObject, type IExecuteFunctions } from 'n8n-workflow';

import { normalisedChannelAddress } from '../../../shared/people';
import { isChannel, type Contact } from '../../../shared/contact';
import { compileFieldPath } from '../../../shared/field-path';
import {
	compileContactReader,
	ContactMappingError,
	resolveContactMapping,
} from '../../../shared/n8n/contact-mapping';
import { parameterReader } from '../../../shared/n8n/params';
import { readPolicySettings } from '../../../shared/n8n/policy-settings';
import { isToolCall } from '../../../shared/n8n/tool-mode';
import { isValidZone, type GateRequest, type GateSettings } from '../../../shared/policy';

export interface CheckSettings {
	gate: GateSettings;
	reserve: boolean;
	mapping: ReturnType<typeof resolveContactMapping>;
	/** An item without a contact ID is checked for whoever holds its address. */
	readContact: ReturnType<typeof compileContactReader>;
	channelOf: (json: IDataObject) => unknown;
	purpose: string;
	campaignOf: (i: number) => string;
	messageKind: GateRequest['messageKind'];
	keyOf?: (json: IDataObject) => unknown;
}

export function readCheckSettings(fn: IExecuteFunctions): CheckSettings {
	const policy = readSettings(fn);
	const mapping = resolveContactMapping(fn.getNodeParameter('contactFields', 0, {}) as IDataObject);
	const readContact = compileContactReader(mapping, { idOptional: true });
	const channelParam = fn.getNodeParameter('channel', 0) as string;
	const channelOf =
		channelParam === 'fromField'
			? compileFieldPath(fn.getNodeParameter('channelField', 0, 'channel') as string)
			: () => channelParam;
	const purposeParam = fn.getNodeParameter('purpose', 0) as string;
	const purpose =
		purposeParam === 'custom'
			? (fn.getNodeParameter('customPurpose', 0, '') as string).trim()
			: purposeParam;
	if (!purpose)
		throw new NodeOperationError(fn.getNode(), 'Custom Purpose is empty', {
			description: 'Name the purpose, e.g. product-research.',
		});
	const campaignOf = parameterReader<string>(fn, 'campaign', '');
	const messageKind =
		channelParam === 'sms' || channelParam === 'push' || channelParam === 'email'
			? 'free-form'
			: (fn.getNodeParameter('messageKind', 0, 'free-form') as GateRequest['messageKind']);
	const keyField = String(
		(fn.getNodeParameter('options', 0, {}) as IDataObject).idempotencyKeyField ?? '',
	).trim();
	return {
		...policy,
		mapping,
		readContact,
		channelOf,
		purpose,
		campaignOf,
		messageKind,
		keyOf: keyField ? compileFieldPath(keyField) : undefined,
	};
}

function readSettings(ctx: IExecuteFunctions): Pick<CheckSettings, 'gate' | 'reserve'> {
	const options = ctx.getNodeParameter('options', 0, {}) as IDataObject;
	return {
		// As an agent's tool, a Check holds nothing: the agent's send (Touchpoint as a tool) checks and
		// reserves again, and a reservation nobody completes would count against the person's caps.
		reserve: options.reserve !== false && !isToolCall(ctx),
		gate: {
			...readPolicySettings(ctx),
			transactionalExempt: options.transactionalExempt !== false,
			transactionalPurposes: ['transactional'],
			allowUnlinkedAddress: options.allowUnlinkedAddress === true,
		},
	};
}

/** Validates one item's input; throws an Error naming the field and the value. */
export function validateInput(contact: Contact, channel: string): void {
	if (!isChannel(channel)) {
		throw new ContactMappingError(
			'channel',
			channel,
			`Unknown channel "${channel}"`,
			'Use one of whatsapp, messenger, instagram, sms, push, email.',
		);
	}
	const n = normalisedChannelAddress(contact, channel);
	if (!n.ok)
		throw new ContactMappingError(n.field, n.value, `Invalid ${n.field} "${n.value}"`, n.message);
	if (n.address && channel === 'email') contact.email = n.address;
	else if (n.address && contact.phone && (channel === 'sms' || channel === 'whatsapp'))
		contact.phone = n.address;
	if (contact.timeZone && !isValidZone(contact.timeZone)) {
		throw new ContactMappingError(
			'timeZone',
			contact.timeZone,
			`Unknown time zone "${contact.timeZone}"`,
			'Use an IANA name such as Europe/Madrid.',
		);
	}
}
