/** Email through nodemailer: one pooled SMTP transport per server and user. */
import nodemailer, { type Transporter } from 'nodemailer';
import type { IDataObject } from 'n8n-workflow';

import type { EmailSpec } from '../../shared/channels/message';

const transports = new Map<string, Transporter>();

function smtp(data: IDataObject): Transporter {
	const key = `${data.host}:${data.port}:${data.user}`;
	let t = transports.get(key);
	if (!t) {
		t = nodemailer.createTransport({
			host: String(data.host),
			port: Number(data.port),
			secure: data.secure === true,
			pool: true,
			maxConnections: Number(data.maxConnections ?? 10),
			...(data.user
				? { auth: { user: String(data.user), pass: String(data.password ?? '') } }
				: {}),
			tls: { rejectUnauthorized: true },
		});
		transports.set(key, t);
	}
	return t;
}

export async function verifySmtp(data: IDataObject): Promise<void> {
	await smtp(data).verify();
}

/** Sends an email; returns its Message-ID. */
export async function sendEmail(data: IDataObject, email: EmailSpec): Promise<string> {
	const info = await smtp(data).sendMail({ ...email });
	return String(info.messageId ?? '');
}
