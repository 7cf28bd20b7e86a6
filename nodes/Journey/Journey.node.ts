import { createHash } from 'node:crypto';
import type { IBinaryKeyData, IDataObject, IExecuteFunctions, INodeExecutionData, INodeType, INodeTypeDescription } from 'n8n-workflow';
import { NodeConnectionTypes, NodeOperationError } from 'n8n-workflow';

import { compileFieldPath } from '../shared/n8n/field-path';
import { isToolCall, toolAware } from '../shared/n8n/tool-mode';
import { adopt, failClosed } from '../shared/n8n/fail-closed';
import { convergentStoreApiTest, getStore } from '../shared/n8n/store';
import { personIdsOf } from '../shared/people';
import { applyEvent, DEFAULT_STAGES, DefinitionError, funnel, validateDefinition, type JourneyDefinition } from '../shared/journey/journey';
import { funnelHtml, funnelSvg } from '../shared/journey/report';
import { toTime } from '../shared/segment/rules';
import { pickWinner } from '../shared/insights/ab';
import { campaignHtml, campaignSvg } from '../shared/insights/report';
import type { AbMetric, Store } from '../shared/store/types';
import { optionSubtitle } from '../shared/n8n/display-options';

const configuredOutputs = (parameters: IDataObject) => {
	if (parameters.operation !== 'routeByStage') return [{ type: 'main' }];
	const stages = String(parameters.stages ?? 'Awareness, Interest, Consideration, Conversion, Loyalty, Advocacy')
		.split(',')
		.map((s) => s.trim())
		.filter((s) => s !== '');
	return [...stages.map((s) => ({ type: 'main', displayName: s })), { type: 'main', displayName: 'Not in Journey' }];
};

const OPERATIONS = [
	{ name: 'Campaign Report', value: 'campaignReport', action: 'Report sends, deliveries, clicks and conversions per campaign' },
	{ name: 'Funnel Report', value: 'funnelReport', action: 'Report the journey funnel' },
	{ name: 'Get Contact Journey', value: 'getContactJourney', action: 'Get the journey path of a contact' },
	{ name: 'Pick A/B Winner', value: 'pickWinner', action: 'Pick the winning arm of an A/B test' },
	{ name: 'Route by Stage', value: 'routeByStage', action: 'Route contacts by their journey stage' },
	{ name: 'Track Event', value: 'trackEvent', action: 'Track an event and move the contact to its stage' },
];

