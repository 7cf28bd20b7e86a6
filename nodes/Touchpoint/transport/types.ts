/** What the transport is given (a credential as the node read it) and what it answers. */
import type { IDataObject } from 'n8n-workflow';

import type { ProviderError } from '../../shared/channels/errors';

export type SendOutcome =
	| { ok: true; providerMessageId: string; attempts: number }
	| { ok: false; error: ProviderError; attempts: number };

export interface ChannelCredentials {
	type: string;
	data: IDataObject;
	/** Rate-limit key: one bucket per credential and sender. */
	key: string;
	ratePerSecond: number;
	/** A Dry Run stand-in when the node has no credential for the channel (never sent with). */
	placeholder?: boolean;
}
