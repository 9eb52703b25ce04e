import { and, eq, lt, type SQL, sql } from 'drizzle-orm';
import type { Database } from '../db/client.ts';
import { idempotencyKeys } from '../db/schema.ts';
import { IDEMPOTENCY_WINDOW_MS, type IdempotencyOwner, type IdempotentRequest } from './idempotency-key.ts';

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

const ownedBy = (owner: IdempotencyOwner, key: string) =>
  and(
    eq(idempotencyKeys.accountId, owner.accountId),
    eq(idempotencyKeys.apiKeyId, owner.apiKeyId),
    eq(idempotencyKeys.key, key),
  );

export async function findIdempotencyRecord(
  db: Database,
  owner: IdempotencyOwner,
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
    .where(ownedBy(owner, key));
  return record;
}

/** Frees a key whose record has expired but not been purged yet, so it can be used again. */
export async function deleteExpiredIdempotencyRecord(
  db: Database,
  owner: IdempotencyOwner,
  key: string,
): Promise<void> {
  await db
    .delete(idempotencyKeys)
    .where(and(ownedBy(owner, key), lt(idempotencyKeys.createdAt, new Date(Date.now() - IDEMPOTENCY_WINDOW_MS))));
}

/** The response to keep under an Idempotency-Key, sealed. */
export interface RememberedResponse {
  owner: IdempotencyOwner;
  request: IdempotentRequest;
  status: number;
  bodySealed: string;
  requestId: string;
}

/**
 * A CTE to splice into a write statement after its `done` CTE: the record is inserted once per row of
 * `done`, so it exists exactly when the write happened, in the same statement. A key already taken fails
 * the whole statement with 23505 on idempotency_keys_pkey.
 */
export function rememberResponseCte(remember: RememberedResponse): SQL {
  const { owner, request } = remember;
  return sql`remembered as (
    insert into ${idempotencyKeys} (account_id, api_key_id, key, request_fingerprint, response_status,
      response_body_sealed, original_request_id, created_at)
    select ${owner.accountId}::uuid, ${owner.apiKeyId}::uuid, ${request.key}, ${request.fingerprint},
      ${remember.status}::int, ${remember.bodySealed}, ${remember.requestId}, now()
    from done
    returning 1
  )`;
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
