/**
 * Where an item's outcome is written: Sent, Not Sent or Dry Run, each the input item with a
 * `touchpoint` object beside its fields and paired to it. One place, so every outcome has one shape.
 */
import type { IDataObject, INodeExecutionData } from 'n8n-workflow';

import { resultFirst } from '../../shared/n8n/result-first';

export class Outcomes {
	constructor(
		private readonly items: INodeExecutionData[],
		readonly sent: INodeExecutionData[] = [],
		readonly notSent: INodeExecutionData[] = [],
		readonly previews: INodeExecutionData[] = [],
	) {}

	private item(i: number, touchpoint: IDataObject): INodeExecutionData {
		return { json: resultFirst({ touchpoint }, this.items[i].json), pairedItem: { item: i } };
	}

	sentItem(i: number, touchpoint: IDataObject): void {
		this.sent.push(this.item(i, { status: 'sent', ...touchpoint }));
	}

	/** A send that already went (this run or an earlier one): the same message, not sent again. */
	alreadySent(i: number, channel: string, idempotencyKey: string, more: IDataObject = {}): void {
		this.sentItem(i, { channel, idempotencyKey, deduplicated: true, ...more });
	}

	notSentItem(i: number, info: IDataObject): void {
		this.notSent.push(this.item(i, { status: 'not_sent', ...info }));
	}

	/** A Dry Run: the message as the person would read it first, then what would be sent. */
	preview(i: number, reads: string, touchpoint: IDataObject): void {
		this.previews.push({
			json: resultFirst(
				{ preview: reads, touchpoint: { status: 'dry_run', ...touchpoint } },
				this.items[i].json,
			),
			pairedItem: { item: i },
		});
	}

	/** An item that could not be read (continue-on-fail): the error beside its fields, on Not Sent. */
	itemError(i: number, message: string, description?: string): void {
		this.notSent.push({
			json: resultFirst(
				{ error: message, ...(description ? { description } : {}) },
				this.items[i].json,
			),
			pairedItem: { item: i },
		});
	}

	/** Appends another's items, in order (a wave's, once every wave is done). */
	append(other: Outcomes): void {
		for (const item of other.sent) this.sent.push(item);
		for (const item of other.notSent) this.notSent.push(item);
		for (const item of other.previews) this.previews.push(item);
	}
}
