/**
 * Customer-journey mapping core (pure): a journey definition, the transition an event causes,
 * and the funnel report computed from recorded transitions and current states.
 */
export const DEFAULT_STAGES = [
	'Awareness',
	'Interest',
	'Consideration',
	'Conversion',
	'Loyalty',
	'Advocacy',
];

export interface JourneyDefinition {
	name: string;
	stages: string[];
	/** Event name -> stage it moves the contact to. */
	moves: Map<string, string>;
	allowBackwards: boolean;
	goalStage?: string;
	exitEvents: string[];
	/** 0 = no limit. A contact longer than this in a stage is reported overdue. */
	maxDaysInStage: number;
}

export class DefinitionError extends Error {}

export function validateDefinition(def: JourneyDefinition): JourneyDefinition {
	if (!def.name.trim())
		throw new DefinitionError('Journey Name is empty: name the journey, e.g. "Onboarding"');
	if (def.stages.length === 0)
		throw new DefinitionError('Stages is empty: list at least one stage');
	const seen = new Set<string>();
	for (const s of def.stages) {
		if (!s.trim()) throw new DefinitionError('Stages contains an empty name');
		if (seen.has(s))
			throw new DefinitionError(`Stages lists "${s}" twice: stage names must be unique`);
		seen.add(s);
	}
	for (const [event, stage] of def.moves) {
		if (!seen.has(stage))
			throw new DefinitionError(
				`Event "${event}" moves to stage "${stage}", which is not in Stages (${def.stages.join(', ')})`,
			);
	}
	if (def.goalStage && !seen.has(def.goalStage)) {
		throw new DefinitionError(
			`Goal Stage "${def.goalStage}" is not in Stages (${def.stages.join(', ')})`,
		);
	}
	return def;
}

export interface JourneyState {
	stage: string;
	enteredAt: number;
	goalReachedAt?: number;
	exitedAt?: number;
}

export interface TransitionResult {
	state: JourneyState;
	previousStage: string | null;
	currentStage: string;
	moved: boolean;
	/** True only the first time the goal stage (or a later one) is reached. */
	goalReached: boolean;
	exited: boolean;
	/** ms the contact spent in the previous stage, when it moved. */
	timeInPreviousStageMs: number | null;
	overdue: boolean;
	ignored?: 'already-exited' | 'backwards-not-allowed' | 'unmapped-event';
}

/** The person stays where they are (an event that moves nothing), and why when it is ignored. */
function stay(
	state: JourneyState,
	overdue: boolean,
	ignored?: TransitionResult['ignored'],
	exited = false,
): TransitionResult {
	return {
		state,
		previousStage: state.stage,
		currentStage: state.stage,
		moved: false,
		goalReached: false,
		exited,
		timeInPreviousStageMs: null,
		overdue,
		...(ignored ? { ignored } : {}),
	};
}

export function applyEvent(
	def: JourneyDefinition,
	state: JourneyState | undefined,
	event: string,
	at: number,
): TransitionResult {
	const index = (s: string) => def.stages.indexOf(s);
	const goalIndex = def.goalStage ? index(def.goalStage) : -1;
	const overdueOf = (st: JourneyState) =>
		def.maxDaysInStage > 0 && at - st.enteredAt > def.maxDaysInStage * 86400_000;

	if (state?.exitedAt !== undefined) return stay(state, false, 'already-exited', true);
	if (def.exitEvents.includes(event)) {
		const base = state ?? { stage: def.stages[0], enteredAt: at };
		const next = { ...base, exitedAt: at };
		return {
			state: next,
			previousStage: state?.stage ?? null,
			currentStage: next.stage,
			moved: false,
			goalReached: false,
			exited: true,
			timeInPreviousStageMs: null,
			overdue: false,
		};
	}
	// Event names are item data: a Map, so "constructor" or "toString" is just an unmapped event.
	const target = def.moves.get(event) ?? (state ? undefined : def.stages[0]);
	if (!state) {
		const st: JourneyState = { stage: target!, enteredAt: at };
		const goal = goalIndex >= 0 && index(st.stage) >= goalIndex;
		if (goal) st.goalReachedAt = at;
		return {
			state: st,
			previousStage: null,
			currentStage: st.stage,
			moved: true,
			goalReached: goal,
			exited: false,
			timeInPreviousStageMs: null,
			overdue: false,
			...(def.moves.has(event) ? {} : { ignored: 'unmapped-event' as const }),
		};
	}
	const overdue = overdueOf(state);
	if (target === undefined || target === state.stage)
		return stay(state, overdue, target === undefined ? 'unmapped-event' : undefined);
	if (index(target) < index(state.stage) && !def.allowBackwards)
		return stay(state, overdue, 'backwards-not-allowed');
	const next: JourneyState = { ...state, stage: target, enteredAt: at };
	let goalReached = false;
	if (goalIndex >= 0 && index(target) >= goalIndex && state.goalReachedAt === undefined) {
		next.goalReachedAt = at;
		goalReached = true;
	}
	return {
		state: next,
		previousStage: state.stage,
		currentStage: target,
		moved: true,
		goalReached,
		exited: false,
		timeInPreviousStageMs: at - state.enteredAt,
		overdue,
	};
}

