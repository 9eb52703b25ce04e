import { eq, sql } from 'drizzle-orm';
import { generateApiToken, hashApiToken } from '../auth/api-token.ts';
import type { AnyDatabase } from '../db/client.ts';
import { apiKeyCompanies, apiKeys, companies } from '../db/schema.ts';

export class AdminError extends Error {
  override name = 'AdminError';
}

export interface CreateApiKeyInput {
  accountId: string;
  scopes: string[];
  /** Limit the key to these companies of the account; absent: all of them. */
  companyIds?: string[];
  expiresInSeconds?: number;
  name?: string;
}

/**
 * Creates a key and returns its token: the only time the token exists outside the caller's hands. One
 * statement (it also runs over the Worker's HTTP transport, which has no interactive transactions): the
 * key is inserted only if every company it is limited to belongs to the account, with its grants.
 */
export async function createApiKey(db: AnyDatabase, input: CreateApiKeyInput): Promise<{ id: string; token: string }> {
  const token = generateApiToken();
  const tokenHash = await hashApiToken(token);
  const companyIds = input.companyIds ? [...new Set(input.companyIds.map((id) => id.toLowerCase()))] : [];
  const expiresAt = input.expiresInSeconds === undefined ? null : new Date(Date.now() + input.expiresInSeconds * 1000);
  // Both drivers (node-postgres in the CLI, Neon's in the Worker and tests) answer with { rows }.
  const result = (await db.execute(sql`
    with wanted as (
      select unnest(${sql.param(companyIds)}::uuid[]) as company_id
    ), owned as (
      select ${companies.id} as company_id from ${companies}
      where ${companies.accountId} = ${input.accountId}::uuid and ${companies.id} in (select company_id from wanted)
    ), key as (
      insert into ${apiKeys} (account_id, name, token_hash, scopes, all_companies, expires_at)
      select ${input.accountId}::uuid, ${input.name ?? null}, ${tokenHash}, ${sql.param(input.scopes)}::text[],
        ${input.companyIds === undefined}, ${expiresAt?.toISOString() ?? null}::timestamptz
      where (select count(*) from owned) = (select count(*) from wanted)
      returning id
    ), grants as (
      insert into ${apiKeyCompanies} (api_key_id, company_id)
      select key.id, owned.company_id from key cross join owned
    )
    select (select id::text from key) as id`)) as unknown as { rows: { id: string | null }[] };
  const id = result.rows[0]?.id;
  if (!id) throw new AdminError('every company must exist and belong to the account');
  return { id, token };
}

/** The token hash a key's cache entry is filed under, or undefined when there is no such key. */
export async function apiKeyTokenHash(db: AnyDatabase, id: string): Promise<string | undefined> {
  const [row] = await db.select({ tokenHash: apiKeys.tokenHash }).from(apiKeys).where(eq(apiKeys.id, id));
  return row?.tokenHash;
}

/**
 * Marks a key revoked (revoking twice keeps the first time) and returns the token hash whose cache entry
 * the caller must evict: until then a cached copy keeps working for up to the cache TTL.
 */
export async function revokeApiKey(
  db: AnyDatabase,
  id: string,
): Promise<{ id: string; revokedAt: Date; tokenHash: string }> {
  const [row] = await db
    .update(apiKeys)
    .set({ revokedAt: sql`coalesce(${apiKeys.revokedAt}, now())` })
    .where(eq(apiKeys.id, id))
    .returning({ id: apiKeys.id, revokedAt: apiKeys.revokedAt, tokenHash: apiKeys.tokenHash });
  if (!row) throw new AdminError(`no API key with id ${id}`);
  return row as { id: string; revokedAt: Date; tokenHash: string };
}
