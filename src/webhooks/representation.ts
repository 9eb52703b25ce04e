import type { WebhookEvent } from '../events/event-types.ts';

/** A webhook as the API returns it. Header values are never returned, the signing secret only on create. */
export interface Webhook {
  id: string;
  url: string;
  events: WebhookEvent[];
  name: string | null;
  description: string | null;
  companyId: string | null;
  headers: { name: string; isMasked: true }[];
  isActive: boolean;
  apiKeyId: string;
  maxRetries: number;
  timeoutMs: number;
  consecutiveFailures: number;
  circuitOpenedAt: string | null;
  createdAt: string;
  updatedAt: string;
}

/** The create response: the only one that ever carries `signingSecret`. */
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
  consecutiveFailures: number;
  circuitOpenedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
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
    consecutiveFailures: row.consecutiveFailures,
    circuitOpenedAt: row.circuitOpenedAt?.toISOString() ?? null,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

export function toCreatedWebhook(row: WebhookRow, signingSecret: string): CreatedWebhook {
  const { id, ...rest } = toWebhook(row);
  return { id, signingSecret, ...rest };
}
