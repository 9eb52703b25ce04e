import { desc, eq } from 'drizzle-orm';
import type { AnyDatabase } from '../db/client.ts';
import { webhooks } from '../db/schema.ts';

/** An account's webhooks, newest first, as an operator sees them (no secrets, no header values). */
export async function listAccountWebhooks(db: AnyDatabase, accountId: string) {
  return db
    .select({
      id: webhooks.id,
      url: webhooks.url,
      events: webhooks.events,
      name: webhooks.name,
      companyId: webhooks.companyId,
      apiKeyId: webhooks.apiKeyId,
      isActive: webhooks.isActive,
      consecutiveFailures: webhooks.consecutiveFailures,
      circuitOpenedAt: webhooks.circuitOpenedAt,
      createdAt: webhooks.createdAt,
    })
    .from(webhooks)
    .where(eq(webhooks.accountId, accountId))
    .orderBy(desc(webhooks.createdAt), desc(webhooks.id));
}
