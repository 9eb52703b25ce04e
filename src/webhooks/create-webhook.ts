import type { ApiKey } from '../auth/api-key.ts';
import type { Database } from '../db/client.ts';
import { ApiError, unauthorized } from '../lib/api-error.ts';
import type { SecretBox } from '../lib/secret-box.ts';
import type { CreateWebhookBody } from './create-webhook-schema.ts';
import type { WebhookEvent } from './events.ts';
import { insertWebhook } from './insert-webhook.ts';
import { generateSigningSecret, headerValuesContext, signingSecretContext } from './webhook-secrets.ts';

export const DEFAULT_MAX_RETRIES = 3;
export const DEFAULT_TIMEOUT_MS = 30_000;

/** The created webhook as the API returns it: the only response that ever carries `signingSecret`. */
export interface CreatedWebhook {
  id: string;
  signingSecret: string;
  url: string;
  events: WebhookEvent[];
  name: string | null;
  description: string | null;
  companyId: string | null;
  headers: { name: string; isMasked: true }[];
  isActive: true;
  apiKeyId: string;
  maxRetries: number;
  timeoutMs: number;
  consecutiveFailures: 0;
  circuitOpenedAt: null;
  createdAt: string;
  updatedAt: string;
}

interface CreateWebhookInput {
  db: Database;
  secrets: SecretBox;
  apiKey: ApiKey;
  body: CreateWebhookBody;
  maxWebhooksPerAccount: number;
}

function companyAccessDenied(companyId: string): ApiError {
  // Same answer whether the company is another account's or does not exist at all.
  return new ApiError('RESOURCE_ACCESS_DENIED', 'This API key cannot access the given company', {
    details: { companyId },
  });
}

export async function createWebhook({
  db,
  secrets,
  apiKey,
  body,
  maxWebhooksPerAccount,
}: CreateWebhookInput): Promise<CreatedWebhook> {
  const companyId = body.companyId?.toLowerCase() ?? null;
  if (companyId !== null && apiKey.companyIds !== null && !apiKey.companyIds.includes(companyId)) {
    throw companyAccessDenied(companyId);
  }
  const id = crypto.randomUUID();
  const signingSecret = generateSigningSecret();
  const headers = body.headers ?? [];
  const [signingSecretSealed, headerValuesSealed] = await Promise.all([
    secrets.seal(signingSecret, signingSecretContext(id)),
    headers.length > 0
      ? secrets.seal(JSON.stringify(headers.map((header) => header.value)), headerValuesContext(id))
      : null,
  ]);
  const events = [...new Set(body.events)] as WebhookEvent[];
  const createdAt = new Date();
  const row = {
    id,
    accountId: apiKey.accountId,
    apiKeyId: apiKey.id,
    companyId,
    url: body.url,
    events,
    name: body.name ?? null,
    description: body.description ?? null,
    headerNames: headers.map((header) => header.name),
    headerValuesSealed,
    signingSecretSealed,
    maxRetries: DEFAULT_MAX_RETRIES,
    timeoutMs: DEFAULT_TIMEOUT_MS,
    createdAt,
  };
  const outcome = await insertWebhook(db, row, maxWebhooksPerAccount);
  if (outcome.kind === 'company-inaccessible') throw companyAccessDenied(companyId as string);
  // The key's account was deleted while the key sat in the cache.
  if (outcome.kind === 'account-missing') throw unauthorized('API key is not valid');
  if (outcome.kind === 'limit-reached') {
    throw new ApiError('WEBHOOK_LIMIT_REACHED', `This account has reached its limit of ${outcome.limit} webhooks`, {
      details: { limit: outcome.limit },
    });
  }
  return {
    id,
    signingSecret,
    url: row.url,
    events,
    name: row.name,
    description: row.description,
    companyId,
    headers: row.headerNames.map((name) => ({ name, isMasked: true })),
    isActive: true,
    apiKeyId: apiKey.id,
    maxRetries: row.maxRetries,
    timeoutMs: row.timeoutMs,
    consecutiveFailures: 0,
    circuitOpenedAt: null,
    createdAt: createdAt.toISOString(),
    updatedAt: createdAt.toISOString(),
  };
}
