/**
 * The provider credentials a run sends with: loaded once per channel that is used, each with the
 * rate its limiter keeps under. A preview (Dry Run) without a credential shows placeholders.
 */
import { NodeOperationError, type IDataObject, type IExecuteFunctions } from 'n8n-workflow';

import type { Channel } from '../../shared/contact';
import type { ChannelCredentials } from '../transport';

export const CREDENTIAL_OF: Record<Channel, string> = {
	whatsapp: 'whatsAppCloudApi',
	messenger: 'metaPageApi',
	instagram: 'metaPageApi',
	sms: 'twilioMessagingApi',
	push: 'fcmServiceAccountApi',
	email: 'convergentSmtpApi',
};

const CREDENTIAL_LABEL: Record<string, string> = {
	whatsAppCloudApi: 'WhatsApp Cloud API',
	metaPageApi: 'Meta Page (Messenger, Instagram) API',
	twilioMessagingApi: 'Twilio Messaging API',
	fcmServiceAccountApi: 'Firebase Cloud Messaging (Service Account) API',
	convergentSmtpApi: 'Convergent SMTP API',
};

/** The credential's name as the editor shows it, for a channel. */
export const credentialLabel = (channel: Channel) => CREDENTIAL_LABEL[CREDENTIAL_OF[channel]];

const DEFAULT_RATE: Record<Channel, number> = {
	whatsapp: 80,
	messenger: 40,
	instagram: 40,
	sms: 1,
	push: 500,
	email: 20,
};

/** What a preview without a provider credential shows as the sender. */
const DRY_RUN_SENDER: IDataObject = {
	apiVersion: 'v21.0',
	phoneNumberId: '<WhatsApp phone number ID>',
	accountSid: '<Twilio Account SID>',
	from: '<Twilio From number>',
	fromEmail: '<From email>',
};

export class CredentialBook {
	private readonly cache = new Map<Channel, ChannelCredentials | null>();

	constructor(
		private readonly fn: IExecuteFunctions,
		private readonly options: IDataObject,
		private readonly dryRun: boolean,
	) {}

	/** The channel's credential, or null when none is selected (and no preview stands in). */
	async for(channel: Channel): Promise<ChannelCredentials | null> {
		if (this.cache.has(channel)) return this.cache.get(channel)!;
		const node = this.fn.getNode();
		const type = CREDENTIAL_OF[channel];
		let result: ChannelCredentials | null = null;
		if (node.credentials?.[type]) {
			const data = (await this.fn.getCredentials(type)) as IDataObject;
			// The provider's limit; the limiter keeps under it (channels/limiter.ts).
			const rate =
				Number(this.options.ratePerSecond) ||
				Number(data.ratePerSecond) ||
				(channel === 'sms' && data.messagingServiceSid ? 10 : DEFAULT_RATE[channel]);
			result = {
				type,
				data,
				key: `${type}:${node.credentials[type].id ?? node.credentials[type].name}:${data.phoneNumberId ?? data.from ?? data.messagingServiceSid ?? ''}`,
				ratePerSecond: rate,
			};
		} else if (this.dryRun) {
			// A preview needs no provider account: the sender fields show where the credential's values go.
			result = {
				type,
				data: { ...DRY_RUN_SENDER },
				key: `dry-run:${type}`,
				ratePerSecond: 0,
				placeholder: true,
			};
		}
		this.cache.set(channel, result);
		return result;
	}

	/** The error for a channel an item can only go by, without its credential. */
	missing(channel: Channel): NodeOperationError {
		return new NodeOperationError(
			this.fn.getNode(),
			`No ${credentialLabel(channel)} credential selected for ${channel}`,
			{
				description:
					'Choose or create the credential for this channel on the node, or turn on Dry Run (Options) to preview without it.',
			},
		);
	}
}
