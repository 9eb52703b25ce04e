// The webhooks table, one statement per operation.
import { type SQL, sql } from 'drizzle-orm';
import type { Database } from '../db/client.ts';
import { accounts, companies, webhooks } from '../db/schema.ts';
import type { WebhookRow } from './representation.ts';

export interface NewWebhook extends WebhookRow {
  accountId: string;
  headersSealed: string | null;
  signingSecretSealed: string;
}

export type InsertOutcome =
  | { kind: 'created' }
  | { kind: 'company-inaccessible' }
  | { kind: 'limit-reached'; limit: number }
  | { kind: 'account-missing' };

/**
 * Creates the webhook in one statement: it takes a slot from the account's webhook count (the row lock
 * makes concurrent creates queue, so the limit holds under any interleaving), checks the company
 * belongs to the account, inserts, and runs `remember` (an Idempotency-Key record, written only if the
 * webhook is). Nothing is written unless all of it succeeds.
 */
export async function insertWebhook(
  db: Database,
  row: NewWebhook,
  defaultLimit: number,
  remember?: SQL,
): Promise<InsertOutcome> {
  const account = sql`${row.accountId}::uuid`;
  const company = sql`${row.companyId}::uuid`;
  const createdAt = sql`${row.createdAt.toISOString()}::timestamptz`;
  const companyAccessible = sql`(${company} is null or exists (
    select 1 from ${companies} where ${companies.id} = ${company} and ${companies.accountId} = ${account}))`;
  const result = await db.execute<{
    created: number;
    account_exists: boolean;
    company_accessible: boolean;
    webhook_limit: number;
  }>(sql`
    with slot as (
      update ${accounts} set webhook_count = webhook_count + 1
      where ${accounts.id} = ${account}
        and webhook_count < coalesce(max_webhooks, ${defaultLimit}::int)
        and ${companyAccessible}
      returning ${accounts.id}
    ), done as (
      insert into ${webhooks} (id, account_id, api_key_id, company_id, url, events, name, description,
        header_names, headers_sealed, signing_secret_sealed, max_retries, timeout_ms, created_at, updated_at)
      select ${row.id}::uuid, slot.id, ${row.apiKeyId}::uuid, ${company}, ${row.url},
        ${sql.param(row.events)}::webhook_event[], ${row.name}, ${row.description}, ${sql.param(row.headerNames)}::text[],
        ${row.headersSealed}, ${row.signingSecretSealed}, ${row.maxRetries}::int, ${row.timeoutMs}::int,
        ${createdAt}, ${createdAt}
      from slot
      returning 1
    )${remember ? sql`, ${remember}` : sql``}
    select (select count(*) from done)::int as created,
      exists (select 1 from ${accounts} where ${accounts.id} = ${account}) as account_exists,
      ${companyAccessible} as company_accessible,
      (select coalesce(max_webhooks, ${defaultLimit}::int) from ${accounts} where ${accounts.id} = ${account}) as webhook_limit`);
  const [outcome] = result.rows;
  if (outcome?.created === 1) return { kind: 'created' };
  if (!outcome?.account_exists) return { kind: 'account-missing' };
  if (!outcome.company_accessible) return { kind: 'company-inaccessible' };
  return { kind: 'limit-reached', limit: outcome.webhook_limit };
}
