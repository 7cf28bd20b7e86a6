/**
 * FCM HTTP v1 through the googleapis client \`@googleapis/fcm\` (projects.messages.send); its OAuth
 * token obtained over httpRequest from the service account's own token_uri, which
 * google-auth-library's JWT client cannot be pointed at.
 */
import { createSign } from 'node:crypto';
import { auth as googleAuth, fcm as fcmClient, type fcm_v1 } from '@googleapis/fcm';
import type { IExecuteFunctions } from 'n8n-workflow';

import type { ChannelCredentials } from './types';

const tokens = new Map<string, { token: string; expires: number }>();

async function fcmAccessToken(ctx: IExecuteFunctions, sa: Record<string, string>): Promise<string> {
	const cacheKey = `${sa.client_email}|${sa.token_uri}`;
	const hit = tokens.get(cacheKey);
	if (hit && hit.expires > Date.now() + 60_000) return hit.token;
	const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
	const now = Math.floor(Date.now() / 1000);
	const tokenUri = sa.token_uri || 'https://oauth2.googleapis.com/token';
	const unsigned = `${enc({ alg: 'RS256', typ: 'JWT', kid: sa.private_key_id })}.${enc({ iss: sa.client_email, scope: 'https://www.googleapis.com/auth/firebase.messaging', aud: tokenUri, iat: now, exp: now + 3600 })}`;
	const assertion = `${unsigned}.${createSign('RSA-SHA256').update(unsigned).sign(sa.private_key, 'base64url')}`;
	const res = (await ctx.helpers.httpRequest({
		method: 'POST',
		url: tokenUri,
		body: new URLSearchParams({
			grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
			assertion,
		}).toString(),
		headers: { 'content-type': 'application/x-www-form-urlencoded' },
		json: true,
	})) as { access_token: string; expires_in: number };
	tokens.set(cacheKey, { token: res.access_token, expires: Date.now() + res.expires_in * 1000 });
	return res.access_token;
}

const fcmClients = new Map<string, fcm_v1.Resource$Projects$Messages>();

/** FCM HTTP v1's messages resource (one client per base URL and token), authorised with the access token. */
function fcmMessages(baseUrl: string, accessToken: string): fcm_v1.Resource$Projects$Messages {
	const key = `${baseUrl}|${accessToken}`;
	let messages = fcmClients.get(key);
	if (!messages) {
		const oauth = new googleAuth.OAuth2();
		oauth.setCredentials({ access_token: accessToken });
		messages = fcmClient({ version: 'v1', auth: oauth, rootUrl: `${baseUrl.replace(/\/$/, '')}/` })
			.projects.messages;
		// Tokens last an hour: a client per token, the expired ones dropped.
		if (fcmClients.size >= 16) fcmClients.clear();
		fcmClients.set(key, messages);
	}
	return messages;
}

/** Sends an FCM message; returns its name (the provider's message id). */
export async function sendFcm(
	ctx: IExecuteFunctions,
	creds: ChannelCredentials,
	message: Record<string, unknown>,
	signal: AbortSignal,
	deadlineMs: number,
): Promise<string> {
	const sa = JSON.parse(String(creds.data.serviceAccountJson)) as Record<string, string>;
	const token = await fcmAccessToken(ctx, sa);
	const res = await fcmMessages(
		String(creds.data.baseUrl || 'https://fcm.googleapis.com'),
		token,
	).send(
		{
			parent: `projects/${String(sa.project_id)}`,
			requestBody: { message: message as fcm_v1.Schema$Message },
		},
		// Retries, pacing and Retry-After are this file's (send()), once for every channel.
		{ retry: false, timeout: deadlineMs, signal },
	);
	return String(res.data.name ?? '');
}
