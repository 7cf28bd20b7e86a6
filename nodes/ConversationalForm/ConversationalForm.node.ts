import type {
	IDataObject,
	IExecuteFunctions,
	INodeExecutionData,
	INodeType,
	INodeTypeDescription,
} from 'n8n-workflow';
import { NodeConnectionTypes, NodeOperationError } from 'n8n-workflow';

import { isChannel, type Channel, type Contact } from '../shared/contact';
import { answerText, jsonFromAnswer, jsonInstruction } from '../shared/ai/model-json';
import {
	askText,
	EXTRACTION_SCHEMA,
	extractionMessages,
	nextQuestion,
	normaliseAnswer,
	parseChoices,
	understandable,
	type Question,
} from '../shared/form/form';
import { compileFieldPath } from '../shared/field-path';
import { toolAware } from '../shared/n8n/tool-mode';
import { convergentStoreApiTest, getStore } from '../shared/n8n/store';
import { channelBookAddress, personIdsOf, resolvePeople } from '../shared/people';
import { isValidZone } from '../shared/policy';
import type { ConsentEventInput, ContactAddress, FormSession } from '../shared/store/types';

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

export class ConversationalForm implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Conversational Form',
		name: 'conversationalForm',
		icon: { light: 'file:conversationalForm.svg', dark: 'file:conversationalForm.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: '={{$parameter["formName"]}}',
		description: 'Run a form as a chat over any channel: lead capture, bookings, surveys',
		defaults: { name: 'Conversational Form' },
		usableAsTool: true,
		// Optional: a Chat Model sub-node reads free-text answers (Understand Free Text).
		inputs: [
			NodeConnectionTypes.Main,
			{
				type: NodeConnectionTypes.AiLanguageModel,
				displayName: 'Chat Model',
				maxConnections: 1,
				required: false,
			},
		],
		// A fourth output only when new sessions start on a condition (e.g. an AI Classify intent).
		outputs: `={{ [{ "type": "main", "displayName": "Ask" }, { "type": "main", "displayName": "Completed" }, { "type": "main", "displayName": "Cancelled" }].concat($parameter.startWhen === "fieldMatches" ? [{ "type": "main", "displayName": "Not Started" }] : []) }}`,
		credentials: [
			{ name: 'convergentStoreApi', required: false, testedBy: 'convergentStoreApiTest' },
		],
		properties: [
			{
				displayName: 'Form Name',
				name: 'formName',
				type: 'string',
				default: 'Lead Capture',
				required: true,
				description: 'Sessions are kept per form and contact',
			},
			{
				displayName: 'Questions',
				name: 'questions',
				type: 'fixedCollection',
				typeOptions: { multipleValues: true, sortable: true },
				placeholder: 'Add Question',
				default: {},
				options: [
					{
						displayName: 'Question',
						name: 'question',
						values: [
							{
								displayName: 'Ask Only If Answer Is',
								name: 'askIfValue',
								type: 'string',
								default: '',
							},
							{
								displayName: 'Ask Only If Answer To',
								name: 'askIfKey',
								type: 'string',
								default: '',
								description: 'Key of an earlier question (skip logic)',
							},
							{
								displayName: 'Choices',
								name: 'choices',
								type: 'string',
								default: '',
								placeholder: 'madrid:Madrid Centro, bcn:Barcelona',
								description: 'For choice questions:\tlabels or ID:label pairs, comma-separated',
							},
							{
								displayName: 'Consent Purpose',
								name: 'consentPurpose',
								type: 'options',
								options: [
									{
										name: 'Marketing',
										value: 'marketing',
										description: 'Offers and news',
									},
									{
										name: 'Service',
										value: 'service',
										description:
											'Reminders and updates the person asked for, e.g. an appointment reminder',
									},
								],
								default: 'marketing',
								description: "What a consent question's yes/no is recorded for",
							},
							{
								displayName: 'Is Consent Question',
								name: 'consent',
								type: 'boolean',
								default: false,
								description:
									'Whether a yes/no answer records consent on this channel (for the Consent Purpose), with the question as evidence',
							},
							{
								displayName: 'Key',
								name: 'key',
								type: 'string',
								default: '',
								placeholder: 'email',
								description: 'Name of the answer in the output',
							},
							{
								displayName: 'Question',
								name: 'text',
								type: 'string',
								default: '',
								placeholder: 'What is your email?',
							},
							{
								displayName: 'Re-Ask Message',
								name: 'reAsk',
								type: 'string',
								default: 'Sorry, I did not get that.',
								description: 'Sent before the question again when an answer is not valid',
							},
							{
								displayName: 'Type',
								name: 'type',
								type: 'options',
								options: [
									{
										name: 'Date',
										value: 'date',
									},
									{
										name: 'Date and Time',
										value: 'dateTime',
									},
									{
										name: 'Email',
										value: 'email',
									},
									{
										name: 'Multiple Choice',
										value: 'multipleChoice',
									},
									{
										name: 'Number',
										value: 'number',
									},
									{
										name: 'Phone',
										value: 'phone',
									},
									{
										name: 'Single Choice',
										value: 'singleChoice',
									},
									{
										name: 'Text',
										value: 'text',
									},
									{
										name: 'Time',
										value: 'time',
									},
									{
										name: 'Yes	/	No',
										value: 'yesNo',
									},
								],
								default: 'text',
							},
						],
					},
				],
			},
			{
				displayName: 'Start New Sessions',
				name: 'startWhen',
				type: 'options',
				options: [
					{
						name: 'On Any Message',
						value: 'always',
						description: 'Every message from a contact without an open session starts the form',
					},
					{
						name: 'When a Field Matches',
						value: 'fieldMatches',
						description:
							'Only messages whose field has one of the values start it (e.g. an AI Classify intent); others go to Not Started',
					},
				],
				default: 'always',
				description: 'Messages from contacts with an open session always continue it',
			},
			{
				displayName: 'Start Field',
				name: 'startField',
				requiresDataPath: 'single',
				type: 'string',
				default: 'classification.intent',
				description: 'Path to the value that decides whether a new session starts',
				displayOptions: { show: { startWhen: ['fieldMatches'] } },
			},
			{
				displayName: 'Start Values',
				name: 'startValues',
				type: 'string',
				default: 'book',
				description:
					'Values that start the form, comma-separated (case-insensitive). Empty: any value other than empty or false.',
				displayOptions: { show: { startWhen: ['fieldMatches'] } },
			},
			{
				displayName: 'Session Expires After (Hours)',
				name: 'expiryHours',
				type: 'number',
				default: 24,
				description: 'A session idle longer than this starts over',
			},
			{
				displayName: 'Understand Free Text',
				name: 'understandFreeText',
				type: 'boolean',
				default: false,
				description:
					'Whether an answer the form cannot read as typed ("my email is ana at gmail dot com", "next Tuesday after 5pm") is read by the connected Chat Model into the question\'s type, then checked like a typed answer. At most one model call per answer; the person\'s words are kept. Never for a consent question.',
			},
			{
				displayName: 'Cancel Words',
				name: 'cancelWords',
				type: 'string',
				default: 'cancel, cancelar, stop, salir, quit',
				description: 'Whole-message words that end the session (STOP-family keywords always do)',
			},
			{
				displayName: 'Fields',
				name: 'fields',
				type: 'collection',
				placeholder: 'Change field path',
				default: {},
				description:
					'Where the inbound event keeps its parts (defaults fit Touchpoint Trigger events)',
				options: [
					{
						displayName: 'Channel Field',
						name: 'channelField',
						type: 'string',
						requiresDataPath: 'single',
						default: 'channel',
					},
					{
						displayName: 'Contact ID Field',
						name: 'contactIdField',
						type: 'string',
						requiresDataPath: 'single',
						default: 'contactId',
					},
					{
						displayName: 'Default Country',
						name: 'defaultCountry',
						type: 'string',
						default: '',
						placeholder: 'ES',
						description: 'For phone answers without a country code',
					},
					{
						displayName: 'Payload Field',
						name: 'payloadField',
						type: 'string',
						requiresDataPath: 'single',
						default: 'payload',
						description: 'Quick-reply / button payload',
					},
					{
						displayName: 'Text Field',
						name: 'textField',
						type: 'string',
						requiresDataPath: 'single',
						default: 'text',
					},
					{
						displayName: 'Time Zone',
						name: 'timeZone',
						type: 'string',
						default: 'UTC',
						description: 'Dates and times are read in this zone',
					},
				],
			},
		],
	};

	methods = { credentialTest: { convergentStoreApiTest } };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const items = this.getInputData();
		const node = this.getNode();
		const form = String(this.getNodeParameter('formName', 0)).trim();
		const raw =
			((this.getNodeParameter('questions', 0, {}) as IDataObject).question as
				| IDataObject[]
				| undefined) ?? [];
		const questions: Question[] = raw.map((q, i) => {
			const key = String(q.key ?? '').trim();
			if (!key)
				throw new NodeOperationError(node, `Question ${i + 1} has no Key`, {
					description: 'Give every question a key, e.g. email.',
				});
			const type = String(q.type) as Question['type'];
			const choices = parseChoices(String(q.choices ?? ''));
			if ((type === 'singleChoice' || type === 'multipleChoice') && choices.length === 0) {
				throw new NodeOperationError(
					node,
					`Question "${key}" is a choice question without Choices`,
					{ description: 'List the choices, comma-separated.' },
				);
			}
			return {
				key,
				text: String(q.text ?? ''),
				type,
				choices,
				required: true,
				reAsk: String(q.reAsk ?? ''),
				askIfKey: String(q.askIfKey ?? '') || undefined,
				askIfValue: String(q.askIfValue ?? '') || undefined,
				consent: q.consent === true,
				consentPurpose: q.consentPurpose === 'service' ? 'service' : 'marketing',
			};
		});
		if (questions.length === 0)
			throw new NodeOperationError(node, 'The form has no questions', {
				description: 'Add at least one question.',
			});
		const fields = this.getNodeParameter('fields', 0, {}) as IDataObject;
		const zone = String(fields.timeZone ?? 'UTC');
		if (!isValidZone(zone))
			throw new NodeOperationError(node, `Time Zone "${zone}" is not a valid IANA time zone`);
		const idOf = compileFieldPath(String(fields.contactIdField ?? 'contactId'));
		const textOf = compileFieldPath(String(fields.textField ?? 'text'));
		const payloadOf = compileFieldPath(String(fields.payloadField ?? 'payload'));
		const channelOf = compileFieldPath(String(fields.channelField ?? 'channel'));
		const expiryMs = Number(this.getNodeParameter('expiryHours', 0, 24)) * 3600_000;
		const startWhen = String(this.getNodeParameter('startWhen', 0, 'always'));
		const startOf =
			startWhen === 'fieldMatches'
				? compileFieldPath(String(this.getNodeParameter('startField', 0, 'classification.intent')))
				: undefined;
		const startValues = startOf
			? String(this.getNodeParameter('startValues', 0, ''))
					.split(',')
					.map((v) => v.trim().toLowerCase())
					.filter(Boolean)
			: [];
		const starts = (json: IDataObject) => {
			if (!startOf) return true;
			const v = startOf(json);
			if (startValues.length === 0) return v !== undefined && v !== null && v !== '' && v !== false;
			return startValues.includes(
				String(v ?? '')
					.trim()
					.toLowerCase(),
			);
		};
		const cancelWords = String(this.getNodeParameter('cancelWords', 0, ''))
			.split(',')
			.map((w) => w.trim().toLowerCase())
			.filter(Boolean);

		// Free-text answers read by a model: only with the option on, and then a model is needed.
		const understand = this.getNodeParameter('understandFreeText', 0, false) === true;
		const connected = understand
			? await this.getInputConnectionData(NodeConnectionTypes.AiLanguageModel, 0)
			: undefined;
		const model = (Array.isArray(connected) ? connected[0] : connected) as
			| {
					invoke(m: Array<{ role: string; content: string }>): Promise<{
						content: unknown;
						usage_metadata?: { input_tokens?: number; output_tokens?: number };
					}>;
					_llmType?(): string;
					model?: string;
					modelName?: string;
			  }
			| undefined;
		const spent = { calls: 0, inputTokens: 0, outputTokens: 0 };
		if (understand && !model) {
			throw new NodeOperationError(
				node,
				'Understand Free Text is on but no Chat Model is connected',
				{
					description:
						"Connect a Chat Model sub-node (OpenAI, Anthropic, Gemini, Ollama...) to the node's Chat Model input, or turn the option off.",
				},
			);
		}
		const extract = async (
			q: Question,
			text: string,
		): Promise<{
			value: string | null;
			usage: { calls: number; inputTokens: number; outputTokens: number };
		}> => {
			const [system, user] = extractionMessages(q, text, { zone, now });
			const res = await model!.invoke([
				{
					role: 'system',
					content: `${system.content}\n\n${jsonInstruction(EXTRACTION_SCHEMA as unknown as Record<string, unknown>)}`,
				},
				user,
			]);
			const usage = {
				calls: 1,
				inputTokens: res.usage_metadata?.input_tokens ?? 0,
				outputTokens: res.usage_metadata?.output_tokens ?? 0,
			};
			spent.calls++;
			spent.inputTokens += usage.inputTokens;
			spent.outputTokens += usage.outputTokens;
			try {
				const data = jsonFromAnswer(answerText(res.content)) as { value?: unknown };
				return {
					value: typeof data?.value === 'string' && data.value.trim() ? data.value.trim() : null,
					usage,
				};
			} catch {
				// An answer the model could not put in the format is asked again, as a typed one would be.
				return { value: null, usage };
			}
		};

		const store = await getStore(this);
		const ask: INodeExecutionData[] = [];
		// One bad item is that item's error (continue-on-fail: on Ask, without a reply, so nothing is
		// sent for it), never the batch's.
		const itemError = (i: number, error: unknown) => {
			const e =
				error instanceof NodeOperationError
					? error
					: new NodeOperationError(node, error as Error, { itemIndex: i });
			if (!this.continueOnFail()) throw e;
			ask.push({
				json: {
					...items[i].json,
					error: e.message,
					...(e.description ? { description: e.description } : {}),
				},
				pairedItem: { item: i },
			});
		};
		const ids = items.map((item, i) => {
			const id = idOf(item.json);
			if (id === undefined || id === null || id === '' || String(id).length > 256) {
				itemError(
					i,
					new NodeOperationError(
						node,
						`No contact ID at "${fields.contactIdField ?? 'contactId'}" (found ${JSON.stringify(id)?.slice(0, 60) ?? 'nothing'})`,
						{
							itemIndex: i,
							description: 'Feed the form Touchpoint Trigger events, or set Contact ID Field.',
						},
					),
				);
				return undefined;
			}
			return String(id);
		});
		// One session per person, whichever channel or id they write from.
		const personOf = await personIdsOf(
			store,
			ids.filter((id): id is string => id !== undefined),
		);
		ids.forEach((id, i) => {
			if (id !== undefined) ids[i] = personOf.get(id) ?? id;
		});
		const sessions = await store.getFormSessions(
			form,
			ids.filter((id): id is string => id !== undefined),
		);
		const completed: INodeExecutionData[] = [];
		const cancelled: INodeExecutionData[] = [];
		const notStarted: INodeExecutionData[] = [];
		const changed = new Set<string>();
		const consent: ConsentEventInput[] = [];
		const consentAddress: Array<ContactAddress | undefined> = [];
		const now = Date.now();
		// Quick replies only where Touchpoint sends them (Messenger, Instagram). A WhatsApp text has no
		// buttons: there the choices are numbered in the text and a number is a valid answer.
		const quickRepliesOk = (c: unknown) => c === 'messenger' || c === 'instagram';

		// In order: two messages of one person are two steps of one session.
		for (const [i, item] of items.entries()) {
			const id = ids[i];
			if (id === undefined) continue;
			try {
				await step(item, i, id);
			} catch (error) {
				itemError(i, error);
			}
		}
		async function step(item: INodeExecutionData, i: number, id: string) {
			const text = String(textOf(item.json) ?? '');
			const payload =
				payloadOf(item.json) === undefined || payloadOf(item.json) === null
					? undefined
					: String(payloadOf(item.json));
			const channel = channelOf(item.json);
			let s = sessions.get(id);
			const live = s && s.status === 'active' && now - s.updatedAt <= expiryMs;
			const askOut = (q: Question, prefix: string | undefined, session: FormSession) => {
				const m = askText(q, quickRepliesOk(channel));
				ask.push({
					json: {
						...item.json,
						form: {
							name: form,
							step: q.key,
							answers: session.answers,
							resumed: prefix === undefined && session.startedAt !== now,
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
			};
			const isCancel =
				item.json.keyword === 'stop' || cancelWords.includes(text.trim().toLowerCase());
			if (live && isCancel) {
				s = { ...s!, status: 'cancelled', updatedAt: now };
				sessions.set(id, s);
				changed.add(id);
				cancelled.push({
					json: {
						...item.json,
						form: { name: form, answers: s.answers, cancelledAt: new Date(now).toISOString() },
					},
					pairedItem: { item: i },
				});
				return;
			}
			if (!live) {
				if (!starts(item.json)) {
					notStarted.push({ json: { ...item.json }, pairedItem: { item: i } });
					return;
				}
				if (isCancel) {
					cancelled.push({
						json: {
							...item.json,
							form: { name: form, answers: {}, cancelledAt: new Date(now).toISOString() },
						},
						pairedItem: { item: i },
					});
					return;
				}
				const first = nextQuestion(questions, {});
				s = { status: 'active', step: first!.key, answers: {}, startedAt: now, updatedAt: now };
				sessions.set(id, s);
				changed.add(id);
				askOut(first!, undefined, s);
				return;
			}
			const q = questions.find((x) => x.key === s!.step) ?? nextQuestion(questions, s!.answers)!;
			const typed = { zone, now, defaultCountry: String(fields.defaultCountry ?? '') || undefined };
			let answer = normaliseAnswer(q, text, payload, typed);
			let understood: IDataObject | undefined;
			if (!answer.ok && model && text.trim() && understandable(q)) {
				const got = await extract(q, text);
				const read =
					got.value === null ? undefined : normaliseAnswer(q, got.value, undefined, typed);
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
				s = { ...s!, updatedAt: now };
				sessions.set(id, s);
				changed.add(id);
				askOut(q, q.reAsk || undefined, s);
				ask[ask.length - 1].json.form = {
					...(ask[ask.length - 1].json.form as IDataObject),
					invalid: answer.problem,
					...(understood ? { understood } : {}),
				};
				return;
			}
			// What the model read from the person's words travels with the next output item.
			const withUnderstood = (out: INodeExecutionData[]) => {
				if (understood && out.length)
					out[out.length - 1].json.form = {
						...(out[out.length - 1].json.form as IDataObject),
						understood,
					};
			};
			const answers = { ...s!.answers, [q.key]: answer.value };
			if (q.consent && typeof answer.value === 'boolean' && isChannel(channel)) {
				// The consent covers the address the person answered from (the chat's phone, PSID or Instagram id).
				const address = channelBookAddress(chatContact(id, item.json.contact), channel as Channel);
				consentAddress.push(address);
				consent.push({
					contactId: id,
					channel: channel as Channel,
					purpose: q.consentPurpose ?? 'marketing',
					address: address?.value,
					action: answer.value ? 'grant' : 'withdraw',
					evidence: {
						source: `conversational-form:${form}`,
						wording: q.text,
						actor: 'contact',
						extra: { answer: text },
					},
					occurredAt: now,
				});
			}
			const next = nextQuestion(questions, answers, q.key);
			if (next) {
				s = { ...s!, step: next.key, answers, updatedAt: now };
				sessions.set(id, s);
				changed.add(id);
				askOut(next, undefined, s);
				withUnderstood(ask);
			} else {
				s = { ...s!, status: 'completed', step: undefined, answers, updatedAt: now };
				sessions.set(id, s);
				changed.add(id);
				completed.push({
					json: {
						...item.json,
						form: {
							name: form,
							answers,
							startedAt: new Date(s.startedAt).toISOString(),
							completedAt: new Date(now).toISOString(),
						},
					},
					pairedItem: { item: i },
				});
				withUnderstood(completed);
			}
		}
		if (changed.size)
			await store.saveFormSessions(
				form,
				[...changed].map((id) => ({ contactId: id, ...sessions.get(id)! })),
			);
		// What reading free text cost, with the form's name as its campaign (AI Content > Report AI Usage).
		if (spent.calls) {
			await store.recordAiUsage([
				{
					at: now,
					workflowId: String(this.getWorkflow().id ?? ''),
					executionId: String(this.getExecutionId() ?? ''),
					node: node.name,
					operation: 'understandFreeText',
					model: `${model!._llmType?.() ?? 'chat-model'}:${model!.model ?? model!.modelName ?? ''}`,
					campaign: `form:${form}`,
					items: items.length,
					cacheHits: 0,
					...spent,
				},
			]);
		}
		if (consent.length) {
			// The consent covers the chat's address only when that address is the person's (linked
			// here if nobody holds it); an address held by someone else is left out, so the grant
			// covers only what the person holds.
			const people = await resolvePeople(
				store,
				consent.map((e) => ({ id: e.contactId })),
				{
					create: true,
					link: true,
					source: `conversational-form:${form}`,
					addresses: (_c, k) => (consentAddress[k] ? [consentAddress[k]!] : []),
				},
			);
			people.forEach((p, k) => {
				if (p.error) delete consent[k].address;
			});
			await store.recordConsent(consent);
		}
		// Items leave in input order (error items were placed first).
		const inOrder = (out: INodeExecutionData[]) =>
			out.sort(
				(a, b) => (a.pairedItem as { item: number }).item - (b.pairedItem as { item: number }).item,
			);
		return toolAware(
			this,
			(startOf ? [ask, completed, cancelled, notStarted] : [ask, completed, cancelled]).map(
				inOrder,
			),
			['Ask', 'Completed', 'Cancelled', 'Not Started'],
		);
	}
}
