/**
 * One message of one person, one step of their session: cancel, start (or not), re-ask an answer
 * the form cannot read, take a valid one (a consent answer becomes a consent event), ask the next
 * question or complete. Steps of one run share the sessions, so two messages of one person are
 * two steps of one session.
 */
import type { IDataObject, INodeExecutionData } from 'n8n-workflow';

import { isChannel, type Channel, type Contact } from '../../shared/contact';
import type { ConsentEventInput, ContactAddress, FormSession } from '../../shared/domain';
import {
	askText,
	nextQuestion,
	normaliseAnswer,
	understandable,
	type Question,
} from '../../shared/form/form';
import { channelBookAddress } from '../../shared/people';
import type { FormSettings } from './settings';
import type { Reader } from './understand';

/** The sender's addresses on a trigger event (its `contact`), as a Contact for the channel rules. */
function chatContact(id: string, raw: unknown): Contact {
	const from = (raw && typeof raw === 'object' ? raw : {}) as IDataObject;
	const text = (v: unknown) =>
		typeof v === 'string' && v !== '' && v.length <= 128 ? v : undefined;
	return {
		id,
		phone: text(from.phone),
		whatsappId: text(from.whatsappId) ?? text(from.businessScopedUserId),
		psid: text(from.psid),
		instagramId: text(from.instagramId),
	};
}

/**
 * Quick replies only where Touchpoint sends them (Messenger, Instagram). A WhatsApp text has no
 * buttons: there the choices are numbered in the text and a number is a valid answer.
 */
const quickRepliesOk = (c: unknown) => c === 'messenger' || c === 'instagram';

export class FormRun {
	readonly ask: INodeExecutionData[] = [];
	readonly completed: INodeExecutionData[] = [];
	readonly cancelled: INodeExecutionData[] = [];
	readonly notStarted: INodeExecutionData[] = [];
	readonly changed = new Set<string>();
	readonly consent: ConsentEventInput[] = [];
	readonly consentAddress: Array<ContactAddress | undefined> = [];
	/** Each person's session of this form, as stored and as this run's steps change it. */
	readonly sessions = new Map<string, FormSession>();

	constructor(
		private readonly settings: FormSettings,
		private readonly reader: Reader | undefined,
		private readonly now: number,
	) {}

	async step(item: INodeExecutionData, i: number, id: string): Promise<void> {
		const { textOf, cancelWords, expiryMs } = this.settings;
		const text = String(textOf(item.json) ?? '');
		const s = this.sessions.get(id);
		const live = s && s.status === 'active' && this.now - s.updatedAt <= expiryMs;
		const isCancel =
			item.json.keyword === 'stop' || cancelWords.includes(text.trim().toLowerCase());
		if (live && isCancel) return this.cancel(item, i, id, s);
		if (!live) return this.begin(item, i, id, isCancel);
		await this.answer(item, i, id, s!, text);
	}

	private save(id: string, s: FormSession): FormSession {
		this.sessions.set(id, s);
		this.changed.add(id);
		return s;
	}

	private askOut(
		item: INodeExecutionData,
		i: number,
		q: Question,
		prefix: string | undefined,
		session: FormSession,
	): void {
		const m = askText(q, quickRepliesOk(this.settings.channelOf(item.json)));
		this.ask.push({
			json: {
				...item.json,
				form: {
					name: this.settings.form,
					step: q.key,
					answers: session.answers,
					resumed: prefix === undefined && session.startedAt !== this.now,
				},
				reply: {
					text: prefix ? `${prefix}\n${m.text}` : m.text,
					quickReplies: m.quickReplies,
					question: prefix ? `${prefix}\n${m.question}` : m.question,
					choices: m.choices,
				},
			},
			pairedItem: { item: i },
		});
	}

	private cancel(item: INodeExecutionData, i: number, id: string, s: FormSession | undefined) {
		const answers = s
			? this.save(id, { ...s, status: 'cancelled', updatedAt: this.now }).answers
			: {};
		this.cancelled.push({
			json: {
				...item.json,
				form: {
					name: this.settings.form,
					answers,
					cancelledAt: new Date(this.now).toISOString(),
				},
			},
			pairedItem: { item: i },
		});
	}

