// Operator actions shared by the CLI (scripts/cli.ts) and the tests. Nothing here is reachable over HTTP.
import type { AnyDatabase } from '../db/client.ts';
import { accounts, companies } from '../db/schema.ts';

export async function createAccount(
  db: AnyDatabase,
  input: { name: string; maxWebhooks?: number | null },
): Promise<{ id: string }> {
  const [row] = await db
    .insert(accounts)
    .values({ name: input.name, maxWebhooks: input.maxWebhooks ?? null })
    .returning({ id: accounts.id });
  return row as { id: string };
}

export async function createCompany(
  db: AnyDatabase,
  input: { accountId: string; name: string; subdomain?: string | null },
): Promise<{ id: string }> {
  const [row] = await db
    .insert(companies)
    .values({ accountId: input.accountId, name: input.name, subdomain: input.subdomain ?? null })
    .returning({ id: companies.id });
  return row as { id: string };
}