export class Journey implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Journey',
		name: 'journey',
		icon: { light: 'file:journey.svg', dark: 'file:journey.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: optionSubtitle(OPERATIONS, 'operation', ' + ": " + $parameter["journeyName"]'),
		description: 'Track each contact\'s customer-journey stage, route by stage and report the funnel',
		defaults: { name: 'Journey' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: `={{(${configuredOutputs})($parameter)}}`,
		credentials: [{ name: 'convergentStoreApi', required: false, testedBy: 'convergentStoreApiTest' }],
		properties: [
			{
				displayName: 'Operation',
				name: 'operation',
				type: 'options',
				noDataExpression: true,
				options: OPERATIONS,
				default: 'trackEvent',
			},
			{ displayName: 'Journey Name', name: 'journeyName', type: 'string', default: 'Customer Journey', required: true, description: 'Several journeys can live in one store, by name' },
			{ displayName: 'Stages', name: 'stages', type: 'string', default: DEFAULT_STAGES.join(', '), description: 'Stage names in order, comma-separated' },
			{
				displayName: 'Moves',
				name: 'moves',
				type: 'fixedCollection',
				typeOptions: { multipleValues: true },
				placeholder: 'Add Move',
				default: { move: [{ event: 'clicked', stage: 'Interest' }, { event: 'purchased', stage: 'Conversion' }] },
				description: 'Which event moves a contact to which stage',
				displayOptions: { show: { operation: ['trackEvent'] } },
				options: [
					{
						displayName: 'Move',
						name: 'move',
						values: [
							{ displayName: 'Event', name: 'event', type: 'string', default: '', placeholder: 'clicked' },
							{ displayName: 'To Stage', name: 'stage', type: 'string', default: '', placeholder: 'Interest' },
						],
					},
				],
			},
			{ displayName: 'Allow Moving Backwards', name: 'allowBackwards', type: 'boolean', default: false, description: 'Whether an event may move a contact to an earlier stage', displayOptions: { show: { operation: ['trackEvent'] } } },
			{ displayName: 'Goal Stage', name: 'goalStage', type: 'string', default: 'Conversion', description: 'Reaching it (or a later stage) sets goalReached, once per contact', displayOptions: { show: { operation: ['trackEvent'] } } },
			{ displayName: 'Exit Events', name: 'exitEvents', type: 'string', default: 'unsubscribed', description: 'Comma-separated events that take a contact out of the journey', displayOptions: { show: { operation: ['trackEvent'] } } },
			{ displayName: 'Max Days in a Stage', name: 'maxDaysInStage', type: 'number', default: 0, description: 'Contacts longer than this in a stage are marked overdue (0 = no limit)', displayOptions: { show: { operation: ['trackEvent'] } } },
			{ displayName: 'Contact ID Field', name: 'contactIdField', type: 'string', requiresDataPath: 'single', default: 'contact.id', displayOptions: { show: { operation: ['trackEvent', 'routeByStage', 'getContactJourney'] }, hide: { '@tool': [true] } } },
			{ displayName: 'Event Field', name: 'eventField', type: 'string', requiresDataPath: 'single', default: 'event.type', displayOptions: { show: { operation: ['trackEvent'] }, hide: { '@tool': [true] } } },
			// The tool variant an AI Agent uses: the agent names the contact and the event.
			{ displayName: 'Contact ID', name: 'toolContactId', type: 'string', default: "={{ $fromAI('contactId', 'The contact ID of the person (for example crm-77)', 'string') }}", description: 'Filled by the agent', displayOptions: { show: { '@tool': [true], operation: ['trackEvent', 'routeByStage', 'getContactJourney'] } } },
			{ displayName: 'Event', name: 'toolEvent', type: 'string', default: "={{ $fromAI('event', 'What the person did, one of the events this journey knows (see its Moves), for example booked', 'string') }}", description: 'Filled by the agent', displayOptions: { show: { '@tool': [true], operation: ['trackEvent'] } } },
			{ displayName: 'Event ID Field', name: 'eventIdField', type: 'string', requiresDataPath: 'single', default: 'event.id', description: 'A re-delivered event with the same ID is recorded once. Without one, contact + event + time is used.', displayOptions: { show: { operation: ['trackEvent'] } } },
			{ displayName: 'Event Time Field', name: 'eventTimeField', type: 'string', requiresDataPath: 'single', default: 'event.at', description: 'ISO date or epoch; now when missing', displayOptions: { show: { operation: ['trackEvent'] } } },
			{ displayName: 'Campaign', name: 'abCampaign', type: 'string', default: '', required: true, placeholder: 'spring-subject-test', description: 'The campaign whose sends carry the arms (Touchpoint\'s Campaign and A/B Variant)', displayOptions: { show: { operation: ['pickWinner'] } } },
			{
				displayName: 'Metric',
				name: 'abMetric',
				type: 'options',
				options: [
					{ name: 'Clicked', value: 'clicked', description: 'The send log says clicked (an email service\'s click event)' },
					{ name: 'Converted', value: 'converted', description: 'Reached this journey\'s Goal Stage within the window after the send' },
					{ name: 'Delivered', value: 'delivered' },
					{ name: 'Read', value: 'read', description: 'Read (WhatsApp) or opened (email) per the send log' },
					{ name: 'Replied', value: 'replied', description: 'Wrote back on the channel within the window after the send' },
				],
				default: 'converted',
				displayOptions: { show: { operation: ['pickWinner'] } },
			},
			{ displayName: 'Window (Hours)', name: 'abWindowHours', type: 'number', default: 72, typeOptions: { minValue: 1 }, description: 'How long after a send a reply or a conversion still counts for it', displayOptions: { show: { operation: ['pickWinner'], abMetric: ['replied', 'converted'] } } },
			{ displayName: 'Minimum Sends per Arm', name: 'abMinPerArm', type: 'number', default: 100, typeOptions: { minValue: 1 }, description: 'No winner is picked before every arm has this many sends', displayOptions: { show: { operation: ['pickWinner'] } } },
			{
				displayName: 'Confidence',
				name: 'abConfidence',
				type: 'options',
				options: [
					{ name: '90 %', value: 0.9 },
					{ name: '95 %', value: 0.95 },
					{ name: '99 %', value: 0.99 },
				],
				default: 0.95,
				description: 'The best arm wins when a two-sided two-proportion z-test against every other arm has p below 1 - confidence',
				displayOptions: { show: { operation: ['pickWinner'] } },
			},
			{ displayName: 'Campaign Name or All', name: 'reportCampaign', type: 'string', default: '', placeholder: 'spring-subject', description: 'One campaign, or empty for every campaign', displayOptions: { show: { operation: ['campaignReport'] } } },
			{ displayName: 'Since (Days)', name: 'reportSinceDays', type: 'number', default: 30, typeOptions: { minValue: 0 }, description: 'Sends made in the last N days', displayOptions: { show: { operation: ['campaignReport'] } } },
			{ displayName: 'Reply Window (Hours)', name: 'replyWindowHours', type: 'number', default: 48, typeOptions: { minValue: 1 }, description: 'A message from the person on the channel this soon after a send counts as a reply to it', displayOptions: { show: { operation: ['campaignReport'] } } },
			{ displayName: 'Conversion Window (Days)', name: 'conversionWindowDays', type: 'number', default: 7, typeOptions: { minValue: 1 }, description: 'Reaching this journey\'s Goal Stage (or withdrawing consent: an opt-out) this soon after a send counts for it', displayOptions: { show: { operation: ['campaignReport'] } } },
			{ displayName: 'Include HTML Report', name: 'includeHtml', type: 'boolean', default: false, description: 'Whether to add a self-contained HTML report with the chart and table', displayOptions: { show: { operation: ['funnelReport', 'campaignReport'] } } },
		],
	};

	methods = { credentialTest: { convergentStoreApiTest } };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const operation = this.getNodeParameter('operation', 0) as string;
		const stages = String(this.getNodeParameter('stages', 0)).split(',').map((s) => s.trim()).filter((s) => s !== '');
		// Route by Stage's outputs start with the first stage: an error must not land there through
		// n8n's continue path (which copies the input to output 0), but on Not in Journey.
		const outputs: INodeExecutionData[][] = Array.from({ length: operation === 'routeByStage' ? stages.length + 1 : 1 }, () => []);
		const result = await failClosed(this, outputs, outputs.length - 1, async () => {
			const result = await runJourney.call(this, operation, stages);
			adopt(outputs, result);
		});
		return toolAware(this, result, operation === 'routeByStage' ? [...stages, 'Not in Journey'] : [OPERATIONS.find((o) => o.value === operation)?.name ?? operation]);
	}
}

