/**
 * Base of the loopback provider mocks: an HTTP server on 127.0.0.1 (free port) that records
 * every request, can add latency, fail the next N requests, and enforce a rate limit
 * (sliding one-second window; beyond it 429 + Retry-After, in the provider's own error shape).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
	method: string;
	path: string;
	query: URLSearchParams;
	headers: http.IncomingHttpHeaders;
	rawBody: string;
	/** The body's bytes as they arrived (a multipart upload's file is not UTF-8). */
	rawBytes: Buffer;
	/** JSON, form-encoded or multipart body, parsed (a multipart file part is a Blob); undefined when empty. */
	body: any;
	at: number;
	/** The status the mock answered with (set when it answers). */
	status?: number;
}

export interface MockResponse {
	status: number;
	body?: unknown;
	headers?: Record<string, string>;
}

export type Handler = (
	req: RecordedRequest,
	params: Record<string, string>,
) => MockResponse | Promise<MockResponse>;

interface Route {
	method: string;
	pattern: RegExp;
	names: string[];
	handler: Handler;
}

export abstract class MockServer {
	readonly requests: RecordedRequest[] = [];
	received = 0;
	accepted = 0;
	rateLimited = 0;
	inFlight = 0;
	maxInFlight = 0;
	baseUrl = '';
	private server?: http.Server;
	private routes: Route[] = [];
	private latencyMs = 0;
	private failures: MockResponse[] = [];
	private ratePerSecond = 0;
	private windowHits: number[] = [];
	/** Runs on each request before it is answered (a test looks at the world mid-run); cleared by reset(). */
	beforeAnswer?: (req: RecordedRequest) => void | Promise<void>;

	/** The provider's body for a 429, and its Retry-After in seconds. */
	protected abstract rateLimitResponse(retryAfterSeconds: number): MockResponse;

	protected route(method: string, path: string, handler: Handler) {
		const names: string[] = [];
		const pattern = new RegExp(
			'^' +
				path
					.replace(/[.*+?^${}()|[\]\\]/g, (c) => (c === '{' || c === '}' ? c : `\\${c}`))
					.replace(/\{(\w+)\}/g, (_m, name: string) => {
						names.push(name);
						return '([^/]+)';
					}) +
				'$',
		);
		this.routes.push({ method, pattern, names, handler });
	}

	async start(): Promise<string> {
		this.server = http.createServer((req, res) => void this.handle(req, res));
		await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
		this.baseUrl = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
		return this.baseUrl;
	}

	async stop(): Promise<void> {
		if (!this.server) return;
		this.server.closeAllConnections();
		await new Promise<void>((resolve) => this.server!.close(() => resolve()));
		this.server = undefined;
	}

	reset() {
		this.requests.length = 0;
		this.received = this.accepted = this.rateLimited = this.maxInFlight = 0;
		this.failures = [];
		this.windowHits = [];
		this.latencyMs = 0;
		this.ratePerSecond = 0;
		this.beforeAnswer = undefined;
	}

	setLatency(ms: number) {
		this.latencyMs = ms;
	}

	/** The next n requests get this response instead of being handled. */
	failNext(n: number, response: MockResponse) {
		for (let i = 0; i < n; i++) this.failures.push(response);
	}

	/** Accept at most perSecond requests in any one-second window; 0 = unlimited. */
	setRateLimit(perSecond: number) {
		this.ratePerSecond = perSecond;
		this.windowHits = [];
	}

	private rateCheck(now: number): number | undefined {
		if (!this.ratePerSecond) return undefined;
		while (this.windowHits.length && this.windowHits[0] <= now - 1000) this.windowHits.shift();
		if (this.windowHits.length < this.ratePerSecond) {
			this.windowHits.push(now);
			return undefined;
		}
		return Math.max(1, Math.ceil((this.windowHits[0] + 1000 - now) / 1000));
	}

	private async handle(req: http.IncomingMessage, res: http.ServerResponse) {
		const chunks: Buffer[] = [];
		for await (const chunk of req) chunks.push(chunk as Buffer);
		const rawBytes = Buffer.concat(chunks);
		const rawBody = rawBytes.toString('utf8');
		const url = new URL(req.url ?? '/', 'http://127.0.0.1');
		const type = String(req.headers['content-type'] ?? '');
		let body: unknown;
		try {
			if (rawBody && type.includes('application/x-www-form-urlencoded')) {
				body = Object.fromEntries(new URLSearchParams(rawBody));
			} else if (rawBytes.length && type.includes('multipart/form-data')) {
				// Parsed by the platform's own multipart reader (the WHATWG Response), as a server would.
				body = Object.fromEntries(
					await new Response(rawBytes, { headers: { 'content-type': type } }).formData(),
				);
			} else if (rawBody) {
				body = JSON.parse(rawBody);
			}
		} catch {
			body = undefined;
		}
		const recorded: RecordedRequest = {
			method: req.method ?? 'GET',
			path: url.pathname,
			query: url.searchParams,
			headers: req.headers,
			rawBody,
			rawBytes,
			body,
			at: Date.now(),
		};
		this.requests.push(recorded);
		this.received++;
		this.inFlight++;
		this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
		try {
			if (this.latencyMs) await new Promise((r) => setTimeout(r, this.latencyMs));
			if (this.beforeAnswer) await this.beforeAnswer(recorded);
			let response: MockResponse;
			const retryAfter = this.rateCheck(Date.now());
			if (retryAfter !== undefined) {
				this.rateLimited++;
				response = this.rateLimitResponse(retryAfter);
				response.headers = { 'retry-after': String(retryAfter), ...(response.headers ?? {}) };
			} else if (this.failures.length) {
				response = this.failures.shift()!;
			} else {
				response = await this.dispatch(recorded);
				if (response.status < 400) this.accepted++;
			}
			recorded.status = response.status;
			this.writeResponse(res, response);
		} catch (error) {
			recorded.status = 500;
			this.writeResponse(res, { status: 500, body: { error: String(error) } });
		} finally {
			this.inFlight--;
		}
	}

	private async dispatch(req: RecordedRequest): Promise<MockResponse> {
		for (const route of this.routes) {
			if (route.method !== req.method) continue;
			const m = route.pattern.exec(req.path);
			if (!m) continue;
			const params = Object.fromEntries(
				route.names.map((n, i) => [n, decodeURIComponent(m[i + 1])]),
			);
			return await route.handler(req, params);
		}
		return { status: 404, body: { error: `no mock route for ${req.method} ${req.path}` } };
	}

	private writeResponse(res: http.ServerResponse, response: MockResponse) {
		const isText = typeof response.body === 'string';
		const isBytes = Buffer.isBuffer(response.body);
		res.writeHead(response.status, {
			'content-type': isBytes
				? 'application/octet-stream'
				: isText
					? 'text/plain'
					: 'application/json',
			...(response.headers ?? {}),
		});
		res.end(
			response.body === undefined
				? ''
				: isBytes || isText
					? (response.body as string)
					: JSON.stringify(response.body),
		);
	}
}

export function bearer(req: RecordedRequest): string | undefined {
	const h = String(req.headers.authorization ?? '');
	return h.startsWith('Bearer ') ? h.slice(7) : undefined;
}
