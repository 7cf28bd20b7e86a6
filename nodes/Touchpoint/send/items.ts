/**
 * The read stage: each item's contact and channels, the files it sends from binary data, and the
 * person behind it. An item that cannot be read goes to Not Sent with its error (continue-on-fail)
 * or fails the node; the others go on.
 */
import {
	NodeOperationError,
	type IDataObject,
	type IExecuteFunctions,
	type INodeExecutionData,
} from 'n8n-workflow';

import type { Channel, Contact } from '../../shared/contact';
import { isToolCall } from '../../shared/n8n/tool-mode';
import {
	channelBookAddress,
	resolvePeople,
	withBookAddresses,
	type Person,
} from '../../shared/people';
import type { Store } from '../../shared/store/types';
import { isMediaType, type Attachment, type ItemFiles } from './message';
import { listOf, type MessageParams, type RunSettings } from './parameters';
import type { Outcomes } from './place';

/** An item on its way: its person and the channels still to try, with why earlier ones failed. */
export interface Pending {
	i: number;
	contact: Contact;
	person: Person;
	candidates: Channel[];
	ci: number;
	reasons: IDataObject[];
}

type Read = Omit<Pending, 'person'>;

export async function readPending(
	fn: IExecuteFunctions,
	settings: RunSettings,
	p: MessageParams,
	store: Store,
	files: ItemFiles,
	out: Outcomes,
): Promise<Pending[]> {
	const items = fn.getInputData();
	const itemError = (i: number, error: unknown) => {
		const e =
			error instanceof NodeOperationError
				? error
				: new NodeOperationError(fn.getNode(), (error as Error).message, {
						itemIndex: i,
						description: (error as { hint?: string }).hint,
					});
		if (!fn.continueOnFail()) throw e;
		out.itemError(i, e.message, e.description ?? undefined);
	};
	const read: Read[] = [];
	for (let i = 0; i < items.length; i++) {
		try {
			read.push({
				i,
				contact: settings.readContact(items[i].json),
				candidates: settings.priorityOf(i),
				ci: 0,
				reasons: [],
			});
		} catch (error) {
			itemError(i, error);
		}
	}
	// An agent (Touchpoint as a tool) names the person by ID alone: the contact book gives their addresses.
	if (isToolCall(fn)) {
		const filled = await withBookAddresses(
			store,
			read.map((r) => r.contact),
		);
		read.forEach((r, j) => {
			r.contact = filled[j];
		});
	}
	for (const r of [...read]) {
		try {
			await readFiles(fn, items, p, r, files);
		} catch (error) {
			read.splice(read.indexOf(r), 1);
			itemError(r.i, error);
		}
	}
	return await withPeople(fn, settings, store, read, itemError);
}

/** Email attachments and WhatsApp media sent from binary data (uploaded once per file when sent). */
async function readFiles(
	fn: IExecuteFunctions,
	items: INodeExecutionData[],
	p: MessageParams,
	r: Read,
	files: ItemFiles,
): Promise<void> {
	const names = listOf(p.attachments(r.i));
	const mediaFromBinary =
		r.candidates.includes('whatsapp') &&
		isMediaType(p.whatsappType(r.i)) &&
		p.mediaSource(r.i) === 'binary';
	if (!mediaFromBinary && (!names.length || !r.candidates.includes('email'))) return;
	const binaryFile = async (name: string, field: string): Promise<Attachment> => {
		const meta = items[r.i].binary?.[name];
		if (!meta)
			throw new NodeOperationError(
				fn.getNode(),
				`No binary property "${name}" on the item for ${field}`,
				{
					itemIndex: r.i,
					description: `The item's binary properties are: ${Object.keys(items[r.i].binary ?? {}).join(', ') || 'none'}.`,
				},
			);
		return {
			filename: meta.fileName ?? name,
			contentType: meta.mimeType,
			content: await fn.helpers.getBinaryDataBuffer(r.i, name),
		};
	};
	if (names.length && r.candidates.includes('email'))
		files.attachments.set(
			r.i,
			await Promise.all(names.map(async (name) => await binaryFile(name, 'Attachments'))),
		);
	if (mediaFromBinary) {
		const name = String(p.binaryPropertyName(r.i) || 'data').trim();
		const f = await binaryFile(name, 'Input Binary Field');
		files.media.set(r.i, { filename: f.filename, mimeType: f.contentType, content: f.content });
	}
}

/**
 * The person behind each item: caps and windows count per person, and a message goes only to an
 * address that is theirs. An id and an address of two different people is an error.
 */
async function withPeople(
	fn: IExecuteFunctions,
	settings: RunSettings,
	store: Store,
	read: Read[],
	itemError: (i: number, error: unknown) => void,
): Promise<Pending[]> {
	const people = await resolvePeople(
		store,
		read.map((r) => r.contact),
		{
			idField: settings.mapping.idField,
			// The addresses this node may use: the channel's, or each candidate's of Best Available.
			addresses: (c, j) =>
				read[j].candidates
					.map((ch) => channelBookAddress(c, ch))
					.filter((a): a is NonNullable<typeof a> => !!a),
		},
	);
	const pending: Pending[] = [];
	read.forEach((r, j) => {
		const person = people[j];
		if (person.error)
			itemError(
				r.i,
				new NodeOperationError(fn.getNode(), person.error.message, {
					itemIndex: r.i,
					description: person.error.hint,
				}),
			);
		else pending.push({ ...r, contact: person.contact, person });
	});
	return pending;
}
