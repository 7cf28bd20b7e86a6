/**
 * Fetching a URL that a payload names (ARCHITECTURE.md: fetch), in one place: only from the
 * provider's own media hosts, every redirect hop checked again, and never an address on this
 * machine or its private network (after resolving the name), unless the user named that host
 * (the credential's base URL, or the node's Media Hosts option: a proxy, a test double).
 */
import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

import { withDeadline } from '../deadline';

/** How long a media host's name may take to resolve. */
export const LOOKUP_DEADLINE_MS = 5000;

/** Where each provider keeps the files people send (hosts; `*.` covers subdomains). */
export const MEDIA_HOSTS: Record<string, string[]> = {
	// The Graph API resolves a media id to a URL on Meta's CDN (lookaside.fbsbx.com).
	whatsapp: ['graph.facebook.com', '*.fbsbx.com', '*.fbcdn.net', '*.whatsapp.net'],
	messenger: ['*.fbsbx.com', '*.fbcdn.net', '*.facebook.com'],
	instagram: ['*.fbsbx.com', '*.fbcdn.net', '*.cdninstagram.com', '*.instagram.com'],
	// api.twilio.com answers a media URL with a redirect to the file on S3 or Twilio's CDN.
	sms: ['api.twilio.com', 'media.twiliocdn.com', '*.twiliocdn.com', 's3-external-1.amazonaws.com'],
};

/** The Media Hosts option, the same on the trigger and on Touchpoint Inbox > Replay. */
export const MEDIA_HOSTS_DESCRIPTION =
	"More hosts media may come from, comma-separated: a media proxy of yours, or a test double. Files are otherwise fetched only from the provider's own media hosts (Meta's CDN, Twilio and its S3), never from an address on this machine or a private network, and every redirect is checked again.";

/** How many redirects a media fetch follows. */
export const MAX_REDIRECTS = 5;

const PRIVATE = new BlockList();
for (const [net, prefix] of [
	['0.0.0.0', 8],
	['10.0.0.0', 8],
	['100.64.0.0', 10],
	['127.0.0.0', 8],
	['169.254.0.0', 16],
	['172.16.0.0', 12],
	['192.0.0.0', 24],
	['192.168.0.0', 16],
	['198.18.0.0', 15],
	['224.0.0.0', 3],
] as const)
	PRIVATE.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [
	['::', 128],
	['::1', 128],
	['fc00::', 7],
	['fe80::', 10],
	['ff00::', 8],
] as const)
	PRIVATE.addSubnet(net, prefix, 'ipv6');

/** Whether an IP address is on this machine, a private or link-local network, or not routable. */
export function isPrivateAddress(address: string): boolean {
	const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
	if (mapped) return PRIVATE.check(mapped[1], 'ipv4');
	const family = isIP(address);
	return family === 0 ? true : PRIVATE.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

const matches = (host: string, pattern: string) =>
	pattern.startsWith('*.') ? host.endsWith(pattern.slice(1)) : host === pattern;

/** The hosts the user named: "a.example, 127.0.0.1, localhost:8080" -> lower-case host names. */
export function namedHosts(list: string): string[] {
	return list
		.split(/[\s,]+/)
		.map((h) =>
			h
				.trim()
				.toLowerCase()
				.replace(/^[a-z]+:\/\//, '')
				.replace(/[:/].*$/, ''),
		)
		.filter(Boolean);
}

export interface FetchScope {
	/** The provider's hosts (MEDIA_HOSTS). */
	allowed: string[];
	/** Hosts the user named (credential base URL, Media Hosts option): taken as they resolve. */
	trusted: string[];
	/** Resolves a name to its addresses (dns.lookup; a test may pass its own). */
	resolve?: (host: string) => Promise<string[]>;
}

/** Why this URL may not be fetched, or undefined when it may. */
export async function fetchRefusal(url: string, scope: FetchScope): Promise<string | undefined> {
	let u: URL;
	try {
		u = new URL(url);
	} catch {
		return `"${url.slice(0, 80)}" is not a URL`;
	}
	const host = u.hostname.toLowerCase().replace(/^\[|\]$/g, '');
	const trusted = scope.trusted.includes(host);
	if (!trusted && u.protocol !== 'https:')
		return `${u.protocol}//${host} is not https: not fetched`;
	if (!trusted && !scope.allowed.some((p) => matches(host, p)))
		return `${host} is not one of the provider's media hosts: not fetched (add it to Media Hosts if it is yours)`;
	if (trusted) return undefined;
	// The name is looked up under a deadline too: a resolver that never answers cannot hold the run.
	const resolve =
		scope.resolve ?? (async (h: string) => (await lookup(h, { all: true })).map((a) => a.address));
	const addresses = isIP(host)
		? [host]
		: await withDeadline(`Looking up ${host}`, LOOKUP_DEADLINE_MS, () => resolve(host));
	const inside = addresses.find(isPrivateAddress);
	return inside
		? `${host} resolves to ${inside}, an address on this machine or a private network: not fetched`
		: undefined;
}
