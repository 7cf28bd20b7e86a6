/** Journeys and conversations: a person's stage in a journey, its transitions, and a Conversational Form session. */

export interface JourneyStateRow {
	stage: string;
	enteredAt: number;
	goalReachedAt?: number;
	exitedAt?: number;
}

export interface JourneyTransitionRow {
	contactId: string;
	fromStage: string | null;
	toStage: string;
	at: number;
}

export interface FormSession {
	status: 'active' | 'completed' | 'cancelled';
	/** Key of the question waiting for an answer. */
	step?: string;
	answers: Record<string, unknown>;
	startedAt: number;
	updatedAt: number;
}
