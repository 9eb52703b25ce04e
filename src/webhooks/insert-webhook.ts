import { sql } from 'drizzle-orm';
import type { Database } from '../db/client.ts';
import { accounts, companies, webhooks } from '../db/schema.ts';
import type { WebhookEvent } from './events.ts';

export interface NewWebhookRow {
  id: string;
  accountId: string;
  apiKeyId: string;
  companyId: string | null;
  url: string;
  events: WebhookEvent[];
  name: string | null;
  description: string | null;
  headerNames: string[];
  headerValuesSealed: string | null;
  signingSecretSealed: string;
  maxRetries: number;
  timeoutMs: number;
  createdAt: Date;
}

export type InsertOutcome =
  | { kind: 'created' }
  | { kind: 'company-inaccessible' }
  | { kind: 'limit-reached'; limit: number }
  | { kind: 'account-missing' };

/**
 * Creates the webhook in one statement: it takes a slot from the account's webhook count (the row lock
 * makes concurrent creates queue, so the limit holds under any interleaving), checks the company
 * belongs to the account, and inserts. Nothing is written unless all of it succeeds.
 */
export async function insertWebhook(db: Database, row: NewWebhookRow, defaultLimit: number): Promise<InsertOutcome> {
  const companyAccessible = sql`(${row.companyId}::uuid is null or exists (
    select 1 from ${companies} where ${companies.id} = ${row.companyId}::uuid and ${companies.accountId} = ${row.accountId}::uuid))`;
  const createdAt = row.createdAt.toISOString();
  const result = await db.execute<{
    created: number;
    account_exists: boolean;
    company_accessible: boolean;
    webhook_limit: number;
  }>(sql`
    with slot as (
      update ${accounts} set webhook_count = webhook_count + 1
      where ${accounts.id} = ${row.accountId}::uuid
        and webhook_count < coalesce(max_webhooks, ${defaultLimit}::int)
        and ${companyAccessible}
      returning ${accounts.id}
    ), created as (
      insert into ${webhooks} (id, account_id, api_key_id, company_id, url, events, name, description,
        header_names, header_values_sealed, signing_secret_sealed, max_retries, timeout_ms, created_at, updated_at)
      select ${row.id}::uuid, slot.id, ${row.apiKeyId}::uuid, ${row.companyId}::uuid, ${row.url},
        ${sql.param(row.events)}::webhook_event[], ${row.name}, ${row.description}, ${sql.param(row.headerNames)}::text[],
        ${row.headerValuesSealed}, ${row.signingSecretSealed}, ${row.maxRetries}::int, ${row.timeoutMs}::int,
        ${createdAt}::timestamptz, ${createdAt}::timestamptz
      from slot
      returning 1
    )
    select (select count(*) from created)::int as created,
      exists (select 1 from ${accounts} where ${accounts.id} = ${row.accountId}::uuid) as account_exists,
      ${companyAccessible} as company_accessible,
      (select coalesce(max_webhooks, ${defaultLimit}::int) from ${accounts} where ${accounts.id} = ${row.accountId}::uuid) as webhook_limit`);
  const [outcome] = result.rows;
  if (outcome?.created === 1) return { kind: 'created' };
  if (!outcome?.account_exists) return { kind: 'account-missing' };
  if (!outcome.company_accessible) return { kind: 'company-inaccessible' };
  return { kind: 'limit-reached', limit: outcome.webhook_limit };
}
