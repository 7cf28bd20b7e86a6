import { readableInstant } from '../../../nodes/shared/policy/reasons';

describe('readableInstant: a next-allowed time as a marketer reads it', () => {
	const at = Date.UTC(2026, 11, 7, 21, 0);

	it("gives the person's clock and zone, then UTC with the day", () => {
		expect(readableInstant(at, 'Etc/GMT+12')).toBe(
			'09:00 their time (UTC-12, Etc/GMT+12), 21:00 UTC on 7 Dec 2026',
		);
		expect(readableInstant(at, 'Asia/Kolkata')).toBe(
			'02:30 on 8 Dec their time (UTC+5:30, Asia/Kolkata), 21:00 UTC on 7 Dec 2026',
		);
	});

	it('says UTC alone when the zone is UTC, unknown or not a zone', () => {
		expect(readableInstant(at, 'UTC')).toBe('21:00 UTC on 7 Dec 2026');
		expect(readableInstant(at)).toBe('21:00 UTC on 7 Dec 2026');
		expect(readableInstant(at, "every zone of the phone's country (America/New_York)")).toBe(
			'21:00 UTC on 7 Dec 2026',
		);
	});
});
