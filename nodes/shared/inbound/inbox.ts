/**
 * The durable inbox, as the nodes see it. The Touchpoint Trigger keeps each event it emits in the
 * store (in the same transaction as its de-duplication key, inbound log and keyword consent) when
 * the workflow has a Touchpoint Inbox node; the item carries `inboxId`. The run that handles it
 * marks it done (Touchpoint Inbox > Mark Done); Replay re-emits, with its original ids, the events
 * whose run never did (a queue worker killed mid-run: n8n fails that execution and drops its data).
 *
 * Why an explicit node and not "done when the execution ends": n8n gives a community node no hook
 * at the end of an execution, and in queue mode the trigger runs in the webhook process while the
 * run happens in a worker it cannot observe. Marking done where the run ends (each branch, or one
 * node they all flow into) makes "handled" mean what the workflow means by it.
 */
import type { InboxEvent, InboxKey } from '../domain';

/** The node type name (without the package prefix) whose presence turns the inbox on. */
export const INBOX_NODE = 'touchpointInbox';

/** `<scope>/<event id>`: the scope (`provider:workflow:node`) has no `/`, an event id may. */
export function inboxIdOf(key: InboxKey): string {
	return `${key.scope}/${key.id}`;
}

/** The key of an `inboxId`, or undefined when it is not one (no `/`, or an empty half). */
export function parseInboxId(value: string): InboxKey | undefined {
	const at = value.indexOf('/');
	if (at <= 0 || at === value.length - 1) return undefined;
	return { scope: value.slice(0, at), id: value.slice(at + 1) };
}

/** A stored event as the item Replay emits: the trigger's own item, with the attempt it is on. */
export function replayedItem(e: InboxEvent): Record<string, unknown> {
	let json: Record<string, unknown>;
	try {
		json = JSON.parse(e.event) as Record<string, unknown>;
	} catch {
		json = {};
	}
	return {
		...json,
		inboxId: inboxIdOf(e),
		inboxAttempt: e.attempts,
		inboxReceivedAt: new Date(e.receivedAt).toISOString(),
	};
}
