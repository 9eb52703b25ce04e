import type { ApiKey } from '../auth/api-key.ts';
import { successEnvelope } from '../lib/envelope.ts';
import type { SecretBox } from '../lib/secret-box.ts';
import type { CreateWebhookBody } from './create-webhook-schema.ts';
import type { WebhookEvent } from './events.ts';
import type { NewWebhookRow } from './insert-webhook.ts';
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

export interface PreparedWebhook {
  row: NewWebhookRow;
  /** The 201 response body, serialised once so a replay returns the very same bytes. */
  responseBody: string;
}

/** Mints the id and signing secret, seals what must not be stored in clear, and renders the response. */
export async function prepareWebhook(
  apiKey: ApiKey,
  body: CreateWebhookBody,
  secrets: SecretBox,
): Promise<PreparedWebhook> {
  const id = crypto.randomUUID();
  const signingSecret = generateSigningSecret();
  const headers = body.headers ?? [];
  const [signingSecretSealed, headerValuesSealed] = await Promise.all([
    secrets.seal(signingSecret, signingSecretContext(id)),
    headers.length > 0
      ? secrets.seal(JSON.stringify(headers.map((header) => header.value)), headerValuesContext(id))
      : null,
  ]);
  const createdAt = new Date();
  const row: NewWebhookRow = {
    id,
    accountId: apiKey.accountId,
    apiKeyId: apiKey.id,
    companyId: body.companyId?.toLowerCase() ?? null,
    url: body.url,
    events: [...new Set(body.events)] as WebhookEvent[],
    name: body.name ?? null,
    description: body.description ?? null,
    headerNames: headers.map((header) => header.name),
    headerValuesSealed,
    signingSecretSealed,
    maxRetries: DEFAULT_MAX_RETRIES,
    timeoutMs: DEFAULT_TIMEOUT_MS,
    createdAt,
  };
  const webhook: CreatedWebhook = {
    id,
    signingSecret,
    url: row.url,
    events: row.events,
    name: row.name,
    description: row.description,
    companyId: row.companyId,
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
  return { row, responseBody: JSON.stringify(successEnvelope(webhook)) };
}