export interface Transition {
	contactId: string;
	fromStage: string | null;
	toStage: string;
	at: number;
}

export interface FunnelStage {
	stage: string;
	/** Contacts that entered this stage at least once. */
	entered: number;
	/** Contacts that reached this stage or a later one (the funnel's width). */
	reached: number;
	currentlyIn: number;
	/** Contacts that entered this stage and later left it for another. */
	movedOn: number;
	/** reached(next) / reached(this), in %; null for the last stage. */
	conversionToNextPct: number | null;
	medianTimeInStageHours: number | null;
	/** reached(this) - reached(next): contacts who got here and no further. */
	dropOff: number;
}

function median(values: number[]): number | null {
	if (values.length === 0) return null;
	const v = [...values].sort((a, b) => a - b);
	const mid = Math.floor(v.length / 2);
	return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

export function funnel(
	def: JourneyDefinition,
	transitions: Transition[],
	states: Array<{ contactId: string; stage: string; exitedAt?: number }>,
): FunnelStage[] {
	const index = new Map(def.stages.map((s, i) => [s, i]));
	const entered = def.stages.map(() => new Set<string>());
	const movedOn = def.stages.map(() => new Set<string>());
	const durations: number[][] = def.stages.map(() => []);
	const maxIndex = new Map<string, number>();
	const byContact = new Map<string, Transition[]>();
	for (const t of transitions) {
		const list = byContact.get(t.contactId) ?? [];
		list.push(t);
		byContact.set(t.contactId, list);
	}
	for (const [contact, list] of byContact) {
		list.sort((a, b) => a.at - b.at);
		list.forEach((t, k) => {
			const to = index.get(t.toStage);
			if (to === undefined) return;
			entered[to].add(contact);
			maxIndex.set(contact, Math.max(maxIndex.get(contact) ?? -1, to));
			const from = t.fromStage === null ? undefined : index.get(t.fromStage);
			if (from !== undefined) {
				movedOn[from].add(contact);
				const prev = list[k - 1];
				if (prev) durations[from].push(t.at - prev.at);
			}
		});
	}
	const currentlyIn = def.stages.map(
		(s) => states.filter((st) => st.stage === s && st.exitedAt === undefined).length,
	);
	const reached = def.stages.map((_, i) => [...maxIndex.values()].filter((m) => m >= i).length);
	return def.stages.map((stage, i) => {
		const next = i + 1 < def.stages.length ? reached[i + 1] : null;
		const med = median(durations[i]);
		return {
			stage,
			entered: entered[i].size,
			reached: reached[i],
			currentlyIn: currentlyIn[i],
			movedOn: movedOn[i].size,
			conversionToNextPct:
				next === null ? null : reached[i] === 0 ? 0 : Math.round((next / reached[i]) * 1000) / 10,
			medianTimeInStageHours: med === null ? null : Math.round((med / 3600_000) * 10) / 10,
			dropOff: next === null ? 0 : reached[i] - next,
		};
	});
}
