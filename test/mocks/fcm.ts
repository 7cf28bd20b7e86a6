/**
 * Firebase Cloud Messaging HTTP v1 plus Google's OAuth 2.0 token endpoint (JWT bearer grant).
 * The mock makes an RSA key pair and hands out a service-account JSON whose token_uri points
 * at itself; assertions are verified with the public key, so a forged JWT is refused.
 */
import { createVerify, generateKeyPairSync, randomBytes } from 'node:crypto';

import { MockServer, bearer, type MockResponse, type RecordedRequest } from './base';

export function fcmError(
	status: number,
	grpc: string,
	message: string,
	errorCode?: string,
): MockResponse {
	return {
		status,
		body: {
			error: {
				code: status,
				message,
				status: grpc,
				...(errorCode
					? {
							details: [
								{ '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode },
							],
						}
					: {}),
			},
		},
	};
}

export class FcmMock extends MockServer {
	readonly projectId = 'convergent-test';
	readonly clientEmail = 'fcm-sender@convergent-test.iam.gserviceaccount.com';
	private readonly keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
	private readonly tokens = new Set<string>();
	private readonly deadTokens = new Set<string>();
	tokensIssued = 0;

	constructor() {
		super();
		this.route('POST', '/token', (req) => this.token(req));
		this.route('POST', '/v1/projects/{project}/messages:send', (req, p) =>
			this.send(req, p.project),
		);
	}

	/** A service-account JSON as Google's console downloads it, pointing at this mock. */
	serviceAccount(): Record<string, string> {
		return {
			type: 'service_account',
			project_id: this.projectId,
			private_key_id: 'mockkey1',
			private_key: this.keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
			client_email: this.clientEmail,
			client_id: '100000000000000000001',
			token_uri: `${this.baseUrl}/token`,
		};
	}

	addDeadToken(token: string) {
		this.deadTokens.add(token);
	}

	protected rateLimitResponse(): MockResponse {
		return fcmError(
			429,
			'RESOURCE_EXHAUSTED',
			'Quota exceeded for sending messages',
			'QUOTA_EXCEEDED',
		);
	}

	private token(req: RecordedRequest): MockResponse {
		const b = (req.body ?? {}) as Record<string, string>;
		if (b.grant_type !== 'urn:ietf:params:oauth:grant-type:jwt-bearer' || !b.assertion) {
			return {
				status: 400,
				body: { error: 'unsupported_grant_type', error_description: 'Invalid grant_type' },
			};
		}
		const [h, p, s] = b.assertion.split('.');
		const verifier = createVerify('RSA-SHA256');
		verifier.update(`${h}.${p}`);
		let claims: Record<string, unknown> = {};
		try {
			claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
		} catch {
			/* invalid below */
		}
		const valid =
			!!s &&
			verifier.verify(this.keys.publicKey, Buffer.from(s, 'base64url')) &&
			claims.iss === this.clientEmail &&
			typeof claims.exp === 'number' &&
			claims.exp * 1000 > Date.now();
		if (!valid)
			return {
				status: 400,
				body: { error: 'invalid_grant', error_description: 'Invalid JWT Signature.' },
			};
		const token = 'ya29.' + randomBytes(24).toString('base64url');
		this.tokens.add(token);
		this.tokensIssued++;
		return { status: 200, body: { access_token: token, expires_in: 3599, token_type: 'Bearer' } };
	}

	private send(req: RecordedRequest, project: string): MockResponse {
		const token = bearer(req);
		if (!token || !this.tokens.has(token)) {
			return fcmError(401, 'UNAUTHENTICATED', 'Request had invalid authentication credentials.');
		}
		if (project !== this.projectId)
			return fcmError(
				403,
				'PERMISSION_DENIED',
				`Permission denied on project ${project}`,
				'SENDER_ID_MISMATCH',
			);
		const message = req.body?.message;
		if (!message)
			return fcmError(
				400,
				'INVALID_ARGUMENT',
				'Request contains an invalid argument.',
				'INVALID_ARGUMENT',
			);
		const targets = ['token', 'topic', 'condition'].filter((k) => message[k] !== undefined);
		if (targets.length !== 1) {
			return fcmError(
				400,
				'INVALID_ARGUMENT',
				'Exactly one of token, topic or condition must be set.',
				'INVALID_ARGUMENT',
			);
		}
		if (Buffer.byteLength(JSON.stringify(message), 'utf8') > 4096) {
			return fcmError(400, 'INVALID_ARGUMENT', 'Message is too big', 'INVALID_ARGUMENT');
		}
		if (message.data && Object.values(message.data).some((v) => typeof v !== 'string')) {
			return fcmError(
				400,
				'INVALID_ARGUMENT',
				'Invalid value at message.data: values must be strings',
				'INVALID_ARGUMENT',
			);
		}
		if (message.token && this.deadTokens.has(message.token)) {
			return fcmError(404, 'NOT_FOUND', 'Requested entity was not found.', 'UNREGISTERED');
		}
		return {
			status: 200,
			body: {
				name: `projects/${project}/messages/0:${Date.now()}%${randomBytes(8).toString('hex')}`,
			},
		};
	}
}
