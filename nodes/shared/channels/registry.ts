/**
 * One module per channel, keyed by channel: how each builds its provider request and reads its
 * provider's errors. Adding a channel: its module (the ChannelModule interface in message.ts) and
 * a line here, its credential in Touchpoint's send/credentials.ts, its sender in the transport.
 */
import type { Channel } from '../contact';
import { email } from './email';
import { commonAnswer, parseProviderBody, type ProviderError } from './errors';
import { metaPage } from './meta-page';
import {
	fail,
	type BuildContext,
	type BuildResult,
	type BuiltRequest,
	type ChannelModule,
	type OutboundMessage,
	type ProviderBody,
} from './message';
import { push } from './push';
import { sms } from './sms';
import { whatsapp } from './whatsapp';

export const CHANNEL_MODULES: Record<Channel, ChannelModule> = {
	whatsapp,
	messenger: metaPage,
	instagram: metaPage,
	sms,
	push,
	email,
};

/** The provider request for a message, built exactly as the channel's API documents it. */
export function buildRequest(m: OutboundMessage, ctx: BuildContext): BuildResult {
	const module = Object.hasOwn(CHANNEL_MODULES, m.channel) ? CHANNEL_MODULES[m.channel] : undefined;
	if (!module)
		return fail([
			{
				code: 'UNKNOWN_CHANNEL',
				field: 'channel',
				message: `Unknown channel "${String(m.channel)}"`,
			},
		]);
	return module.build(m, ctx);
}

/** What a provider's answer means for the message: retry, a reason, a message for the user. */
export function classifyError(
	channel: Channel,
	status: number | undefined,
	body: unknown,
): ProviderError {
	const common = commonAnswer(channel, status);
	if (common || status === undefined) return common!;
	const b = (typeof body === 'string' ? parseProviderBody(body) : body) as ProviderBody;
	return CHANNEL_MODULES[channel].classify(status, b);
}

/** What a built message reads like to the person, for the Dry Run item's first field. */
export function readMessage(channel: Channel, built: BuiltRequest): string {
	return CHANNEL_MODULES[channel].read(built);
}
