import { and, eq, inArray, sql } from 'drizzle-orm';
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

/** Creates a key and returns its token: the only time the token exists outside the caller's hands. */
export async function createApiKey(db: AnyDatabase, input: CreateApiKeyInput): Promise<{ id: string; token: string }> {
  const token = generateApiToken();
  const tokenHash = await hashApiToken(token);
  const companyIds = input.companyIds ? [...new Set(input.companyIds.map((id) => id.toLowerCase()))] : undefined;
  const expiresAt = input.expiresInSeconds === undefined ? null : new Date(Date.now() + input.expiresInSeconds * 1000);
  const id = await db.transaction(async (tx) => {
    if (companyIds && companyIds.length > 0) {
      const owned = await tx
        .select({ id: companies.id })
        .from(companies)
        .where(and(eq(companies.accountId, input.accountId), inArray(companies.id, companyIds)));
      if (owned.length !== companyIds.length)
        throw new AdminError('every company must exist and belong to the account');
    }
    const [key] = await tx
      .insert(apiKeys)
      .values({
        accountId: input.accountId,
        name: input.name ?? null,
        tokenHash,
        scopes: input.scopes,
        allCompanies: companyIds === undefined,
        expiresAt,
      })
      .returning({ id: apiKeys.id });
    const keyId = (key as { id: string }).id;
    if (companyIds && companyIds.length > 0) {
      await tx.insert(apiKeyCompanies).values(companyIds.map((companyId) => ({ apiKeyId: keyId, companyId })));
    }
    return keyId;
  });
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
