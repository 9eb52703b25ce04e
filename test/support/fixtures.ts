import { createAccount, createCompany } from '../../src/admin/accounts.ts';
import { type CreateApiKeyInput, createApiKey } from '../../src/admin/api-keys.ts';
import { withDatabase } from './database.ts';

export interface TestAccount {
  accountId: string;
  companyId: string;
  /** Token of a key with both webhook scopes and access to every company of the account. */
  token: string;
  apiKeyId: string;
}

/** A fresh account with one company and one full-access key; every test works in its own account. */
export async function createTestAccount(options: { maxWebhooks?: number } = {}): Promise<TestAccount> {
  return withDatabase(async (db) => {
    const { id: accountId } = await createAccount(db, {
      name: 'Test account',
      maxWebhooks: options.maxWebhooks ?? null,
    });
    const { id: companyId } = await createCompany(db, { accountId, name: 'Test company' });
    const key = await createApiKey(db, { accountId, scopes: ['write:webhooks', 'read:webhooks'] });
    return { accountId, companyId, token: key.token, apiKeyId: key.id };
  });
}

export async function createTestKey(input: CreateApiKeyInput): Promise<{ id: string; token: string }> {
  return withDatabase((db) => createApiKey(db, input));
}

export async function createTestCompany(accountId: string): Promise<string> {
  return withDatabase(async (db) => (await createCompany(db, { accountId, name: 'Another company' })).id);
}
