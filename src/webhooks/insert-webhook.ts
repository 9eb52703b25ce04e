import { type SQL, sql } from 'drizzle-orm';
import type { Database } from '../db/client.ts';
import { accounts, companies, idempotencyKeys, webhooks } from '../db/schema.ts';
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

/** The response to keep under an Idempotency-Key, written only if the webhook is. */
export interface RememberedResponse {
  key: string;
  fingerprint: string;
  status: number;
  bodySealed: string;
  requestId: string;
}

export type InsertOutcome =
  | { kind: 'created' }
  | { kind: 'company-inaccessible' }
  | { kind: 'limit-reached'; limit: number }
  | { kind: 'account-missing' };

/**
 * Creates the webhook in one statement: it takes a slot from the account's webhook count (the row lock
 * makes concurrent creates queue, so the limit holds under any interleaving), checks the company
 * belongs to the account, inserts, and records the response under the Idempotency-Key. Nothing is
 * written unless all of it succeeds; a key already taken fails the whole statement (23505).
 */
export async function insertWebhook(
  db: Database,
  row: NewWebhookRow,
  defaultLimit: number,
  remember?: RememberedResponse,
): Promise<InsertOutcome> {
  const account = sql`${row.accountId}::uuid`;
  const company = sql`${row.companyId}::uuid`;
  const createdAt = sql`${row.createdAt.toISOString()}::timestamptz`;
  const companyAccessible = sql`(${company} is null or exists (
    select 1 from ${companies} where ${companies.id} = ${company} and ${companies.accountId} = ${account}))`;
  const rememberResponse: SQL = remember
    ? sql`, remembered as (
        insert into ${idempotencyKeys} (account_id, key, request_fingerprint, response_status, response_body_sealed,
          original_request_id, created_at)
        select ${account}, ${remember.key}, ${remember.fingerprint}, ${remember.status}::int, ${remember.bodySealed},
          ${remember.requestId}, ${createdAt}
        from created
        returning 1
      )`
    : sql``;
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
    ), created as (
      insert into ${webhooks} (id, account_id, api_key_id, company_id, url, events, name, description,
        header_names, header_values_sealed, signing_secret_sealed, max_retries, timeout_ms, created_at, updated_at)
      select ${row.id}::uuid, slot.id, ${row.apiKeyId}::uuid, ${company}, ${row.url},
        ${sql.param(row.events)}::webhook_event[], ${row.name}, ${row.description}, ${sql.param(row.headerNames)}::text[],
        ${row.headerValuesSealed}, ${row.signingSecretSealed}, ${row.maxRetries}::int, ${row.timeoutMs}::int,
        ${createdAt}, ${createdAt}
      from slot
      returning 1
    )${rememberResponse}
    select (select count(*) from created)::int as created,
      exists (select 1 from ${accounts} where ${accounts.id} = ${account}) as account_exists,
      ${companyAccessible} as company_accessible,
      (select coalesce(max_webhooks, ${defaultLimit}::int) from ${accounts} where ${accounts.id} = ${account}) as webhook_limit`);
  const [outcome] = result.rows;
  if (outcome?.created === 1) return { kind: 'created' };
  if (!outcome?.account_exists) return { kind: 'account-missing' };
  if (!outcome.company_accessible) return { kind: 'company-inaccessible' };
  return { kind: 'limit-reached', limit: outcome.webhook_limit };
}
