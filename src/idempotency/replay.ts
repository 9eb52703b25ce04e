// Idempotent writes: the response to a request carrying an Idempotency-Key is sealed and recorded by the
// very statement that writes (store.ts: rememberResponseCte), so the record exists exactly when the
// write happened. When a statement does not write, an earlier request's record may be why: it is
// replayed if it was for the same request, refused with 422 if not (test/idempotency.test.ts).
import type { SQL } from 'drizzle-orm';
import type { Database } from '../db/client.ts';
import { isTransientConflict, violatedConstraint } from '../db/errors.ts';
import { ApiError, serviceUnavailable } from '../http/errors.ts';
import type { SecretBox } from '../lib/secret-box.ts';
import { type IdempotencyOwner, type IdempotentRequest, idempotentResponseContext } from './idempotency-key.ts';
import { deleteExpiredIdempotencyRecord, findIdempotencyRecord, isLive, rememberResponseCte } from './store.ts';

/** Statements tried at most: a transient conflict, or a key freed or taken under us, gets a new attempt. */
const MAX_ATTEMPTS = 3;

export type WriteOutcome = { kind: 'done'; status: number; body: string } | { kind: 'refused'; error: ApiError };

export type IdempotentResult =
  | { kind: 'fresh'; status: number; body: string }
  | { kind: 'replayed'; status: number; body: string; originalRequestId: string };

/** Seals `body` and returns the CTE that records it (or undefined when the request has no key). */
export type Remember = (status: number, body: string) => Promise<SQL | undefined>;

export interface IdempotentWrite {
  db: Database;
  secrets: SecretBox;
  owner: IdempotencyOwner;
  idempotency: IdempotentRequest | undefined;
  requestId: string;
  /**
   * Runs the write as one statement, splicing in what `remember` returns after a CTE named `done`.
   * Called again, from scratch, when an attempt is retried.
   */
  write: (remember: Remember) => Promise<WriteOutcome>;
  /** Errors besides serialization failures and deadlocks after which the write is simply tried again. */
  retryOn?: (error: unknown) => boolean;
}

export async function writeIdempotently(input: IdempotentWrite): Promise<IdempotentResult> {
  const { db, secrets, owner, idempotency } = input;
  const context = idempotency ? idempotentResponseContext(owner, idempotency.key) : '';
  const remember: Remember = async (status, body) =>
    idempotency &&
    rememberResponseCte({
      owner,
      request: idempotency,
      status,
      bodySealed: await secrets.seal(body, context),
      requestId: input.requestId,
    });

  for (let attempt = 1; ; attempt++) {
    const lastAttempt = attempt === MAX_ATTEMPTS;
    let outcome: WriteOutcome | { kind: 'key-taken' };
    try {
      outcome = await input.write(remember);
    } catch (error) {
      if (idempotency && violatedConstraint(error, 'unique') === 'idempotency_keys_pkey') {
        outcome = { kind: 'key-taken' };
      } else if (!lastAttempt && (isTransientConflict(error) || input.retryOn?.(error))) {
        continue;
      } else {
        throw error;
      }
    }
    if (outcome.kind === 'done') return { kind: 'fresh', status: outcome.status, body: outcome.body };

    // Not written. Under an Idempotency-Key an earlier request's response comes first: it may have taken
    // the key (or, concurrently, what this request needed, such as the account's last slot) a moment before.
    if (idempotency) {
      const record = await findIdempotencyRecord(db, owner, idempotency.key);
      if (record && isLive(record)) {
        if (record.requestFingerprint !== idempotency.fingerprint) {
          throw new ApiError(
            'IDEMPOTENCY_KEY_REUSED',
            'This Idempotency-Key was already used with a different request body',
            {
              details: { idempotencyKey: idempotency.key },
            },
          );
        }
        return {
          kind: 'replayed',
          status: record.responseStatus,
          body: await secrets.open(record.responseBodySealed, context),
          originalRequestId: record.originalRequestId,
        };
      }
      if (outcome.kind === 'key-taken' && !lastAttempt) {
        // An expired record not purged yet (free it), or one purged since: try again.
        if (record) await deleteExpiredIdempotencyRecord(db, owner, idempotency.key);
        continue;
      }
    }
    // The key kept changing hands under us; the client's retry will settle it.
    if (outcome.kind === 'key-taken') throw serviceUnavailable(1);
    throw outcome.error;
  }
}
