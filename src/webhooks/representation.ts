import * as z from 'zod/mini';
import { WEBHOOK_EVENTS, type WebhookEvent } from '../events/event-types.ts';
import { storedCount } from '../http/integers.ts';

const timestamp = z.string().check(z.meta({ format: 'date-time' }));

export const DISABLED_REASONS = ['FAILING', 'GONE', 'MANUAL'] as const;
export type DisabledReason = (typeof DISABLED_REASONS)[number];

/** The webhook's health at a glance; GET /webhooks/{id}/stats has the detail. */
const health = z
  .object({
    status: z.enum(['healthy', 'failing', 'circuit_open', 'disabled']).check(
      z.meta({
        description:
          'disabled: isActive is false (disabledReason says why); circuit_open: deliveries are skipped until a ' +
          'probe succeeds; failing: the last attempt failed; healthy: it succeeded, or none was made yet',
      }),
    ),
    failingSince: z
      .nullable(timestamp)
      .check(z.meta({ description: 'The first failed attempt since the last success' })),
    lastSuccessAt: z.nullable(timestamp),
  })
  .check(z.meta({ id: 'WebhookHealth' }));

/**
 * A webhook as the API returns it: the shape every route answers with, and the OpenAPI document's
 * Webhook schema. Header values are never returned, the signing secret only on create.
 */
const webhookShape = {
  id: z.string().check(z.meta({ format: 'uuid' })),
  url: z.string().check(z.meta({ format: 'uri' })),
  events: z.array(z.enum(WEBHOOK_EVENTS)),
  name: z.nullable(z.string()),
  description: z.nullable(z.string()),
  companyId: z.nullable(z.string().check(z.meta({ format: 'uuid' }))),
  headers: z.array(z.object({ name: z.string(), isMasked: z.literal(true) })),
  isActive: z.boolean(),
  apiKeyId: z.string().check(z.meta({ format: 'uuid' })),
  maxRetries: storedCount(),
  timeoutMs: storedCount(),
  rateLimitPerSecond: z.nullable(
    z
      .int()
      .check(z.minimum(1), z.maximum(1000), z.meta({ description: 'Deliveries a second at most; null: no limit' })),
  ),
  consecutiveFailures: storedCount(),
  circuitOpenedAt: z.nullable(timestamp),
  disabledReason: z.nullable(z.enum(DISABLED_REASONS)).check(
    z.meta({
      description:
        'Why isActive is false: FAILING (no successful attempt for 5 days), GONE (the endpoint answered 410), ' +
        'MANUAL (PATCH isActive: false); null while active',
    }),
  ),
  disabledAt: z.nullable(timestamp),
  health,
  createdAt: timestamp,
  updatedAt: timestamp,
};

export const webhookResource = z.object(webhookShape).check(z.meta({ id: 'Webhook' }));

export type Webhook = z.output<typeof webhookResource>;

/** The create response: the webhook, with the signing secret, shown this once. */
export const createdWebhookResource = z
  .object({
    ...webhookShape,
    signingSecret: z
      .string()
      .check(
        z.meta({ description: '64 hex characters; the HMAC key is this string base64-decoded (Standard Webhooks)' }),
      ),
  })
  .check(z.meta({ id: 'CreatedWebhook' }));

/** The create response: the only one that ever carries `signingSecret`, second in the object. */
export type CreatedWebhook = Pick<Webhook, 'id'> & { signingSecret: string } & Omit<Webhook, 'id'>;

/** The stored columns the resource is made of. */
export interface WebhookRow {
  id: string;
  apiKeyId: string;
  companyId: string | null;
  url: string;
  events: WebhookEvent[];
  name: string | null;
  description: string | null;
  headerNames: string[];
  isActive: boolean;
  maxRetries: number;
  timeoutMs: number;
  rateLimitPerSecond: number | null;
  consecutiveFailures: number;
  circuitOpenedAt: Date | null;
  failingSince: Date | null;
  lastSuccessAt: Date | null;
  disabledReason: DisabledReason | null;
  disabledAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

function healthStatus(row: WebhookRow): Webhook['health']['status'] {
  if (!row.isActive) return 'disabled';
  if (row.circuitOpenedAt !== null) return 'circuit_open';
  return row.failingSince === null ? 'healthy' : 'failing';
}

/** The one function that turns a stored webhook into the API resource. */
export function toWebhook(row: WebhookRow): Webhook {
  return {
    id: row.id,
    url: row.url,
    events: row.events,
    name: row.name,
    description: row.description,
    companyId: row.companyId,
    headers: row.headerNames.map((name) => ({ name, isMasked: true })),
    isActive: row.isActive,
    apiKeyId: row.apiKeyId,
    maxRetries: row.maxRetries,
    timeoutMs: row.timeoutMs,
    rateLimitPerSecond: row.rateLimitPerSecond,
    consecutiveFailures: row.consecutiveFailures,
    circuitOpenedAt: row.circuitOpenedAt?.toISOString() ?? null,
    disabledReason: row.disabledReason,
    disabledAt: row.disabledAt?.toISOString() ?? null,
    health: {
      status: healthStatus(row),
      failingSince: row.failingSince?.toISOString() ?? null,
      lastSuccessAt: row.lastSuccessAt?.toISOString() ?? null,
    },
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

export function toCreatedWebhook(row: WebhookRow, signingSecret: string): CreatedWebhook {
  const { id, ...rest } = toWebhook(row);
  return { id, signingSecret, ...rest };
}
