/**
 * The fetch policy for URLs a payload names: the provider's media hosts only, https, and never an
 * address on this machine or a private network after the name is resolved, unless the user named the host.
 */
import { DeadlineError } from '../../../nodes/shared/deadline';
import {
	fetchRefusal,
	isPrivateAddress,
	LOOKUP_DEADLINE_MS,
	MEDIA_HOSTS,
	namedHosts,
} from '../../../nodes/shared/inbound/fetch-policy';

const meta = { allowed: MEDIA_HOSTS.messenger, trusted: [] as string[] };
const resolvesTo =
	(...addresses: string[]) =>
	async () =>
		addresses;

describe('fetch policy', () => {
	it('a Meta CDN URL that resolves to a public address is fetched', async () => {
		expect(
			await fetchRefusal('https://scontent.xx.fbcdn.net/v/t1/photo.jpg?oh=1', {
				...meta,
				resolve: resolvesTo('157.240.1.35'),
			}),
		).toBeUndefined();
	});

	it.each([
		['http://169.254.169.254/latest/meta-data/', /is not https/],
		['https://169.254.169.254/latest/meta-data/', /not one of the provider's media hosts/],
		['https://evil.example/x.jpg', /evil\.example is not one of the provider's media hosts/],
		['https://fbcdn.net.evil.example/x.jpg', /not one of the provider's media hosts/],
		['not a url', /is not a URL/],
	])('%s is refused', async (url, reason) => {
		expect(await fetchRefusal(url, { ...meta, resolve: resolvesTo('157.240.1.35') })).toMatch(
			reason,
		);
	});

	it.each([
		'127.0.0.1',
		'10.1.2.3',
		'172.20.0.5',
		'192.168.1.10',
		'169.254.169.254',
		'100.64.0.1',
		'0.0.0.0',
		'::1',
		'fe80::1',
		'fd00::2',
		'::ffff:127.0.0.1',
	])('an allowed host that resolves to %s is refused after resolution', async (address) => {
		expect(
			await fetchRefusal('https://lookaside.fbsbx.com/whatsapp/x', {
				...meta,
				resolve: resolvesTo('157.240.1.35', address),
			}),
		).toMatch(
			new RegExp(
				`resolves to ${address.replace(/[.:]/g, '\\$&')}, an address on this machine or a private network`,
			),
		);
	});

	it('a host the user named (credential base URL, Media Hosts) is fetched as it resolves, over http too', async () => {
		expect(
			await fetchRefusal('http://127.0.0.1:8080/cdn/x.jpg', {
				...meta,
				trusted: namedHosts('127.0.0.1, media-proxy.example:8443'),
			}),
		).toBeUndefined();
		expect(namedHosts(' https://Media-Proxy.example:8443/path, localhost ')).toEqual([
			'media-proxy.example',
			'localhost',
		]);
	});

	it('public addresses are not private', () => {
		for (const a of ['157.240.1.35', '8.8.8.8', '2a03:2880:f10c::1'])
			expect(isPrivateAddress(a)).toBe(false);
	});

	it('a resolver that never answers is ended at the lookup deadline', async () => {
		jest.useFakeTimers({ now: 1_800_000_000_000 });
		try {
			const outcome = fetchRefusal('https://scontent.xx.fbcdn.net/x.jpg', {
				...meta,
				resolve: () => new Promise<string[]>(() => undefined),
			}).then(
				(v) => v,
				(e: unknown) => e,
			);
			await jest.advanceTimersByTimeAsync(LOOKUP_DEADLINE_MS);
			expect(await outcome).toBeInstanceOf(DeadlineError);
		} finally {
			jest.useRealTimers();
		}
	});
});
