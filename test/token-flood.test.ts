import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { generateApiToken } from '../src/auth/api-token.ts';
import { expectError, postWebhook, randomClientAddress, validBody } from './support/api.ts';
import { createTestAccount, createTestKey } from './support/fixtures.ts';
import { keyLookups, statementsOf } from './support/statements.ts';
import { cachedEntry } from './support/token-cache.ts';

const FLOOD = 300;
const BATCH = 25;
const LIMIT = Number(env.UNKNOWN_KEY_RATE_LIMIT);

/** Sends `tokens` from one client address, BATCH at a time; counts statuses and key lookups in Postgres. */
async function flood(tokens: string[], address: string) {
  let lookups = 0;
  const statuses: Record<number, number> = {};
  for (let i = 0; i < tokens.length; i += BATCH) {
    const responses = await Promise.all(
      tokens
        .slice(i, i + BATCH)
        .map((token) => postWebhook(validBody(), { token, headers: { 'CF-Connecting-IP': address } })),
    );
    for (const response of responses) {
      statuses[response.status] = (statuses[response.status] ?? 0) + 1;
      lookups += keyLookups(await statementsOf(response)).length;
    }
  }
  return { lookups, statuses };
}

describe('a flood of random tokens from one address', () => {
  it(`reaches Postgres about ${LIMIT} times, however many tokens (${FLOOD}), then gets 429 without a lookup`, async () => {
    const address = randomClientAddress();
    const tokens = Array.from({ length: FLOOD }, () => generateApiToken());
    const { lookups, statuses } = await flood(tokens, address);
    // The limit, plus at most the requests already past the check when the limit was reached.
    expect(lookups).toBeGreaterThanOrEqual(LIMIT);
    expect(lookups).toBeLessThan(LIMIT + BATCH);
    expect(statuses[401]).toBe(lookups);
    expect(statuses[429]).toBe(FLOOD - lookups);

    // Over the limit: 429 RATE_LIMITED with Retry-After, no lookup, and no KV entry written.
    const late = generateApiToken();
    const refused = await postWebhook(validBody(), { token: late, headers: { 'CF-Connecting-IP': address } });
    const body = await expectError(refused.clone(), 429, 'RATE_LIMITED');
    expect(Number(refused.headers.get('Retry-After'))).toBeGreaterThan(0);
    expect(body.error.details).toMatchObject({ limit: LIMIT, periodSeconds: 60 });
    expect(keyLookups(await statementsOf(refused))).toEqual([]);
    expect((await cachedEntry(late)).value).toBeNull();
    console.log(
      `[token-flood] ${FLOOD} random tokens from one address: ${lookups} key lookups reached Postgres, ${statuses[429]} answered 429 without one`,
    );
  }, 60_000);

  it('does not hold back other addresses, nor tokens already answered from the cache', async () => {
    const account = await createTestAccount();
    const flooder = randomClientAddress();
    const known = generateApiToken();
    await postWebhook(validBody(), { token: known, headers: { 'CF-Connecting-IP': flooder } });
    await cachedEntry(known);
    await flood(
      Array.from({ length: LIMIT + BATCH }, () => generateApiToken()),
      flooder,
    );
    // A token in the negative cache is still a 401; a cached valid key still works from the flooding address.
    await postWebhook(validBody(), { token: account.token });
    await cachedEntry(account.token);
    await expectError(
      await postWebhook(validBody(), { token: known, headers: { 'CF-Connecting-IP': flooder } }),
      401,
      'UNAUTHORIZED',
    );
    expect(
      (await postWebhook(validBody(), { token: account.token, headers: { 'CF-Connecting-IP': flooder } })).status,
    ).toBe(201);
    // Another address looks unknown tokens up as usual.
    const other = await postWebhook(validBody(), { token: generateApiToken() });
    await expectError(other, 401, 'UNAUTHORIZED');
  }, 60_000);

  it('never counts valid keys: many new keys from one address all work', async () => {
    const account = await createTestAccount();
    const address = randomClientAddress();
    const keys = await Promise.all(
      Array.from({ length: LIMIT + 10 }, () =>
        createTestKey({ accountId: account.accountId, scopes: ['write:webhooks'] }),
      ),
    );
    const statuses = [];
    for (const key of keys) {
      statuses.push(
        (await postWebhook(validBody(), { token: key.token, headers: { 'CF-Connecting-IP': address } })).status,
      );
    }
    expect(new Set(statuses)).toEqual(new Set([201]));
  }, 60_000);

  it('malformed tokens never reach KV or Postgres', async () => {
    const before = (await env.TOKEN_CACHE.list()).keys.length;
    let lookups = 0;
    for (const token of ['sk_', 'sk_short', `sk_${'x'.repeat(100)}`, 'not-a-key', `sk_${'y'.repeat(42)}.`]) {
      const response = await postWebhook(validBody(), { token });
      expect(response.status).toBe(401);
      lookups += keyLookups(await statementsOf(response)).length;
    }
    expect(lookups).toBe(0);
    expect((await env.TOKEN_CACHE.list()).keys.length).toBe(before);
  });

  it('repeated unknown tokens are answered from the negative cache without a lookup', async () => {
    const tokens = Array.from({ length: 10 }, () => generateApiToken());
    const address = randomClientAddress();
    const first = await flood(tokens, address);
    expect(first.lookups).toBe(10);
    await Promise.all(tokens.map((token) => cachedEntry(token)));
    const second = await flood(tokens, address);
    expect(second).toEqual({ lookups: 0, statuses: { 401: 10 } });
  });
});
