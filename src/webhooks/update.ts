import type { SecretBox } from '../lib/secret-box.ts';
import type { UpdateWebhookBody } from './schema.ts';
import { sealHeaders } from './secrets.ts';
import type { WebhookChanges } from './store.ts';

/**
 * The columns a PATCH changes: only what was sent. The URL is stored as the policy judged it, events
 * without duplicates, and a new header list replaces the old one, sealed afresh for this webhook.
 */
export async function changesFrom(
  body: UpdateWebhookBody,
  webhookId: string,
  secrets: SecretBox,
): Promise<WebhookChanges> {
  const changes: WebhookChanges = {};
  if (body.url !== undefined) changes.url = new URL(body.url).href;
  if (body.events !== undefined) changes.events = [...new Set(body.events)];
  if (body.name !== undefined) changes.name = body.name;
  if (body.description !== undefined) changes.description = body.description;
  if (body.isActive !== undefined) changes.isActive = body.isActive;
  if (body.rateLimitPerSecond !== undefined) changes.rateLimitPerSecond = body.rateLimitPerSecond;
  if (body.headers !== undefined) {
    changes.headers = {
      names: body.headers.map((header) => header.name),
      sealed: await sealHeaders(secrets, webhookId, body.headers),
    };
  }
  return changes;
}
