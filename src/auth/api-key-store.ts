import { eq, sql } from 'drizzle-orm';
import type { Database } from '../db/client.ts';
import { apiKeyCompanies, apiKeys } from '../db/schema.ts';
import type { ApiKey } from './api-key.ts';

/** The key a token hash belongs to, revoked and expired ones included: the caller decides. One statement. */
export async function findApiKeyByTokenHash(db: Database, tokenHash: string): Promise<ApiKey | null> {
  const [row] = await db
    .select({
      id: apiKeys.id,
      accountId: apiKeys.accountId,
      scopes: apiKeys.scopes,
      allCompanies: apiKeys.allCompanies,
      companyIds: sql<
        string[]
      >`array(select ${apiKeyCompanies.companyId}::text from ${apiKeyCompanies} where ${apiKeyCompanies.apiKeyId} = ${apiKeys.id} order by 1)`,
      expiresAt: apiKeys.expiresAt,
      revokedAt: apiKeys.revokedAt,
    })
    .from(apiKeys)
    .where(eq(apiKeys.tokenHash, tokenHash))
    .limit(1);
  if (!row) return null;
  return {
    id: row.id,
    accountId: row.accountId,
    scopes: row.scopes,
    companyIds: row.allCompanies ? null : row.companyIds,
    expiresAt: row.expiresAt?.toISOString() ?? null,
    revokedAt: row.revokedAt?.toISOString() ?? null,
  };
}