/** Pick A/B Winner: the arms' results from the send log, decided by the stated rule (shared/insights/ab.ts). Read once per run. */
async function abWinner(ctx: IExecuteFunctions, store: Store, journey: string) {
	const campaign = String(ctx.getNodeParameter('abCampaign', 0, '')).trim();
	if (!campaign) throw new NodeOperationError(ctx.getNode(), 'Campaign is empty', { description: 'Name the campaign the test\'s sends were made under (Touchpoint > Campaign).' });
	const metric = ctx.getNodeParameter('abMetric', 0, 'converted') as AbMetric;
	const windowMs = Number(ctx.getNodeParameter('abWindowHours', 0, 72)) * 3_600_000;
	const results = await store.abTestResults(campaign, metric, { windowMs, journey });
	const decision = pickWinner(results, { confidence: Number(ctx.getNodeParameter('abConfidence', 0, 0.95)), minPerArm: Number(ctx.getNodeParameter('abMinPerArm', 0, 100)) });
	return { campaign, metric, ...(metric === 'converted' ? { journey } : {}), ...(metric === 'replied' || metric === 'converted' ? { windowHours: windowMs / 3_600_000 } : {}), ...decision };
}

async function runJourney(this: IExecuteFunctions, operation: string, stages: string[]): Promise<INodeExecutionData[][]> {
		const items = this.getInputData();
		const name = String(this.getNodeParameter('journeyName', 0)).trim();
		const store = await getStore(this);
		if (operation === 'pickWinner') return [[{ json: await abWinner(this, store, name) as unknown as IDataObject, pairedItem: items.map((_, i) => ({ item: i })) }]];
		if (operation === 'campaignReport') {
			// One item for the whole report, read once per run.
			const campaign = String(this.getNodeParameter('reportCampaign', 0, '')).trim();
			const generatedAt = new Date().toISOString();
			const report = await store.campaignReport({
				since: Date.now() - Number(this.getNodeParameter('reportSinceDays', 0, 30)) * 86_400_000,
				...(campaign ? { campaign } : {}),
				replyWindowMs: Number(this.getNodeParameter('replyWindowHours', 0, 48)) * 3_600_000,
				conversionWindowMs: Number(this.getNodeParameter('conversionWindowDays', 0, 7)) * 86_400_000,
				journey: name,
			});
			const title = campaign ? `Campaign ${campaign}` : 'Campaigns';
			const svg = campaignSvg(title, report.rows);
			const binary: IBinaryKeyData = { chart: await this.helpers.prepareBinaryData(Buffer.from(svg, 'utf8'), 'campaigns.svg', 'image/svg+xml') };
			if (this.getNodeParameter('includeHtml', 0, false)) binary.report = await this.helpers.prepareBinaryData(Buffer.from(campaignHtml(title, report, svg, generatedAt), 'utf8'), 'campaigns.html', 'text/html');
			return [[{ json: { generatedAt, campaign: campaign || null, journey: name, rows: report.rows as unknown as IDataObject[], blocked: report.blocked as unknown as IDataObject[] }, binary, pairedItem: items.map((_, i) => ({ item: i })) }]];
		}
		// One bad item is that item's error (continue-on-fail), never the batch's.
		const errors = new Map<number, NodeOperationError>();
		const itemError = (i: number, error: unknown) => {
			const e = error instanceof NodeOperationError ? error : new NodeOperationError(this.getNode(), error as Error, { itemIndex: i });
			if (!this.continueOnFail()) throw e;
			errors.set(i, e);
		};
		const errorItem = (i: number): INodeExecutionData => ({ json: { ...items[i].json, error: errors.get(i)!.message, ...(errors.get(i)!.description ? { description: errors.get(i)!.description } : {}) }, pairedItem: { item: i } });
		// As an agent's tool, the contact and the event are what the agent gave (Contact ID, Event).
		const tool = isToolCall(this);
		const idField = operation === 'funnelReport' ? '' : tool ? 'Contact ID' : (this.getNodeParameter('contactIdField', 0) as string);
		const idOf = tool ? undefined : compileFieldPath(idField || 'contact.id');
		const rawId = (i: number) => {
			const v = tool ? this.getNodeParameter('toolContactId', i, '') : idOf!(items[i].json);
			if (v === undefined || v === null || v === '') {
				throw new NodeOperationError(this.getNode(), `No contact ID at "${idField}" (found ${JSON.stringify(v) ?? 'nothing'})`, { itemIndex: i, description: 'Set Contact ID Field to where your items keep the contact\'s ID.' });
			}
			return String(v);
		};
		// One journey per person: a merged id (or one the person was known by before) is the person's.
		const personOf = operation === 'funnelReport' ? new Map<string, string>() : await personIdsOf(store, items.flatMap((_, i) => {
			try {
				return [rawId(i)];
			} catch {
				return [];
			}
		}));
		const contactId = (i: number) => {
			const id = rawId(i);
			return personOf.get(id) ?? id;
		};

		if (operation === 'trackEvent') {
			const moves = ((this.getNodeParameter('moves', 0, {}) as IDataObject).move as IDataObject[] | undefined) ?? [];
			let def: JourneyDefinition;
			try {
				def = validateDefinition({
					name,
					stages,
					moves: new Map(moves.map((m) => [String(m.event).trim(), String(m.stage).trim()])),
					allowBackwards: this.getNodeParameter('allowBackwards', 0) as boolean,
					goalStage: String(this.getNodeParameter('goalStage', 0, '')).trim() || undefined,
					exitEvents: String(this.getNodeParameter('exitEvents', 0, '')).split(',').map((s) => s.trim()).filter(Boolean),
					maxDaysInStage: this.getNodeParameter('maxDaysInStage', 0, 0) as number,
				});
			} catch (error) {
				throw new NodeOperationError(this.getNode(), (error as Error).message, {
					description: error instanceof DefinitionError ? 'Fix the journey definition; no event was recorded.' : undefined,
				});
			}
			const eventField = tool ? 'Event' : (this.getNodeParameter('eventField', 0) as string);
			const pathOf = compileFieldPath(eventField);
			const eventOf = (json: unknown, i: number): unknown => (tool ? this.getNodeParameter('toolEvent', i, '') : pathOf(json));
			const eventIdOf = compileFieldPath(this.getNodeParameter('eventIdField', 0) as string);
			const timeOf = compileFieldPath(this.getNodeParameter('eventTimeField', 0) as string);
			const now = Date.now();
			const events: Array<{ i: number; eventId: string; contactId: string; event: string; at: number }> = [];
			items.forEach((item, i) => {
				try {
					const event = eventOf(item.json, i);
					if (typeof event !== 'string' || event.trim() === '' || event.length > 200) {
						throw new NodeOperationError(this.getNode(), `No event name at "${eventField}" (found ${JSON.stringify(event)?.slice(0, 80) ?? 'nothing'})`, { itemIndex: i, description: 'Point Event Field at a short text such as "purchased".' });
					}
					const id = contactId(i);
					const at = toTime(timeOf(item.json)) ?? now;
					const rawId = eventIdOf(item.json);
					const eventId = rawId === undefined || rawId === null || rawId === ''
						? createHash('sha256').update(`${id}\u0000${event}\u0000${at}`).digest('hex').slice(0, 32)
						: String(rawId);
					events.push({ i, eventId, contactId: id, event: event.trim(), at });
				} catch (error) {
					itemError(i, error);
				}
			});
			const tracked = await store.trackJourneyEvents(name, events, (state, event, at) => applyEvent(def, state, event, at));
			const resultOf = new Map(events.map((e, k) => [e.i, { r: tracked[k], e }]));
			return [
				items.map((_, i) => {
					if (errors.has(i)) return errorItem(i);
					const { r, e } = resultOf.get(i)!;
					return {
					json: {
						...items[i].json,
						journey: r.duplicate
							? { name, eventId: e.eventId, duplicate: true }
							: {
									name,
									eventId: e.eventId,
									duplicate: false,
									previousStage: r.result.previousStage,
									currentStage: r.result.currentStage,
									moved: r.result.moved,
									goalReached: r.result.goalReached,
									exited: r.result.exited,
									timeInPreviousStageHours: r.result.timeInPreviousStageMs === null ? null : Math.round((r.result.timeInPreviousStageMs / 3600_000) * 100) / 100,
									overdue: r.result.overdue,
									...(r.result.ignored ? { ignored: r.result.ignored } : {}),
								},
					},
					pairedItem: { item: i },
				};
				}),
			];
		}

		if (operation === 'routeByStage') {
			const ids = items.map((_, i) => {
				try {
					return contactId(i);
				} catch (error) {
					itemError(i, error);
					return undefined;
				}
			});
			const states = await store.getJourneyStates(name, ids.filter((id): id is string => id !== undefined));
			const outputs: INodeExecutionData[][] = Array.from({ length: stages.length + 1 }, () => []);
			ids.forEach((id, i) => {
				if (id === undefined) {
					outputs[stages.length].push(errorItem(i));
					return;
				}
				const st = states.get(id);
				const idx = st && st.exitedAt === undefined ? stages.indexOf(st.stage) : -1;
				outputs[idx === -1 ? stages.length : idx].push({ json: { ...items[i].json, journeyStage: st?.stage ?? null, journeyExited: st?.exitedAt !== undefined }, pairedItem: { item: i } });
			});
			return outputs;
		}

		if (operation === 'getContactJourney') {
			const out: INodeExecutionData[] = [];
			for (let i = 0; i < items.length; i++) {
				let id: string;
				try {
					id = contactId(i);
				} catch (error) {
					itemError(i, error);
					out.push(errorItem(i));
					continue;
				}
				const path = await store.getJourneyTransitions(name, id);
				const st = (await store.getJourneyStates(name, [id])).get(id);
				out.push({
					json: {
						contactId: id,
						journey: name,
						currentStage: st?.stage ?? null,
						exited: st?.exitedAt !== undefined,
						goalReachedAt: st?.goalReachedAt ? new Date(st.goalReachedAt).toISOString() : null,
						path: path.map((t) => ({ from: t.fromStage, to: t.toStage, at: new Date(t.at).toISOString() })),
					},
					pairedItem: { item: i },
				});
			}
			return [out];
		}

		// funnelReport: one item for the whole journey.
		const def = { name, stages, moves: new Map<string, string>(), allowBackwards: false, exitEvents: [], maxDaysInStage: 0 };
		const report = funnel(def, await store.getJourneyTransitions(name), await store.getAllJourneyStates(name));
		const generatedAt = new Date().toISOString();
		const binary: INodeExecutionData['binary'] = {
			chart: await this.helpers.prepareBinaryData(Buffer.from(funnelSvg(name, report), 'utf8'), 'funnel.svg', 'image/svg+xml'),
		};
		if (this.getNodeParameter('includeHtml', 0, false)) {
			binary.report = await this.helpers.prepareBinaryData(Buffer.from(funnelHtml(name, report, generatedAt), 'utf8'), 'funnel.html', 'text/html');
		}
		return [[{ json: { journey: name, generatedAt, stages: report as unknown as IDataObject[] }, binary, pairedItem: items.map((_, i) => ({ item: i })) }]];
	}
