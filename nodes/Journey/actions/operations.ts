export const OPERATIONS = [
	{
		name: 'Campaign Report',
		value: 'campaignReport',
		action: 'Report sends, deliveries, clicks and conversions per campaign',
	},
	{ name: 'Funnel Report', value: 'funnelReport', action: 'Report the journey funnel' },
	{
		name: 'Get Contact Journey',
		value: 'getContactJourney',
		action: 'Get the journey path of a contact',
	},
	{ name: 'Pick A/B Winner', value: 'pickWinner', action: 'Pick the winning arm of an A/B test' },
	{
		name: 'Route by Stage',
		value: 'routeByStage',
		action: 'Route contacts by their journey stage',
	},
	{
		name: 'Track Event',
		value: 'trackEvent',
		action: 'Track an event and move the contact to its stage',
	},
];
