/** Touchpoint Trigger's parameters: the provider, media download, keywords and statuses. */
import type { INodeProperties } from 'n8n-workflow';

import { MEDIA_HOSTS_DESCRIPTION } from '../shared/inbound/fetch-policy';

export const PROVIDERS = [
	{ name: 'Email Service Events (Bounces, Complaints, Unsubscribes)', value: 'email' },
	{ name: 'Meta (WhatsApp, Messenger, Instagram)', value: 'meta' },
	{ name: 'Twilio SMS', value: 'twilio' },
];

export const PROVIDER_VALUES = PROVIDERS.map((p) => p.value);

export const properties: INodeProperties[] = [
	{
		displayName: 'Provider',
		name: 'provider',
		type: 'options',
		options: PROVIDERS,
		default: 'meta',
	},
	{
		displayName: 'Download Media',
		name: 'downloadMedia',
		type: 'boolean',
		default: false,
		description:
			'Whether files people send (WhatsApp media, Messenger and Instagram attachments, MMS) are fetched into the item as binary data: media_0, media_1, ... WhatsApp media needs a WhatsApp Cloud API credential. The provider gets its answer first; a file that cannot be fetched is named in media[].downloadError and the message still starts the workflow.',
		displayOptions: { show: { provider: ['meta', 'twilio'] } },
	},
	{
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add option',
		default: {},
		options: [
			{
				displayName: 'Consent Purposes for Keywords',
				name: 'keywordPurposes',
				type: 'string',
				default: 'marketing, service',
				description:
					'Purposes that STOP withdraws on the channel, comma-separated. START restores only what a STOP withdrew; no keyword ever grants consent.',
			},
			{
				displayName: 'Extra Help Words',
				name: 'extraHelpWords',
				type: 'string',
				default: '',
				placeholder: 'AIUTO',
				description: 'More words flagged as a help request, comma-separated',
			},
			{
				displayName: 'Extra Start Words',
				name: 'extraStartWords',
				type: 'string',
				default: '',
				placeholder: 'RIATTIVA',
				description:
					'More words that undo a STOP on the channel, comma-separated. They never grant consent that was not given.',
			},
			{
				displayName: 'Extra Stop Words',
				name: 'extraStopWords',
				type: 'string',
				default: '',
				placeholder: 'DESISCRIVERE, AFMELDEN',
				description:
					'More opt-out words, comma-separated (English, Spanish, Italian, French, German and Portuguese words are built in)',
			},
			{
				displayName: 'Include Status Updates',
				name: 'includeStatuses',
				type: 'boolean',
				default: false,
				description:
					'Whether sent / delivered / read / failed updates start the workflow too (they always update the send log)',
			},
			{
				displayName: 'Max Media Size (MB)',
				name: 'maxMediaSize',
				type: 'number',
				typeOptions: { minValue: 1 },
				default: 25,
				description: 'Files larger than this are not downloaded (their media entry says so)',
			},
			{
				displayName: 'Media Hosts',
				name: 'mediaHosts',
				type: 'string',
				default: '',
				placeholder: 'media-proxy.example.com',
				description: MEDIA_HOSTS_DESCRIPTION,
			},
			{
				displayName: 'Public URL',
				name: 'publicUrl',
				type: 'string',
				default: '',
				placeholder: 'https://n8n.example.com/webhook/…/webhook',
				description:
					'The URL Twilio calls, when n8n runs behind a proxy that changes it (Twilio signs the URL)',
			},
		],
	},
];
