import type { ApiKey } from '../auth/api-key.ts';
import type { Database } from '../db/client.ts';
import { violatedConstraint } from '../db/errors.ts';
import type { WebhookEvent } from '../events/event-types.ts';
import { successEnvelope } from '../http/envelope.ts';
import { ApiError, unauthorized } from '../http/errors.ts';
import type { IdempotentRequest } from '../idempotency/idempotency-key.ts';
import { type IdempotentResult, writeIdempotently } from '../idempotency/replay.ts';
import type { SecretBox } from '../lib/secret-box.ts';
import { canReachCompany } from './access.ts';
import { toCreatedWebhook } from './representation.ts';
import type { CreateWebhookBody } from './schema.ts';
import { generateSigningSecret, sealHeaders, signingSecretContext } from './secrets.ts';
import { type InsertOutcome, insertWebhook, type NewWebhook } from './store.ts';

export const DEFAULT_MAX_RETRIES = 3;
export const DEFAULT_TIMEOUT_MS = 30_000;
const CREATED = 201;

export interface CreateWebhookInput {
  db: Database;
  secrets: SecretBox;
  apiKey: ApiKey;
  body: CreateWebhookBody;
  maxWebhooksPerAccount: number;
  requestId: string;
  idempotency: IdempotentRequest | undefined;
}

function companyAccessDenied(companyId: string | null): ApiError {
  // Same answer whether the company is another account's or does not exist at all.
  return new ApiError('RESOURCE_ACCESS_DENIED', 'This API key cannot access the given company', {
    details: { companyId },
  });
}

function refusal(outcome: Exclude<InsertOutcome, { kind: 'created' }>, companyId: string | null): ApiError {
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
  const foreignKey = violatedConstraint(error, 'foreign-key');
  // A company or key deleted between the checks and the insert.
  if (foreignKey !== undefined) {
    return foreignKey === 'webhooks_account_company_fk'
      ? companyAccessDenied(companyId)
      : unauthorized('API key is not valid');
  }
  const unique = violatedConstraint(error, 'unique');
  // The Idempotency-Key's and the webhook id's own conflicts are the retry loop's to handle.
  if (unique !== undefined && unique !== 'idempotency_keys_pkey' && unique !== 'webhooks_pkey') {
    return new ApiError('CONFLICT', 'The webhook conflicts with one created at the same moment; retry');
  }
  return undefined;
}

/** Mints the id and signing secret and seals what must not be stored in clear. */
async function prepareWebhook(apiKey: ApiKey, body: CreateWebhookBody, secrets: SecretBox) {
  const id = crypto.randomUUID();
  const signingSecret = generateSigningSecret();
  const [signingSecretSealed, headersSealed] = await Promise.all([
    secrets.seal(signingSecret, signingSecretContext(id)),
    sealHeaders(secrets, id, body.headers ?? []),
  ]);
  const createdAt = new Date();
  const row: NewWebhook = {
    id,
    accountId: apiKey.accountId,
    apiKeyId: apiKey.id,
    companyId: body.companyId?.toLowerCase() ?? null,
    // The serialisation the URL policy judged, not the text as sent (webhooks/url-policy.ts).
    url: new URL(body.url).href,
    events: [...new Set(body.events)] as WebhookEvent[],
    name: body.name ?? null,
    description: body.description ?? null,
    headerNames: (body.headers ?? []).map((header) => header.name),
    headersSealed,
    signingSecretSealed,
    isActive: true,
    maxRetries: DEFAULT_MAX_RETRIES,
    timeoutMs: DEFAULT_TIMEOUT_MS,
    rateLimitPerSecond: body.rateLimitPerSecond ?? null,
    consecutiveFailures: 0,
    circuitOpenedAt: null,
    failingSince: null,
    lastSuccessAt: null,
    disabledReason: null,
    disabledAt: null,
    createdAt,
    updatedAt: createdAt,
  };
  // Serialised once, so a replay returns the very same bytes.
  return { row, responseBody: JSON.stringify(successEnvelope(toCreatedWebhook(row, signingSecret))) };
}

export async function createWebhook(input: CreateWebhookInput): Promise<IdempotentResult> {
  const { db, secrets, apiKey, body } = input;
  const companyId = body.companyId?.toLowerCase() ?? null;
  if (companyId !== null && !canReachCompany(apiKey, companyId)) throw companyAccessDenied(companyId);
  return writeIdempotently({
    db,
    secrets,
    owner: { accountId: apiKey.accountId, apiKeyId: apiKey.id },
    idempotency: input.idempotency,
    requestId: input.requestId,
    // A (vanishingly unlikely) clash of random webhook ids: the next attempt mints a new one.
    retryOn: (error) => violatedConstraint(error, 'unique') === 'webhooks_pkey',
    write: async (remember) => {
      const prepared = await prepareWebhook(apiKey, body, secrets);
      let outcome: InsertOutcome;
      try {
        outcome = await insertWebhook(
          db,
          prepared.row,
          input.maxWebhooksPerAccount,
          await remember(CREATED, prepared.responseBody),
        );
      } catch (error) {
        throw integrityError(error, companyId) ?? error;
      }
      return outcome.kind === 'created'
        ? { kind: 'done', status: CREATED, body: prepared.responseBody }
        : { kind: 'refused', error: refusal(outcome, companyId) };
    },
  });
}
