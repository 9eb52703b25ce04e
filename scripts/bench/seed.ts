// Accounts and keys for the benchmark, inserted in bulk (creating thousands of keys one by one
// would take longer than the measurement).
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
    const account = await client.query<{ id: string }>(
      `insert into accounts (name, max_webhooks) values ('Bench account', 2000000000) returning id`,
    );
    const accountId = account.rows[0]?.id as string;
    const tokens = Array.from({ length: 1 + cachedKeys + uncachedKeys }, () => generateApiToken());
    const hashes = await Promise.all(tokens.map((token) => hashApiToken(token)));
    const keys = await client.query<{ id: string }>(
      `insert into api_keys (account_id, token_hash, scopes, name)
       select $1, hash, '{write:webhooks}', 'bench' from unnest($2::text[]) with ordinality as t(hash, n) order by n
       returning id`,
      [accountId, hashes],
    );
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
