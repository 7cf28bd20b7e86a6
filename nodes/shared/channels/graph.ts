/** Meta's Graph API: one home for its address and the version a credential asks for. */
export const GRAPH_URL = 'https://graph.facebook.com';
export const GRAPH_VERSION = 'v21.0';

/** The Graph API root a credential points at (its Base URL, e.g. a test server, and API version). */
export function graphRoot(data: { baseUrl?: unknown; apiVersion?: unknown }): string {
	return `${String(data.baseUrl || GRAPH_URL).replace(/\/$/, '')}/${String(data.apiVersion || GRAPH_VERSION)}`;
}
