import { env } from 'cloudflare:workers';
import { type SQL, sql } from 'drizzle-orm';
import { createDatabase, type Database } from '../../src/db/client.ts';

/** Runs `work` against the test database through the same driver and endpoint as the Worker. */
export function withDatabase<T>(work: (db: Database) => Promise<T>): Promise<T> {
  return work(createDatabase(env, 'webhooks tests'));
}

/**
 * Runs `lockingSelect` (a SELECT … FOR UPDATE) and keeps its transaction, and so its row locks, open
 * for `seconds`: one non-interactive batch, as the HTTP transport allows.
 */
export async function holdRowLock(lockingSelect: SQL, seconds: number): Promise<void> {
  await withDatabase((db) => db.batch([db.execute(lockingSelect), db.execute(sql`select pg_sleep(${seconds})`)]));
}

/** Another transaction holding the webhook's row lock for `seconds`: what lock-order tests queue behind. */
export function holdWebhookRow(webhookId: string, seconds: number): Promise<void> {
  return holdRowLock(sql`select id from webhooks where id = ${webhookId}::uuid for update`, seconds);
}

/** Webhooks the account holds, counted both ways: the rows and the account's counter. */
export async function webhookCounts(accountId: string): Promise<{ rows: number; counter: number }> {
  return withDatabase(async (db) => {
    const result = await db.execute<{ rows: number; counter: number }>(sql`
      select (select count(*)::int from webhooks where account_id = ${accountId}::uuid) as rows,
             (select webhook_count from accounts where id = ${accountId}::uuid) as counter`);
    return result.rows[0] as { rows: number; counter: number };
  });
}

export type StoredWebhook = {
  id: string;
  account_id: string;
  api_key_id: string;
  company_id: string | null;
  url: string;
  events: string;
  name: string | null;
  description: string | null;
  header_names: string[];
  headers_sealed: string | null;
  header_values_sealed: string | null;
  signing_secret_sealed: string;
  is_active: boolean;
  max_retries: number;
  timeout_ms: number;
  consecutive_failures: number;
  circuit_opened_at: string | null;
  created_at: string;
  updated_at: string;
  revision: number;
  /** The whole row as Postgres would dump it. */
  dump: string;
};

export async function storedWebhook(id: string): Promise<StoredWebhook | undefined> {
  return withDatabase(async (db) => {
    const result = await db.execute<StoredWebhook>(sql`
      select w.*, w.events::text as events, to_json(w.created_at)#>>'{}' as created_at,
             to_json(w.updated_at)#>>'{}' as updated_at, row_to_json(w)::text as dump
      from webhooks w where w.id = ${id}::uuid`);
    return result.rows[0];
  });
}
