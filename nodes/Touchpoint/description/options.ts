/** Options: Dry Run, pacing, retries, deadlines, idempotency and the policy switches. */
import type { INodeProperties } from 'n8n-workflow';

export const optionsProperty: INodeProperties = {
	displayName: 'Options',
	name: 'options',
	type: 'collection',
	placeholder: 'Add option',
	default: {},
	options: [
		{
			displayName: 'Allow Address Not Linked to the Contact',
			name: 'allowUnlinkedAddress',
			type: 'boolean',
			default: false,
			description:
				'Whether a transactional message may go to an address the contact book does not link to the person (e.g. an order confirmation to the email typed at checkout). Sent items then show touchpoint.addressLinked: false. Marketing never: consent covers the address it was given for.',
		},
		{
			displayName: 'Concurrency',
			name: 'concurrency',
			type: 'number',
			default: 0,
			description:
				'Requests in flight at once (the rate limit still applies). 0 = automatic: enough for up to 2 s of provider latency at the rate limit (at least 20, at most 200).',
		},
		{
			displayName: 'Dry Run',
			name: 'dryRun',
			type: 'boolean',
			// On when added: a marketer adds it to try a send, not to turn it off.
			default: true,
			description:
				"Whether to build and validate the exact requests and return them on a third output, Dry Run (secrets redacted), without sending or logging anything as sent. Works without the channel's credential: the preview then shows where its sender values go. Read once per run: an expression such as {{ $('Try It').isExecuted }} makes every run started by that trigger a dry run, and the node keeps its Dry Run output.",
		},
		{
			displayName: 'Idempotency Key Field',
			name: 'idempotencyKeyField',
			type: 'string',
			requiresDataPath: 'single',
			default: '',
			description:
				'Path to your own key per message. Default: the Consent Guard reservation, else a hash of contact, campaign, channel and content.',
		},
		{
			displayName: 'Max Retries',
			name: 'maxRetries',
			type: 'number',
			default: 5,
			description:
				'Retries on rate limits, 5xx and connection errors, with exponential backoff and Retry-After',
		},
		{
			displayName: 'Max SMS Segments',
			name: 'maxSegments',
			type: 'number',
			default: 3,
			description: 'Longer texts are not sent (0 = no limit)',
		},
		{
			displayName: 'Rate Limit (per Second)',
			name: 'ratePerSecond',
			type: 'number',
			default: 0,
			description:
				'Override the per-credential limit (0 = channel default: WhatsApp 80/s, Messenger 40/s, SMS from the credential, FCM 500/s, email 20/s). With a PostgreSQL Convergent Store the limit is shared by all queue-mode workers; with the embedded store it holds per n8n process.',
		},
		{
			displayName: 'Status Callback URL (SMS)',
			name: 'statusCallbackUrl',
			type: 'string',
			default: '',
			placeholder: 'https://n8n.example.com/webhook/…/webhook',
			description:
				"Where Twilio posts this message's delivery statuses, e.g. a Touchpoint Trigger (Twilio SMS) production URL",
		},
		{
			displayName: 'Timeout',
			name: 'timeout',
			type: 'number',
			typeOptions: { minValue: 1 },
			default: 30000,
			description:
				'Time in ms to wait for the provider to answer one request before ending it. A message whose request was ended is reported unknown (it may have arrived) and never sent again; the run goes on.',
		},
		{
			displayName: 'Transactional Is Exempt',
			name: 'transactionalExempt',
			type: 'boolean',
			default: true,
			description: 'Whether the Transactional purpose skips consent, caps and quiet hours',
		},
	],
};
