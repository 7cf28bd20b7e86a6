/**
 * The project's domain vocabulary: the shapes consent, touches, people, inbound messages,
 * insights and journeys take everywhere (the store keeps them; the nodes and cores speak them).
 */
export * from './consent';
export * from './touches';
export * from './person';
export * from './inbox';
export * from './insights';
export * from './journeys';
