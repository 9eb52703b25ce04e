// Accounts and keys for the benchmark, inserted in bulk (creating thousands of keys one by one
// would take longer than the measurement). Every key has an account of its own, with the default
// webhook limit: integrations register webhooks now and then, not thousands a minute into one
// account, whose row lock (the race-free limit) would otherwise serialise every create.
import pg from 'pg';
import { generateApiToken, hashApiToken } from '../../src/auth/api-token.ts';

export interface BenchSeed {
  accountId: string;
  apiKeyId: string;
  /** Keys the cached-key phase cycles through, each warmed into KV first. */
  cachedTokens: string[];
  /** One key per request of the uncached phase: none of them is ever in KV. */
  uncachedTokens: string[];
}

export async function seedBench(databaseUrl: string, cachedKeys: number, uncachedKeys: number): Promise<BenchSeed> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const tokens = Array.from({ length: 1 + cachedKeys + uncachedKeys }, () => generateApiToken());
    const hashes = await Promise.all(tokens.map((token) => hashApiToken(token)));
    const keys = await client.query<{ id: string; account_id: string }>(
      `with accounts_made as (
         insert into accounts (name) select 'Bench account ' || n from generate_series(1, $1::int) n returning id
       ), numbered as (
         select id, row_number() over () as n from accounts_made
       )
       insert into api_keys (account_id, token_hash, scopes, name)
       select numbered.id, t.hash, '{write:webhooks,read:webhooks}', 'bench'
       from unnest($2::text[]) with ordinality as t(hash, n) join numbered using (n) order by t.n
       returning id, account_id`,
      [hashes.length, hashes],
    );
    const accountId = keys.rows[0]?.account_id as string;
    // Statistics must count only what the Worker sends.
    await client
      .query(
        `select format('alter table %I set (autovacuum_enabled = false)', tablename) from pg_tables where schemaname = 'public'`,
      )
      .then(async ({ rows }) => {
        for (const row of rows as { format: string }[]) await client.query(row.format);
      });
    return {
      accountId,
      apiKeyId: keys.rows[0]?.id as string,
      cachedTokens: tokens.slice(1, 1 + cachedKeys),
      uncachedTokens: tokens.slice(1 + cachedKeys),
    };
  } finally {
    await client.end();
  }
}

/** An account of its own for the delivery workload, and a key that can create its webhooks. */
export async function seedDeliveryAccount(databaseUrl: string): Promise<{ accountId: string; token: string }> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const token = generateApiToken();
    const result = await client.query<{ account_id: string }>(
      `with account as (insert into accounts (name) values ('Bench deliveries') returning id)
       insert into api_keys (account_id, token_hash, scopes, name)
       select id, $1, '{write:webhooks,read:webhooks}', 'bench deliveries' from account
       returning account_id`,
      [await hashApiToken(token)],
    );
    return { accountId: result.rows[0]?.account_id as string, token };
  } finally {
    await client.end();
  }
}
