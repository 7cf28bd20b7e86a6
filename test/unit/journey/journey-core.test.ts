/**
 * Journey core: transitions, the backwards rule, goal detection once, exits, and a funnel on a
 * fixture with hand-computed answers.
 */
import {
	applyEvent,
	funnel,
	validateDefinition,
	type JourneyDefinition,
	type Transition,
} from '../../../nodes/shared/journey/journey';
import { funnelSvg } from '../../../nodes/shared/journey/report';

const H = 3600_000;
const def: JourneyDefinition = validateDefinition({
	name: 'Shop',
	stages: ['Awareness', 'Interest', 'Consideration', 'Conversion', 'Loyalty'],
	moves: new Map(
		Object.entries({
			visited: 'Awareness',
			clicked: 'Interest',
			carted: 'Consideration',
			purchased: 'Conversion',
			repurchased: 'Loyalty',
		}),
	),
	allowBackwards: false,
	goalStage: 'Conversion',
	exitEvents: ['unsubscribed'],
	maxDaysInStage: 7,
});

describe('transitions', () => {
	it('moves forward, reports previous stage and time in it; goal reached only the first time', () => {
		const a = applyEvent(def, undefined, 'clicked', 0);
		expect(a).toMatchObject({
			previousStage: null,
			currentStage: 'Interest',
			moved: true,
			goalReached: false,
		});
		const b = applyEvent(def, a.state, 'purchased', 5 * H);
		expect(b).toMatchObject({
			previousStage: 'Interest',
			currentStage: 'Conversion',
			moved: true,
			goalReached: true,
			timeInPreviousStageMs: 5 * H,
		});
		const c = applyEvent(def, b.state, 'repurchased', 6 * H);
		expect(c).toMatchObject({ currentStage: 'Loyalty', goalReached: false });
	});

	it('event names that are Object.prototype members are ordinary unmapped events, not crashes or function source', () => {
		for (const event of ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf']) {
			const first = applyEvent(def, undefined, event, 0);
			expect(first).toMatchObject({ currentStage: 'Awareness', ignored: 'unmapped-event' });
			const st = applyEvent(def, { stage: 'Interest', enteredAt: 0 }, event, H);
			expect(st.currentStage).toBe('Interest');
			expect(typeof st.currentStage).toBe('string');
		}
	});

	it('backwards moves are ignored unless allowed', () => {
		const a = applyEvent(def, undefined, 'purchased', 0);
		expect(applyEvent(def, a.state, 'clicked', H)).toMatchObject({
			currentStage: 'Conversion',
			moved: false,
			ignored: 'backwards-not-allowed',
		});
		expect(applyEvent({ ...def, allowBackwards: true }, a.state, 'clicked', H)).toMatchObject({
			currentStage: 'Interest',
			moved: true,
		});
	});

	it('exit events take the contact out; later events are ignored; overdue after max days', () => {
		const a = applyEvent(def, undefined, 'clicked', 0);
		expect(applyEvent(def, a.state, 'carted', 8 * 24 * H).overdue).toBe(true);
		const x = applyEvent(def, a.state, 'unsubscribed', H);
		expect(x).toMatchObject({ exited: true, currentStage: 'Interest' });
		expect(applyEvent(def, x.state, 'purchased', 2 * H)).toMatchObject({
			moved: false,
			ignored: 'already-exited',
		});
	});

	it('definition errors name the value', () => {
		expect(() => validateDefinition({ ...def, stages: ['A', 'A'] })).toThrow(
			'Stages lists "A" twice',
		);
		expect(() => validateDefinition({ ...def, goalStage: 'Nope' })).toThrow(
			'Goal Stage "Nope" is not in Stages',
		);
		expect(() => validateDefinition({ ...def, moves: new Map([['x', 'Mars']]) })).toThrow(
			'Event "x" moves to stage "Mars"',
		);
	});
});

describe('funnel report', () => {
	// Hand-computed fixture: 4 contacts.
	// a: Awareness(0) -> Interest(10h) -> Conversion(30h)        (skips Consideration)
	// b: Awareness(0) -> Interest(20h)                           (still in Interest)
	// c: Awareness(0)                                            (still in Awareness)
	// d: Interest(0) -> Consideration(4h), then exited
	const transitions: Transition[] = [
		{ contactId: 'a', fromStage: null, toStage: 'Awareness', at: 0 },
		{ contactId: 'a', fromStage: 'Awareness', toStage: 'Interest', at: 10 * H },
		{ contactId: 'a', fromStage: 'Interest', toStage: 'Conversion', at: 30 * H },
		{ contactId: 'b', fromStage: null, toStage: 'Awareness', at: 0 },
		{ contactId: 'b', fromStage: 'Awareness', toStage: 'Interest', at: 20 * H },
		{ contactId: 'c', fromStage: null, toStage: 'Awareness', at: 0 },
		{ contactId: 'd', fromStage: null, toStage: 'Interest', at: 0 },
		{ contactId: 'd', fromStage: 'Interest', toStage: 'Consideration', at: 4 * H },
	];
	const states = [
		{ contactId: 'a', stage: 'Conversion' },
		{ contactId: 'b', stage: 'Interest' },
		{ contactId: 'c', stage: 'Awareness' },
		{ contactId: 'd', stage: 'Consideration', exitedAt: 5 * H },
	];
	const report = funnel(def, transitions, states);

	it('entered, reached, currently in, moved on, conversion, median time, drop-off', () => {
		expect(
			report.map((s) => [
				s.stage,
				s.entered,
				s.reached,
				s.currentlyIn,
				s.movedOn,
				s.conversionToNextPct,
				s.medianTimeInStageHours,
				s.dropOff,
			]),
		).toEqual([
			// reached: a,b,c,d all got to Awareness or later = 4; Interest+ = a,b,d = 3
			['Awareness', 3, 4, 1, 2, 75, 15, 1], // median of 10h (a) and 20h (b)
			['Interest', 3, 3, 1, 2, 66.7, 12, 1], // reached Consideration+: a (skipped), d = 2; median of 20h (a) and 4h (d)
			['Consideration', 1, 2, 0, 0, 50, null, 1], // d exited: not currently in
			['Conversion', 1, 1, 1, 0, 0, null, 1],
			['Loyalty', 0, 0, 0, 0, null, null, 0],
		]);
	});

	it('the SVG has one bar per stage, widths proportional to reached, with the numbers', () => {
		const svg = funnelSvg('Shop <test>', report);
		const bars = [
			...svg.matchAll(
				/<g class="stage" data-stage="([^"]+)" data-reached="(\d+)">\s*<rect x="\d+" y="\d+" width="(\d+)"/g,
			),
		];
		expect(bars.map((b) => [b[1], Number(b[2]), Number(b[3])])).toEqual([
			['Awareness', 4, 520],
			['Interest', 3, 390],
			['Consideration', 2, 260],
			['Conversion', 1, 130],
			['Loyalty', 0, 2],
		]);
		expect(svg).toContain('Interest: 3 · 66.7% to next');
		expect(svg).toContain('Shop &lt;test&gt;');
	});
});
