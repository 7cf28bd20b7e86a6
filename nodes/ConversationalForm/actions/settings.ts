/**
 * The form as its parameters define it, read once per execution: the questions (checked), the
 * fields of a trigger event it reads, when a new session starts, and the words that cancel one.
 */
import {
	NodeOperationError,
	type IDataObject,
	type IExecuteFunctions,
	type INode,
} from 'n8n-workflow';

import { compileFieldPath } from '../../shared/field-path';
import { parseChoices, type Question } from '../../shared/form/form';
import { isValidZone } from '../../shared/policy';

export interface FormSettings {
	form: string;
	questions: Question[];
	fields: IDataObject;
	zone: string;
	idOf: (json: IDataObject) => unknown;
	textOf: (json: IDataObject) => unknown;
	payloadOf: (json: IDataObject) => unknown;
	channelOf: (json: IDataObject) => unknown;
	expiryMs: number;
	/** Start When is Field Matches: a new session starts only on a matching item (Not Started). */
	conditional: boolean;
	starts: (json: IDataObject) => boolean;
	cancelWords: string[];
}

export function readFormSettings(fn: IExecuteFunctions): FormSettings {
	const node = fn.getNode();
	const form = String(fn.getNodeParameter('formName', 0)).trim();
	const questions = readQuestions(fn, node);
	const fields = fn.getNodeParameter('fields', 0, {}) as IDataObject;
	const zone = String(fields.timeZone ?? 'UTC');
	if (!isValidZone(zone))
		throw new NodeOperationError(node, `Time Zone "${zone}" is not a valid IANA time zone`);
	const idOf = compileFieldPath(String(fields.contactIdField ?? 'contactId'));
	const textOf = compileFieldPath(String(fields.textField ?? 'text'));
	const payloadOf = compileFieldPath(String(fields.payloadField ?? 'payload'));
	const channelOf = compileFieldPath(String(fields.channelField ?? 'channel'));
	const expiryMs = Number(fn.getNodeParameter('expiryHours', 0, 24)) * 3600_000;
	const { conditional, starts } = startCondition(fn);
	const cancelWords = String(fn.getNodeParameter('cancelWords', 0, ''))
		.split(',')
		.map((w) => w.trim().toLowerCase())
		.filter(Boolean);
	return {
		form,
		questions,
		fields,
		zone,
		idOf,
		textOf,
		payloadOf,
		channelOf,
		expiryMs,
		conditional,
		starts,
		cancelWords,
	};
}

function readQuestions(fn: IExecuteFunctions, node: INode): Question[] {
	const raw =
		((fn.getNodeParameter('questions', 0, {}) as IDataObject).question as
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
			throw new NodeOperationError(node, `Question "${key}" is a choice question without Choices`, {
				description: 'List the choices, comma-separated.',
			});
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
	return questions;
}

function startCondition(fn: IExecuteFunctions): {
	conditional: boolean;
	starts: (json: IDataObject) => boolean;
} {
	const startWhen = String(fn.getNodeParameter('startWhen', 0, 'always'));
	const startOf =
		startWhen === 'fieldMatches'
			? compileFieldPath(String(fn.getNodeParameter('startField', 0, 'classification.intent')))
			: undefined;
	if (!startOf) return { conditional: false, starts: () => true };
	const startValues = String(fn.getNodeParameter('startValues', 0, ''))
		.split(',')
		.map((v) => v.trim().toLowerCase())
		.filter(Boolean);
	const starts = (json: IDataObject) => {
		const v = startOf(json);
		if (startValues.length === 0) return v !== undefined && v !== null && v !== '' && v !== false;
		return startValues.includes(
			String(v ?? '')
				.trim()
				.toLowerCase(),
		);
	};
	return { conditional: true, starts };
}
