import { afterEach, describe, expect, it } from 'vitest';
import { expectError, postWebhook, validBody, webhookRequest } from './support/api.ts';
import { webhookCounts } from './support/database.ts';
import { setFault, throughFaultyRelay } from './support/faults.ts';
import { createTestAccount } from './support/fixtures.ts';
import { cachedEntry } from './support/token-cache.ts';

afterEach(() => setFault({ mode: 'none' }));

async function expectUnavailable(response: Response) {
  const body = await expectError(response, 503, 'SERVICE_UNAVAILABLE');
  expect(response.headers.get('Retry-After')).toMatch(/^\d+$/);
  expect(body.error.details).toEqual({ retryAfter: Number(response.headers.get('Retry-After')) });
  expect(JSON.stringify(body)).not.toMatch(/relay|socket|websocket|postgres|127\.0\.0\.1/i);
}

describe('503 SERVICE_UNAVAILABLE when the database cannot be reached', () => {
  it('when every connection is refused', async () => {
    const account = await createTestAccount();
    await setFault({ mode: 'refuse' });
    await expectUnavailable(await throughFaultyRelay(webhookRequest(validBody(), { token: account.token })));
    expect(await webhookCounts(account.accountId)).toEqual({ rows: 0, counter: 0 });
  });

  it('within the connect timeout when the database never answers', async () => {
    const account = await createTestAccount();
    await setFault({ mode: 'hang' });
    const started = Date.now();
    await expectUnavailable(await throughFaultyRelay(webhookRequest(validBody(), { token: account.token })));
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(await webhookCounts(account.accountId)).toEqual({ rows: 0, counter: 0 });
  }, 15_000);

  it('when the connection drops just before the insert reaches Postgres, with a cached key', async () => {
    const account = await createTestAccount();
    expect((await postWebhook(validBody(), { token: account.token })).status).toBe(201);
    expect((await cachedEntry(account.token)).value).toMatchObject({ key: { id: account.apiKeyId } });
    await setFault({ mode: 'cut', match: 'insert into "webhooks"', when: 'before' });
    await expectUnavailable(await throughFaultyRelay(webhookRequest(validBody(), { token: account.token })));
    expect(await webhookCounts(account.accountId)).toEqual({ rows: 1, counter: 1 });
  });
});
