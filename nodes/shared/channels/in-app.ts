/**
 * An in-app message as the push channel carries it: an FCM data message (the app decides how to
 * show it; no system notification). Who may read it back (the inbox token) is insights/inapp.ts.
 */
export interface InAppPayload {
	title: string;
	body: string;
	imageUrl?: string;
	ctaLabel?: string;
	ctaUrl?: string;
	/** ISO time after which the app should not show it (and the inbox leaves it out). */
	expiresAt: string;
}

/** The FCM data of an in-app message: every value text, as FCM requires. */
export function inAppData(id: string, p: InAppPayload, inboxToken: string): Record<string, string> {
	return {
		type: 'in_app',
		id,
		title: p.title,
		body: p.body,
		expiresAt: p.expiresAt,
		inboxToken,
		...(p.imageUrl ? { imageUrl: p.imageUrl } : {}),
		...(p.ctaLabel ? { ctaLabel: p.ctaLabel } : {}),
		...(p.ctaUrl ? { ctaUrl: p.ctaUrl } : {}),
	};
}
