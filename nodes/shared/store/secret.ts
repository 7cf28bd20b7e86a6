/** The store's secret: made once per store, it keys the erased-address tombstones and signed links. */
import { createHmac, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';

import type { SqlDb } from './db';
import type { Row } from './sql-rows';

const SECRET_NAME = 'address-secret';

/** Creates the store's secret once (the first process to get there wins; the rest read it). */
export async function ensureSecret(db: SqlDb): Promise<string> {
	await db.run(
		'INSERT INTO store_meta (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING',
		[SECRET_NAME, randomBytes(32).toString('hex')],
	);
	const [row] = await db.query<Row>('SELECT value FROM store_meta WHERE name = $1', [SECRET_NAME]);
	return String(row.value);
}

/**
 * The tombstone of an erased address: HMAC-SHA256 under the store's secret of the address's
 * SHA-256 (so the tombstones of stores written before 007 convert without the addresses).
 * Without the secret, a copy of the `erased_addresses` table cannot be brute-forced.
 */
export function tombstone(secret: string, addressSha: string): string {
	return createHmac('sha256', secretKey(secret)).update(addressSha).digest('hex');
}

// The same HMAC under a KeyObject made once per secret: with the key as a string, OpenSSL sets the
// key up again for each address (a Check of 100,000 people spent ~0.1 s on it).
let lastSecret: { secret: string; key: KeyObject } | undefined;
function secretKey(secret: string): KeyObject {
	if (lastSecret?.secret !== secret)
		lastSecret = { secret, key: createSecretKey(Buffer.from(secret, 'utf8')) };
	return lastSecret.key;
}
