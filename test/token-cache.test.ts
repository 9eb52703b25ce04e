import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { revokeApiKey } from '../src/admin/api-keys.ts';
import { hashApiToken } from '../src/auth/api-token.ts';
import { TokenCache } from '../src/auth/token-cache.ts';
import { tokenCacheKey } from '../src/auth/token-cache-key.ts';
import { expectError, postWebhook, throughWorker, validBody, webhookRequest } from './support/api.ts';
import { withDatabase } from './support/database.ts';
import { createTestAccount, createTestKey } from './support/fixtures.ts';
import { keyLookups, statementsOf } from './support/statements.ts';
import { cachedEntry } from './support/token-cache.ts';

const webhookInserts = (statements: string[]) => statements.filter((sql) => sql.includes('insert into "webhooks"'));

describe('API key lookups through TOKEN_CACHE', () => {
  it('asks Postgres once, then serves the key from KV: one statement per create', async () => {
    const account = await createTestAccount();
    const first = await postWebhook(validBody(), { token: account.token });
    expect(first.status).toBe(201);
    const firstStatements = await statementsOf(first);
    expect(keyLookups(firstStatements)).toHaveLength(1);
    expect(webhookInserts(firstStatements)).toHaveLength(1);
    expect(firstStatements).toHaveLength(2);
    await cachedEntry(account.token);

    const second = await postWebhook(validBody(), { token: account.token });
    expect(second.status).toBe(201);
    const secondStatements = await statementsOf(second);
    expect(keyLookups(secondStatements)).toHaveLength(0);
    expect(secondStatements).toHaveLength(1);
  });

  it('caches a found key for TOKEN_CACHE_TTL_SECONDS and an unknown token for 60 s', async () => {
    const account = await createTestAccount();
    await postWebhook(validBody(), { token: account.token });
    const known = await cachedEntry(account.token);
    expect(known.value).toMatchObject({ key: { id: account.apiKeyId, accountId: account.accountId } });
    const now = Date.now() / 1000;
    expect(known.expiration).toBeGreaterThan(now + Number(env.TOKEN_CACHE_TTL_SECONDS) - 10);
    expect(known.expiration).toBeLessThanOrEqual(now + Number(env.TOKEN_CACHE_TTL_SECONDS) + 1);

    const stranger = `sk_${'Z'.repeat(43)}`;
    await postWebhook(validBody(), { token: stranger });
    const unknown = await cachedEntry(stranger);
    expect(unknown.value).toEqual({ unknown: true });
    expect(unknown.expiration).toBeGreaterThan(now + 50);
    expect(unknown.expiration).toBeLessThanOrEqual(now + 61);
  });

  it('never raises the TTL below KV’s 60 s minimum, whatever is configured', async () => {
    const account = await createTestAccount();
    await throughWorker(webhookRequest(validBody(), { token: account.token }), { TOKEN_CACHE_TTL_SECONDS: '5' });
    const { expiration } = await cachedEntry(account.token);
    expect(expiration).toBeGreaterThan(Date.now() / 1000 + 50);
  });

  it('never keeps a key longer than an hour, whatever is configured: it bounds a revocation race', async () => {
    const account = await createTestAccount();
    await throughWorker(webhookRequest(validBody(), { token: account.token }), { TOKEN_CACHE_TTL_SECONDS: '86400' });
    const { expiration } = await cachedEntry(account.token);
    expect(expiration).toBeLessThanOrEqual(Date.now() / 1000 + 3601);
    expect(expiration).toBeGreaterThan(Date.now() / 1000 + 3500);
  });

  it('answers a repeated unknown token from the negative cache, without Postgres', async () => {
    const stranger = `sk_${crypto.randomUUID().replace(/-/g, '').padEnd(43, 'x')}`;
    const first = await postWebhook(validBody(), { token: stranger });
    await expectError(first, 401, 'UNAUTHORIZED');
    expect(keyLookups(await statementsOf(first))).toHaveLength(1);
    expect((await cachedEntry(stranger)).value).toEqual({ unknown: true });
    const second = await postWebhook(validBody(), { token: stranger });
    await expectError(second, 401, 'UNAUTHORIZED');
    expect(await statementsOf(second)).toEqual([]);
  });

  it('refuses a revoked key right after revoke, though it was cached', async () => {
    const account = await createTestAccount();
    expect((await postWebhook(validBody(), { token: account.token })).status).toBe(201);
    expect((await cachedEntry(account.token)).value).toMatchObject({ key: { id: account.apiKeyId, revokedAt: null } });
    const { tokenHash } = await withDatabase((db) => revokeApiKey(db, account.apiKeyId));
    await new TokenCache(env.TOKEN_CACHE, 300).evict(tokenHash);
    expect(await env.TOKEN_CACHE.get(tokenCacheKey(tokenHash))).toBeNull();
    const response = await postWebhook(validBody(), { token: account.token });
    const body = await expectError(response, 401, 'UNAUTHORIZED');
    expect(body.error.message).toMatch(/revoked/);
  });

  it('refuses an expired key from the cache, without asking Postgres', async () => {
    const account = await createTestAccount();
    const key = await createTestKey({ accountId: account.accountId, scopes: ['write:webhooks'], expiresInSeconds: 2 });
    expect((await postWebhook(validBody(), { token: key.token })).status).toBe(201);
    expect((await cachedEntry(key.token)).value).toMatchObject({ key: { id: key.id } });
    await new Promise((resolve) => setTimeout(resolve, 2100));
    const response = await postWebhook(validBody(), { token: key.token });
    const body = await expectError(response, 401, 'UNAUTHORIZED');
    expect(body.error.message).toMatch(/expired/);
    expect(await statementsOf(response)).toEqual([]);
  });

  it('treats an unreadable cache entry as a miss and asks Postgres', async () => {
    const account = await createTestAccount();
    const name = tokenCacheKey(await hashApiToken(account.token));
    for (const garbage of ['not json', '{"key":{"id":1}}', '[]', '{"unknown":"yes"}', 'null']) {
      await env.TOKEN_CACHE.put(name, garbage);
      const response = await postWebhook(validBody(), { token: account.token });
      expect(response.status, garbage).toBe(201);
      expect(keyLookups(await statementsOf(response)), garbage).toHaveLength(1);
    }
  });

  it('falls back to Postgres when KV throws, and never fails open', async () => {
    const account = await createTestAccount();
    const failingKv = {
      get: async () => {
        throw new Error('KV unavailable');
      },
      put: async () => {
        throw new Error('KV unavailable');
      },
    } as unknown as KVNamespace;
    const ok = await throughWorker(webhookRequest(validBody(), { token: account.token }), { TOKEN_CACHE: failingKv });
    expect(ok.status).toBe(201);
    expect(keyLookups(await statementsOf(ok))).toHaveLength(1);
    const stranger = await throughWorker(webhookRequest(validBody(), { token: `sk_${'Q'.repeat(43)}` }), {
      TOKEN_CACHE: failingKv,
    });
    await expectError(stranger, 401, 'UNAUTHORIZED');
  });

  it('does not trust a cache hit for a revoked key', async () => {
    const account = await createTestAccount();
    const name = tokenCacheKey(await hashApiToken(account.token));
    const revokedAt = new Date().toISOString();
    await env.TOKEN_CACHE.put(
      name,
      JSON.stringify({
        key: {
          id: account.apiKeyId,
          accountId: account.accountId,
          scopes: ['write:webhooks'],
          companyIds: null,
          expiresAt: null,
          revokedAt,
        },
      }),
    );
    await expectError(await postWebhook(validBody(), { token: account.token }), 401, 'UNAUTHORIZED');
  });
});
