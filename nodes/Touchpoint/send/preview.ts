/**
 * Dry Run: what would be sent, on its own output. The item's first field, `preview`, is the message
 * as the person would read it (the email's envelope and text, the WhatsApp template with its
 * parameters filled in, the SMS with its segments); the provider request follows in `touchpoint`.
 * Nothing is sent, so nothing holds a place under the caps: neither this node's reservation nor
 * Consent Guard's (a preview run twice must not cap the person).
 */
import { builtPreview } from '../../shared/channels/message';
import { readMessage } from '../../shared/channels/registry';
import type { TouchRecord } from '../../shared/store/types';
import type { SendRun } from './context';
import { credentialLabel } from './credentials';
import type { ReadyEntry, Round } from './route';

export async function placePreviews(
	run: SendRun,
	round: Round,
	ready: ReadyEntry[],
	touches: Map<string, TouchRecord>,
): Promise<void> {
	await run.store.releaseTouches(
		ready
			.filter((r) => r.newlyReserved || touches.get(r.key)?.status === 'reserved')
			.map((r) => r.key),
	);
	for (const r of ready) {
		const placeholder = (await run.creds.for(r.channel))?.placeholder === true;
		round.out.preview(r.pd.i, readMessage(r.channel, r.built), {
			channel: r.channel,
			idempotencyKey: r.key,
			...(placeholder ? { credential: `not set: ${credentialLabel(r.channel)}` } : {}),
			...builtPreview(r.built),
			...(r.info ?? {}),
		});
	}
}
