/** Inbound: messages people send (they open service windows) and provider events kept in the durable inbox. */
import type { Channel } from '../contact';

export interface InboundRecord {
	contactId: string;
	channel: Channel;
	at: number;
}

export interface InboxKey {
	scope: string;
	id: string;
}

export interface InboxEvent extends InboxKey {
	/** The event as the trigger emitted it (JSON). */
	event: string;
	attempts: number;
	receivedAt: number;
}

export function inboundKeyString(contactId: string, channel: Channel): string {
	return `${contactId}\u0000${channel}`;
}
