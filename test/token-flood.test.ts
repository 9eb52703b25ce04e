import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { generateApiToken } from '../src/auth/api-token.ts';
import { postWebhook, validBody } from './support/api.ts';
import { keyLookups, statementsOf } from './support/relay.ts';
import { cachedEntry } from './support/token-cache.ts';

const FLOOD = 300;

async function flood(tokens: string[]): Promise<{ lookups: number; statuses: Set<number> }> {
  let lookups = 0;
  const statuses = new Set<number>();
  for (let i = 0; i < tokens.length; i += 25) {
    const responses = await Promise.all(tokens.slice(i, i + 25).map((token) => postWebhook(validBody(), { token })));
    for (const response of responses) {
      statuses.add(response.status);
      lookups += keyLookups(await statementsOf(response)).length;
    }
  }
  return { lookups, statuses };
}

describe('a flood of random tokens', () => {
  it(`reaches Postgres at most once per distinct token, and not at all while the negative cache holds (${FLOOD} tokens)`, async () => {
    const tokens = Array.from({ length: FLOOD }, () => generateApiToken());
    const first = await flood(tokens);
    expect(first.statuses).toEqual(new Set([401]));
    expect(first.lookups).toBeLessThanOrEqual(FLOOD);
    for (const token of tokens.slice(0, 20)) expect((await cachedEntry(token)).value).toEqual({ unknown: true });
    await Promise.all(tokens.map((token) => cachedEntry(token)));

    const second = await flood(tokens);
    expect(second.statuses).toEqual(new Set([401]));
    expect(second.lookups).toBe(0);
    console.log(
      `[token-flood] ${FLOOD} random tokens: ${first.lookups} key lookups reached Postgres the first time, ${second.lookups} the second`,
    );
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
});
