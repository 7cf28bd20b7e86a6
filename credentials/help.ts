/**
 * What each credential's dialog says before its fields: which of this package's nodes use it and
 * where each value is found (the README's credentials table, where a marketer needs it), and its
 * docs link to that table rather than to a provider's generic page.
 */
import type { INodeProperties } from 'n8n-workflow';

export const CREDENTIALS_DOCS =
	'https://github.com/convergent-marketing/n8n-nodes-convergent-marketing#credentials-where-each-value-comes-from';

/** A notice shown at the top of the credential dialog. */
export function helpNotice(text: string): INodeProperties {
	return { displayName: text, name: 'help', type: 'notice', default: '' };
}
