/**
 * What a marketer meets in the panels: options that do what they were added for, and a question's
 * fields in the order they are filled in.
 */
import type { INodeProperties } from 'n8n-workflow';

import { ConversationalForm } from '../../../nodes/ConversationalForm/ConversationalForm.node';
import { Journey } from '../../../nodes/Journey/Journey.node';
import { Touchpoint } from '../../../nodes/Touchpoint/Touchpoint.node';

const prop = (props: INodeProperties[], name: string) => props.find((p) => p.name === name)!;

describe('the panels', () => {
	it('a field-path collection says what its button does: it adds a path', () => {
		const contact = prop(new Touchpoint().description.properties, 'contactFields');
		const fields = prop(new ConversationalForm().description.properties, 'fields');
		expect([contact.placeholder, fields.placeholder]).toEqual(['Add Field Path', 'Add Field Path']);
		expect(contact.description).toContain('at the top of the item (email, phone');
	});

	it("Touchpoint's Dry Run is on when added (it is added to try a send)", () => {
		const options = prop(new Touchpoint().description.properties, 'options');
		const dryRun = (options.options as INodeProperties[]).find((o) => o.name === 'dryRun')!;
		expect(dryRun.default).toBe(true);
	});

	it('a Conversational Form question lists the question first, then its key and type, skip logic last', () => {
		const questions = prop(new ConversationalForm().description.properties, 'questions');
		const values = (questions.options as Array<{ values: INodeProperties[] }>)[0].values;
		expect(values.map((v) => v.displayName)).toEqual([
			'Question',
			'Key',
			'Type',
			'Choices',
			'Is Consent Question',
			'Consent Purpose',
			'Ask Only If Answer To',
			'Ask Only If Answer Is',
			'Re-Ask Message',
		]);
	});

	it('Pick A/B Winner shows what a test needs: no Stages, and the campaign in the subtitle', () => {
		const d = new Journey().description;
		expect(prop(d.properties, 'stages').displayOptions).toEqual({
			hide: { operation: ['campaignReport', 'pickWinner'] },
		});
		expect(d.subtitle).toContain(
			'$parameter["operation"] === "pickWinner" ? $parameter["abCampaign"]',
		);
	});
});
