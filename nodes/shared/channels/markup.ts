/** Text and links placed into a message: escaped for HTML, URLs normalised and checked. */
/** Text placed into HTML (element content or a quoted attribute). */
export function escapeHtml(text: string): string {
	return text.replace(
		/[&<>"']/g,
		(c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
	);
}

/**
 * An absolute URL with one of the allowed schemes, normalised (percent-encoded); undefined when
 * it is not one, or holds characters that could break out of a header or an attribute.
 */
export function safeUrl(raw: string, schemes: string[] = ['https:', 'http:']): string | undefined {
	if (typeof raw !== 'string' || raw.length > 2048 || /[\s<>"'`\\]/.test(raw)) return undefined;
	try {
		const u = new URL(raw);
		return schemes.includes(u.protocol) ? u.href : undefined;
	} catch {
		return undefined;
	}
}
