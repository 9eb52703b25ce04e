import { and, eq, lt, sql } from 'drizzle-orm';
import type { Database } from '../db/client.ts';
import { idempotencyKeys } from '../db/schema.ts';
import { IDEMPOTENCY_WINDOW_MS } from './idempotency-key.ts';

export interface IdempotencyRecord {
  requestFingerprint: string;
  responseStatus: number;
  responseBodySealed: string;
  originalRequestId: string;
  createdAt: Date;
}

export function isLive(record: IdempotencyRecord, now = Date.now()): boolean {
  return record.createdAt.getTime() > now - IDEMPOTENCY_WINDOW_MS;
}

export async function findIdempotencyRecord(
  db: Database,
  accountId: string,
  key: string,
): Promise<IdempotencyRecord | undefined> {
  const [record] = await db
    .select({
      requestFingerprint: idempotencyKeys.requestFingerprint,
      responseStatus: idempotencyKeys.responseStatus,
      responseBodySealed: idempotencyKeys.responseBodySealed,
      originalRequestId: idempotencyKeys.originalRequestId,
      createdAt: idempotencyKeys.createdAt,
    })
    .from(idempotencyKeys)
    .where(and(eq(idempotencyKeys.accountId, accountId), eq(idempotencyKeys.key, key)));
  return record;
}

/** Frees a key whose record has expired but not been purged yet, so it can be used again. */
export async function deleteExpiredIdempotencyRecord(db: Database, accountId: string, key: string): Promise<void> {
  await db
    .delete(idempotencyKeys)
    .where(
      and(
        eq(idempotencyKeys.accountId, accountId),
        eq(idempotencyKeys.key, key),
        lt(idempotencyKeys.createdAt, new Date(Date.now() - IDEMPOTENCY_WINDOW_MS)),
      ),
    );
}

const PURGE_BATCH = 5_000;

/** Deletes expired records in bounded batches (short statements, short locks); returns how many. */
export async function purgeExpiredIdempotencyRecords(db: Database, now = Date.now()): Promise<number> {
  const cutoff = new Date(now - IDEMPOTENCY_WINDOW_MS).toISOString();
  let purged = 0;
  for (;;) {
    const result = await db.execute(sql`
      delete from ${idempotencyKeys} where ctid in (
        select ctid from ${idempotencyKeys} where ${idempotencyKeys.createdAt} < ${cutoff}::timestamptz limit ${PURGE_BATCH})`);
    const deleted = result.rowCount ?? 0;
    purged += deleted;
    if (deleted < PURGE_BATCH) return purged;
  }
}