	private begin(item: INodeExecutionData, i: number, id: string, isCancel: boolean): void {
		if (!this.settings.starts(item.json)) {
			this.notStarted.push({ json: { ...item.json }, pairedItem: { item: i } });
			return;
		}
		if (isCancel) return this.cancel(item, i, id, undefined);
		const first = nextQuestion(this.settings.questions, {})!;
		const s = this.save(id, {
			status: 'active',
			step: first.key,
			answers: {},
			startedAt: this.now,
			updatedAt: this.now,
		});
		this.askOut(item, i, first, undefined, s);
	}

	private async answer(
		item: INodeExecutionData,
		i: number,
		id: string,
		s: FormSession,
		text: string,
	): Promise<void> {
		const { questions, zone, fields, payloadOf } = this.settings;
		const raw = payloadOf(item.json);
		const payload = raw === undefined || raw === null ? undefined : String(raw);
		const q = questions.find((x) => x.key === s.step) ?? nextQuestion(questions, s.answers)!;
		const typed = {
			zone,
			now: this.now,
			defaultCountry: String(fields.defaultCountry ?? '') || undefined,
		};
		let answer = normaliseAnswer(q, text, payload, typed);
		let understood: IDataObject | undefined;
		if (!answer.ok && this.reader && text.trim() && understandable(q)) {
			const got = await this.reader.extract(q, text);
			const read = got.value === null ? undefined : normaliseAnswer(q, got.value, undefined, typed);
			understood = {
				question: q.key,
				raw: text,
				value: got.value,
				accepted: !!read?.ok,
				usage: got.usage,
			};
			if (read?.ok) answer = read;
		}
		if (!answer.ok) {
			this.askOut(item, i, q, q.reAsk || undefined, this.save(id, { ...s, updatedAt: this.now }));
			const last = this.ask[this.ask.length - 1];
			last.json.form = {
				...(last.json.form as IDataObject),
				invalid: answer.problem,
				...(understood ? { understood } : {}),
			};
			return;
		}
		this.takeConsent(item, id, q, answer.value, text);
		this.advance(item, i, id, s, q, { ...s.answers, [q.key]: answer.value }, understood);
	}

	/** The consent covers the address the person answered from (the chat's phone, PSID or Instagram id). */
	private takeConsent(
		item: INodeExecutionData,
		id: string,
		q: Question,
		value: unknown,
		text: string,
	): void {
		const channel = this.settings.channelOf(item.json);
		if (!q.consent || typeof value !== 'boolean' || !isChannel(channel)) return;
		const address = channelBookAddress(chatContact(id, item.json.contact), channel as Channel);
		this.consentAddress.push(address);
		this.consent.push({
			contactId: id,
			channel: channel as Channel,
			purpose: q.consentPurpose ?? 'marketing',
			address: address?.value,
			action: value ? 'grant' : 'withdraw',
			evidence: {
				source: `conversational-form:${this.settings.form}`,
				wording: q.text,
				actor: 'contact',
				extra: { answer: text },
			},
			occurredAt: this.now,
		});
	}

	private advance(
		item: INodeExecutionData,
		i: number,
		id: string,
		s: FormSession,
		q: Question,
		answers: Record<string, unknown>,
		understood: IDataObject | undefined,
	): void {
		const next = nextQuestion(this.settings.questions, answers, q.key);
		let out: INodeExecutionData[];
		if (next) {
			const saved = this.save(id, { ...s, step: next.key, answers, updatedAt: this.now });
			this.askOut(item, i, next, undefined, saved);
			out = this.ask;
		} else {
			const done = this.save(id, {
				...s,
				status: 'completed',
				step: undefined,
				answers,
				updatedAt: this.now,
			});
			this.completed.push({
				json: {
					...item.json,
					form: {
						name: this.settings.form,
						answers,
						startedAt: new Date(done.startedAt).toISOString(),
						completedAt: new Date(this.now).toISOString(),
					},
				},
				pairedItem: { item: i },
			});
			out = this.completed;
		}
		// What the model read from the person's words travels with the next output item.
		if (understood && out.length)
			out[out.length - 1].json.form = {
				...(out[out.length - 1].json.form as IDataObject),
				understood,
			};
	}
}
