/**
 * Dry Run: what would be sent, on its own output. Nothing is sent, so nothing holds a place under
 * the caps: neither this node's reservation nor Consent Guard's (a preview run twice must not cap
 * the person).
 */
import { emailPreviewHtml } from '../../shared/channels/email';
import { builtPreview } from '../../shared/channels/message';
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
		// An email is also attached as a page, so n8n's binary view shows it rendered.
		const binary =
			r.built.kind === 'email'
				? {
						preview: await run.fn.helpers.prepareBinaryData(
							Buffer.from(emailPreviewHtml(r.built.email), 'utf8'),
							'email-preview.html',
							'text/html',
						),
					}
				: undefined;
		round.out.preview(
			r.pd.i,
			{
				channel: r.channel,
				idempotencyKey: r.key,
				...(placeholder ? { credential: `not set: ${credentialLabel(r.channel)}` } : {}),
				...builtPreview(r.built),
				...(r.info ?? {}),
			},
			binary,
		);
	}
}
