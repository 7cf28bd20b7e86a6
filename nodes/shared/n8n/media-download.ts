/**
 * The n8n side of fetching the files people send (the core, with each provider's rules and checks,
 * is inbound/media.ts): the keys from the node's credentials, n8n's HTTP helper, and each file as
 * the item's binary data. The Touchpoint Trigger uses it as messages arrive, Touchpoint Inbox's
 * Replay for the events it emits again.
 */
import { GRAPH_URL, GRAPH_VERSION } from '../channels/graph';
import type {
	IBinaryKeyData,
	ICredentialDataDecryptedObject,
	IDataObject,
	IExecuteFunctions,
	IWebhookFunctions,
} from 'n8n-workflow';

import type { ConversationEvent } from '../contact';
import {
	fetchRefusal,
	MAX_REDIRECTS,
	MEDIA_HOSTS,
	namedHosts,
	type FetchScope,
} from '../inbound/fetch-policy';
import { fetchEventMedia, type MediaHttp, type MediaKeys } from '../inbound/media';
import { REQUEST_DEADLINE_MS, withDeadline } from '../deadline';

type Helpers = Pick<
	IWebhookFunctions['helpers'] & IExecuteFunctions['helpers'],
	'httpRequest' | 'prepareBinaryData'
>;

/** A credential of the node, or undefined when none is selected. */
export type CredentialsOf = (type: string) => Promise<ICredentialDataDecryptedObject | undefined>;

/** One GET of a media fetch: the response whatever its status, redirects not followed. */
interface Hop {
	body: Buffer | ArrayBuffer;
	headers: IDataObject;
	statusCode: number;
}

/**
 * A GET of a URL a payload named, under the fetch policy (inbound/fetch-policy.ts): the URL and
 * every redirect hop checked before it is requested, credentials dropped when a redirect leaves
 * the host, each hop ended at its deadline.
 */
async function policedGet(
	helpers: Helpers,
	scope: FetchScope,
	url: string,
	headers: Record<string, string>,
	deadlineMs: number,
): Promise<Hop> {
	let at = url;
	let sending = headers;
	for (let hop = 0; ; hop++) {
		const refused = await fetchRefusal(at, scope);
		if (refused) throw new Error(refused);
		const res = (await withDeadline('The media download', deadlineMs, (abortSignal) =>
			helpers.httpRequest({
				method: 'GET',
				url: at,
				headers: sending,
				encoding: 'arraybuffer',
				returnFullResponse: true,
				disableFollowRedirect: true,
				ignoreHttpStatusErrors: true,
				timeout: deadlineMs,
				abortSignal,
			}),
		)) as Hop;
		const location = res.headers?.location;
		if (res.statusCode >= 300 && res.statusCode < 400 && location) {
			if (hop >= MAX_REDIRECTS)
				throw new Error(`More than ${MAX_REDIRECTS} redirects: not fetched`);
			const next = new URL(String(location), at);
			// The account's credentials never follow a redirect to another host.
			if (next.host !== new URL(at).host) sending = {};
			at = next.toString();
			continue;
		}
		if (res.statusCode >= 400)
			throw Object.assign(new Error('The media host refused the download'), {
				httpCode: String(res.statusCode),
			});
		return res;
	}
}

const asBuffer = (body: Buffer | ArrayBuffer) => (Buffer.isBuffer(body) ? body : Buffer.from(body));

/**
 * The items of these events with their files as binary data (media_0, media_1, ...); the rest
 * unchanged. Files come only from each provider's media hosts, or hosts the user named: the
 * WhatsApp credential's base URL and `mediaHosts` (the node's Media Hosts option).
 */
export async function withDownloadedMedia(
	helpers: Helpers,
	events: IDataObject[],
	credentialsOf: CredentialsOf,
	maxMb: number,
	mediaHosts = '',
): Promise<Array<{ json: IDataObject; binary?: IBinaryKeyData }>> {
	const keys: MediaKeys = {};
	if (events.some((json) => json.channel === 'whatsapp')) {
		const wa = await credentialsOf('whatsAppCloudApi').catch(() => undefined);
		if (wa?.accessToken)
			keys.whatsapp = {
				baseUrl: String(wa.baseUrl || GRAPH_URL),
				apiVersion: String(wa.apiVersion || GRAPH_VERSION),
				accessToken: String(wa.accessToken),
			};
	}
	if (events.some((json) => json.channel === 'sms')) {
		const twilio = await credentialsOf('twilioWebhookApi').catch(() => undefined);
		if (twilio?.authToken) keys.twilioAuthToken = String(twilio.authToken);
	}
	const trusted = [
		...namedHosts(mediaHosts),
		...(keys.whatsapp ? namedHosts(keys.whatsapp.baseUrl) : []),
	];
	const httpFor = (channel: string): MediaHttp => {
		const scope: FetchScope = { allowed: MEDIA_HOSTS[channel] ?? [], trusted };
		return {
			json: async (url, headers) =>
				JSON.parse(
					asBuffer((await policedGet(helpers, scope, url, headers, 15_000)).body).toString('utf8'),
				) as Record<string, unknown>,
			bytes: async (url, headers) => {
				const res = await policedGet(helpers, scope, url, headers, REQUEST_DEADLINE_MS);
				return {
					body: asBuffer(res.body),
					contentType: res.headers?.['content-type']
						? String(res.headers['content-type']).split(';')[0].trim()
						: undefined,
				};
			},
		};
	};
	return await Promise.all(
		events.map(async (json) => {
			if (!Array.isArray(json.media) || !json.media.length) return { json };
			const { media, files } = await fetchEventMedia(
				json as unknown as ConversationEvent,
				keys,
				httpFor(String(json.channel)),
				maxMb * 1024 * 1024,
			);
			const binary: IBinaryKeyData = {};
			for (const f of files)
				binary[f.property] = await helpers.prepareBinaryData(f.body, f.fileName, f.mimeType);
			return {
				json: { ...json, media: media as unknown as IDataObject[] },
				...(files.length ? { binary } : {}),
			};
		}),
	);
}
