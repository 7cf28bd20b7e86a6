/**
 * RFM: recency, frequency and monetary value scored 1-5 by quintile over the batch, and the
 * standard named segments from R and FM = round((F + M) / 2). The table is total: every
 * (R, FM) pair maps to exactly one name (first rule that matches):
 *
 *   Champions           R 4-5, FM 4-5        Cannot lose them   R 1,   FM 4-5
 *   Loyal               R 3-5, FM 3-5        At risk            R 1-2, FM 3-5
 *   Potential loyalist  R 4-5, FM 2          Hibernating        R 2,   FM 1-2
 *   New                 R 5,   FM 1          Lost               R 1,   FM 1-2
 *   Promising           R 4,   FM 1
 *   Need attention      R 3,   FM 2
 *   About to sleep      R 3,   FM 1
 */
export const RFM_SEGMENTS = [
	'Champions',
	'Loyal',
	'Potential loyalist',
	'New',
	'Promising',
	'Need attention',
	'About to sleep',
	'Cannot lose them',
	'At risk',
	'Hibernating',
	'Lost',
] as const;
export type RfmSegment = (typeof RFM_SEGMENTS)[number];

export function rfmSegment(r: number, fm: number): RfmSegment {
	if (r >= 4 && fm >= 4) return 'Champions';
	if (r >= 3 && fm >= 3) return 'Loyal';
	if (r >= 4 && fm === 2) return 'Potential loyalist';
	if (r === 5 && fm === 1) return 'New';
	if (r === 4 && fm === 1) return 'Promising';
	if (r === 3 && fm === 2) return 'Need attention';
	if (r === 3 && fm === 1) return 'About to sleep';
	if (r === 1 && fm >= 4) return 'Cannot lose them';
	if (r <= 2 && fm >= 3) return 'At risk';
	if (r === 2) return 'Hibernating';
	return 'Lost';
}

/**
 * Quintile scores 1-5: sorted ascending, an item's score is ceil(5 * rank / n) where rank is
 * the 1-based position of the FIRST item with the same value (ties share a score).
 * higherIsBetter=false reverses (recency in days: fewer days = 5).
 */
export function quintiles(values: number[], higherIsBetter = true): number[] {
	const n = values.length;
	const order = values
		.map((v, i) => [v, i] as [number, number])
		.sort((a, b) => (higherIsBetter ? a[0] - b[0] : b[0] - a[0]));
	const scores = new Array<number>(n);
	let firstRank = 1;
	for (let k = 0; k < n; k++) {
		if (k > 0 && order[k][0] !== order[k - 1][0]) firstRank = k + 1;
		scores[order[k][1]] = Math.max(1, Math.ceil((5 * firstRank) / n));
	}
	return scores;
}

export interface RfmInput {
	/** Days since the last order (lower is better). */
	recencyDays: number;
	frequency: number;
	monetary: number;
}

export interface RfmResult {
	recencyDays: number;
	frequency: number;
	monetary: number;
	r: number;
	f: number;
	m: number;
	fm: number;
	score: string;
	segment: RfmSegment;
}

export function scoreRfm(rows: RfmInput[]): RfmResult[] {
	const r = quintiles(
		rows.map((x) => x.recencyDays),
		false,
	);
	const f = quintiles(rows.map((x) => x.frequency));
	const m = quintiles(rows.map((x) => x.monetary));
	return rows.map((x, i) => {
		const fm = Math.floor((f[i] + m[i]) / 2 + 0.5);
		return {
			...x,
			r: r[i],
			f: f[i],
			m: m[i],
			fm,
			score: `${r[i]}${f[i]}${m[i]}`,
			segment: rfmSegment(r[i], fm),
		};
	});
}
