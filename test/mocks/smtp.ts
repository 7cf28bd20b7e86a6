/**
 * A real SMTP receiver on 127.0.0.1 (smtp-server): captures each message with its envelope,
 * raw source and unfolded headers, so tests assert what a mailbox would receive.
 */
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
	from: string;
	to: string[];
	raw: string;
	headers: Map<string, string[]>;
	subject?: string;
	body: string;
	authUser?: string;
}

export function parseHeaders(raw: string): { headers: Map<string, string[]>; body: string } {
	const split = raw.search(/\r?\n\r?\n/);
	const head = split === -1 ? raw : raw.slice(0, split);
	const body = split === -1 ? '' : raw.slice(split).replace(/^\r?\n\r?\n/, '');
	const headers = new Map<string, string[]>();
	const unfolded = head.replace(/\r?\n[ \t]+/g, ' ');
	for (const line of unfolded.split(/\r?\n/)) {
		const i = line.indexOf(':');
		if (i <= 0) continue;
		const name = line.slice(0, i).trim().toLowerCase();
		const list = headers.get(name) ?? [];
		list.push(line.slice(i + 1).trim());
		headers.set(name, list);
	}
	return { headers, body };
}

export class SmtpMock {
	readonly messages: ReceivedMail[] = [];
	port = 0;
	user = 'mailer';
	pass = 'smtp-test-pass';
	private server?: SMTPServer;
	private waiters: Array<() => void> = [];

	async start(): Promise<number> {
		this.server = new SMTPServer({
			authOptional: true,
			disabledCommands: ['STARTTLS'],
			// Pooled clients keep connections open: close them promptly when the test stops the server.
			closeTimeout: 200,
			logger: false,
			onAuth: (auth, _session, cb) => {
				if (auth.username === this.user && auth.password === this.pass)
					cb(null, { user: auth.username });
				else cb(new Error('Invalid username or password'));
			},
			onData: (stream, session, cb) => {
				const chunks: Buffer[] = [];
				stream.on('data', (c: Buffer) => chunks.push(c));
				stream.on('end', () => {
					const raw = Buffer.concat(chunks).toString('utf8');
					const { headers, body } = parseHeaders(raw);
					this.messages.push({
						from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
						to: session.envelope.rcptTo.map((r) => r.address),
						raw,
						headers,
						subject: headers.get('subject')?.[0],
						body,
						authUser: session.user as string | undefined,
					});
					this.waiters.splice(0).forEach((w) => w());
					cb();
				});
			},
		});
		await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
		this.port = (
			this.server as unknown as { server: { address(): AddressInfo } }
		).server.address().port;
		return this.port;
	}

	async stop(): Promise<void> {
		if (this.server) await new Promise<void>((resolve) => this.server!.close(() => resolve()));
		this.server = undefined;
	}

	async waitFor(n: number, timeoutMs = 5000): Promise<ReceivedMail[]> {
		const deadline = Date.now() + timeoutMs;
		while (this.messages.length < n) {
			const left = deadline - Date.now();
			if (left <= 0) throw new Error(`Expected ${n} mails, got ${this.messages.length}`);
			await new Promise<void>((resolve) => {
				const t = setTimeout(resolve, left);
				this.waiters.push(() => {
					clearTimeout(t);
					resolve();
				});
			});
		}
		return this.messages;
	}
}
