/**
 * Keep Send Detail (Months) of the Convergent Store credential: 13 months when the credential (or
 * the field) is absent, 0 keeps everything, a number of months otherwise.
 */
import { keepSendDetailMs } from '../../../nodes/shared/store';

const MONTH = 30.44 * 86_400_000;

describe('Keep Send Detail (Months)', () => {
	it('keeps 13 months without a credential or the field, as many as set otherwise, everything at 0', () => {
		expect(keepSendDetailMs(undefined)).toBe(Math.round(13 * MONTH));
		expect(keepSendDetailMs({ storageType: 'embedded' })).toBe(Math.round(13 * MONTH));
		expect(keepSendDetailMs({ keepSendDetailMonths: 25 })).toBe(Math.round(25 * MONTH));
		expect(keepSendDetailMs({ keepSendDetailMonths: 0 })).toBeUndefined();
		expect(keepSendDetailMs({ keepSendDetailMonths: 'many' })).toBeUndefined();
	});
});
