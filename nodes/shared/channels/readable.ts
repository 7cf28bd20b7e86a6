/**
 * What a built message reads like to the person: the text a marketer checks in a Dry Run before
 * anything leaves. Each channel module reads its own request with these helpers; the request
 * itself stays beside it for the engineer.
 */
import type { BuiltRequest, HttpRequestSpec } from './message';

export type Json = Record<string, unknown>;

export const obj = (v: unknown): Json =>
	v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {};
export const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
export const str = (v: unknown): string => (typeof v === 'string' ? v : '');

/** The lines that are there, joined: an absent subject or caption leaves no empty line. */
export const lines = (...parts: Array<string | undefined | false>) =>
	parts.filter((p): p is string => typeof p === 'string' && p !== '').join('\n');

/** The request of an HTTP-built message (WhatsApp, Messenger, Instagram, SMS), else nothing. */
export function httpRequest(built: BuiltRequest): HttpRequestSpec | undefined {
	return built.kind === 'http' ? built.request : undefined;
}

/** Answers to pick, as a person sees them under the text: "[Yes] [No]". */
export const buttons = (titles: string[]) =>
	titles.length ? titles.map((t) => `[${t}]`).join(' ') : undefined;
