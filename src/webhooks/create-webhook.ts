import type { ApiKey } from '../auth/api-key.ts';
import type { Database } from '../db/client.ts';
import { postgresErrorOf } from '../db/errors.ts';
import { type IdempotentRequest, idempotentResponseContext } from '../idempotency/idempotency-key.ts';
import { deleteExpiredIdempotencyRecord, findIdempotencyRecord, isLive } from '../idempotency/idempotency-store.ts';
import { ApiError, serviceUnavailable, unauthorized } from '../lib/api-error.ts';
import type { SecretBox } from '../lib/secret-box.ts';
import type { CreateWebhookBody } from './create-webhook-schema.ts';
import { type InsertOutcome, insertWebhook } from './insert-webhook.ts';
import { prepareWebhook } from './prepare-webhook.ts';

const CREATED = 201;
/** Attempts of the insert statement when Postgres reports a transient conflict. */
const MAX_ATTEMPTS = 3;
/** Transient: serialization failure, deadlock, a (vanishingly unlikely) clash of random webhook ids. */
const RETRYABLE = new Set(['40001', '40P01']);

export interface CreateWebhookInput {
  db: Database;
  secrets: SecretBox;
  apiKey: ApiKey;
  body: CreateWebhookBody;
  maxWebhooksPerAccount: number;
  requestId: string;
  idempotency?: IdempotentRequest;
}

export type CreateWebhookResult =
  | { kind: 'created'; status: number; body: string }
  | { kind: 'replayed'; status: number; body: string; originalRequestId: string };

function companyAccessDenied(companyId: string | null): ApiError {
  // Same answer whether the company is another account's or does not exist at all.
  return new ApiError('RESOURCE_ACCESS_DENIED', 'This API key cannot access the given company', {
    details: { companyId },
  });
}

function outcomeError(outcome: Exclude<InsertOutcome, { kind: 'created' }>, companyId: string | null): ApiError {
  switch (outcome.kind) {
    case 'company-inaccessible':
      return companyAccessDenied(companyId);
    // The key's account was deleted while the key sat in the cache.
    case 'account-missing':
      return unauthorized('API key is not valid');
    case 'limit-reached':
      return new ApiError('WEBHOOK_LIMIT_REACHED', `This account has reached its limit of ${outcome.limit} webhooks`, {
        details: { limit: outcome.limit },
      });
  }
}

/** What an integrity error raised by the insert means for the caller; undefined when it is not one. */
function integrityError(error: unknown, companyId: string | null): ApiError | undefined {
  const postgresError = postgresErrorOf(error);
  if (postgresError?.code === '23503') {
    // A company or key deleted between the checks and the insert.
    return postgresError.constraint === 'webhooks_account_company_fk'
      ? companyAccessDenied(companyId)
      : unauthorized('API key is not valid');
  }
  if (postgresError?.code === '23505')
    return new ApiError('CONFLICT', 'The webhook conflicts with one created at the same moment; retry');
  return undefined;
}

export async function createWebhook(input: CreateWebhookInput): Promise<CreateWebhookResult> {
  const { db, secrets, apiKey, body, idempotency } = input;
  const companyId = body.companyId?.toLowerCase() ?? null;
  if (companyId !== null && apiKey.companyIds !== null && !apiKey.companyIds.includes(companyId)) {
    throw companyAccessDenied(companyId);
  }
  const responseContext = idempotency ? idempotentResponseContext(apiKey.accountId, idempotency.key) : '';

  for (let attempt = 1; ; attempt++) {
    const lastAttempt = attempt === MAX_ATTEMPTS;
    const prepared = await prepareWebhook(apiKey, body, secrets);
    const remember = idempotency && {
      key: idempotency.key,
      fingerprint: idempotency.fingerprint,
      status: CREATED,
      bodySealed: await secrets.seal(prepared.responseBody, responseContext),
      requestId: input.requestId,
    };

    let outcome: InsertOutcome | { kind: 'idempotency-key-taken' };
    try {
      outcome = await insertWebhook(db, prepared.row, input.maxWebhooksPerAccount, remember);
    } catch (error) {
      const postgresError = postgresErrorOf(error);
      if (idempotency && postgresError?.code === '23505' && postgresError.constraint === 'idempotency_keys_pkey') {
        outcome = { kind: 'idempotency-key-taken' };
      } else if (
        !lastAttempt &&
        (RETRYABLE.has(postgresError?.code ?? '') || postgresError?.constraint === 'webhooks_pkey')
      ) {
        continue;
      } else {
        throw integrityError(error, companyId) ?? error;
      }
    }
    if (outcome.kind === 'created') return { kind: 'created', status: CREATED, body: prepared.responseBody };

    // Not created. Under an Idempotency-Key an earlier request's response comes first: it may have taken
    // the key (or, concurrently, the account's last slot) a moment before this statement ran.
    if (idempotency) {
      const record = await findIdempotencyRecord(db, apiKey.accountId, idempotency.key);
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
          body: await secrets.open(record.responseBodySealed, responseContext),
          originalRequestId: record.originalRequestId,
        };
      }
      if (outcome.kind === 'idempotency-key-taken' && !lastAttempt) {
        // An expired record not purged yet (free it), or one purged since: try again.
        if (record) await deleteExpiredIdempotencyRecord(db, apiKey.accountId, idempotency.key);
        continue;
      }
    }
    // The key kept changing hands under us; the client's retry will settle it.
    if (outcome.kind === 'idempotency-key-taken') throw serviceUnavailable(1);
    throw outcomeError(outcome, companyId);
  }
}
