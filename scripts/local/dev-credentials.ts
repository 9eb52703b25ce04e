// The dev account, company and API key `npm run dev` creates on first run. The token is kept in a
// git-ignored file so every later run can print a working curl example.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { createAccount, createCompany } from '../../src/admin/accounts.ts';
import { createApiKey } from '../../src/admin/api-keys.ts';
import { hashApiToken } from '../../src/auth/api-token.ts';
import { apiKeys } from '../../src/db/schema.ts';
import { dataDir } from './dev-database.ts';
import { withNodeDatabase } from './node-database.ts';

const credentialsFile = join(dataDir, 'dev-credentials.json');

export interface DevCredentials {
  accountId: string;
  companyId: string;
  apiKeyId: string;
  token: string;
}

type CredentialStore = Record<string, DevCredentials>;

function readStore(): CredentialStore {
  return existsSync(credentialsFile) ? (JSON.parse(readFileSync(credentialsFile, 'utf8')) as CredentialStore) : {};
}

/** Returns working dev credentials for the database, creating them when there are none that still work. */
export async function ensureDevCredentials(
  databaseUrl: string,
  embedded: boolean,
): Promise<DevCredentials & { created: boolean }> {
  // One entry per database: the embedded one, or each DATABASE_URL (by digest, not by its password).
  const storeKey = embedded ? 'embedded' : createHash('sha256').update(databaseUrl).digest('hex').slice(0, 16);
  const store = readStore();
  return withNodeDatabase(databaseUrl, async (db) => {
    const saved = store[storeKey];
    if (saved) {
      const [key] = await db
        .select({ revokedAt: apiKeys.revokedAt, expiresAt: apiKeys.expiresAt })
        .from(apiKeys)
        .where(eq(apiKeys.tokenHash, await hashApiToken(saved.token)));
      const usable = key && key.revokedAt === null && (key.expiresAt === null || key.expiresAt > new Date());
      if (usable) return { ...saved, created: false };
    }
    const { id: accountId } = await createAccount(db, { name: 'Dev account' });
    const { id: companyId } = await createCompany(db, { accountId, name: 'Dev company', subdomain: null });
    const key = await createApiKey(db, { accountId, scopes: ['write:webhooks', 'read:webhooks'], name: 'dev' });
    const credentials: DevCredentials = { accountId, companyId, apiKeyId: key.id, token: key.token };
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(credentialsFile, JSON.stringify({ ...store, [storeKey]: credentials }, null, 2), { mode: 0o600 });
    return { ...credentials, created: true };
  });
}
