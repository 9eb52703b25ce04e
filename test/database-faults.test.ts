import { afterEach, describe, expect, it, vi } from 'vitest';
import { sqlEndpoint } from '../src/db/client.ts';
import { expectError, fetchWithEnv, postWebhook, validBody, webhookRequest } from './support/api.ts';
import { webhookCounts } from './support/database.ts';
import { setFault, throughFaultyEndpoint } from './support/faults.ts';
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
    await expectUnavailable(await throughFaultyEndpoint(webhookRequest(validBody(), { token: account.token })));
    expect(await webhookCounts(account.accountId)).toEqual({ rows: 0, counter: 0 });
  });

  it('within the connect timeout when the database never answers', async () => {
    const account = await createTestAccount();
    await setFault({ mode: 'hang' });
    const started = Date.now();
    await expectUnavailable(await throughFaultyEndpoint(webhookRequest(validBody(), { token: account.token })));
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(await webhookCounts(account.accountId)).toEqual({ rows: 0, counter: 0 });
  }, 15_000);

  it('when the connection drops just before the insert reaches Postgres, with a cached key', async () => {
    const account = await createTestAccount();
    expect((await postWebhook(validBody(), { token: account.token })).status).toBe(201);
    expect((await cachedEntry(account.token)).value).toMatchObject({ key: { id: account.apiKeyId } });
    await setFault({ mode: 'cut', match: 'insert into "webhooks"', when: 'before' });
    await expectUnavailable(await throughFaultyEndpoint(webhookRequest(validBody(), { token: account.token })));
    expect(await webhookCounts(account.accountId)).toEqual({ rows: 1, counter: 1 });
  });
});

describe('a connection cut mid-request', () => {
  it('before the key lookup reaches Postgres: 503, nothing written', async () => {
    const account = await createTestAccount();
    await setFault({ mode: 'cut', match: '"api_keys"', when: 'before' });
    await expectUnavailable(await throughFaultyEndpoint(webhookRequest(validBody(), { token: account.token })));
    expect(await webhookCounts(account.accountId)).toEqual({ rows: 0, counter: 0 });
  });

  it('after Postgres has the insert: 503, never a partial row, and a retry with the Idempotency-Key lands once', async () => {
    const account = await createTestAccount();
    const headers = { 'Idempotency-Key': crypto.randomUUID() };
    await setFault({ mode: 'cut', match: 'insert into "webhooks"', when: 'after' });
    await expectUnavailable(
      await throughFaultyEndpoint(webhookRequest(validBody(), { token: account.token, headers })),
    );
    await setFault({ mode: 'none' });
    // The statement may or may not have committed before the cut; either way it is all or nothing.
    const afterCut = await webhookCounts(account.accountId);
    expect(afterCut.rows).toBe(afterCut.counter);
    expect(afterCut.rows).toBeLessThanOrEqual(1);
    const retry = await postWebhook(validBody(), { token: account.token, headers });
    expect(retry.status).toBe(201);
    expect(retry.headers.get('Idempotent-Replayed')).toBe(afterCut.rows === 1 ? 'true' : null);
    expect(await webhookCounts(account.accountId)).toEqual({ rows: 1, counter: 1 });
    console.log(
      `[faults] cut after the insert was sent: committed before the cut: ${afterCut.rows === 1}; retry answered 201`,
    );
  });
});

describe('errors Postgres reports', () => {
  const create = (token: string) => throughFaultyEndpoint(webhookRequest(validBody(), { token }));
  const insert = 'insert into "webhooks"';

  it.each(['40001', '40P01'])('retries a transient %s and succeeds, writing one webhook', async (code) => {
    const account = await createTestAccount();
    await setFault({ mode: 'error', match: insert, times: 2, code });
    expect((await create(account.token)).status).toBe(201);
    expect(await webhookCounts(account.accountId)).toEqual({ rows: 1, counter: 1 });
  });

  it('gives up after three attempts with 503 and Retry-After', async () => {
    const account = await createTestAccount();
    await setFault({ mode: 'error', match: insert, times: 3, code: '40001' });
    await expectUnavailable(await create(account.token));
    expect(await webhookCounts(account.accountId)).toEqual({ rows: 0, counter: 0 });
  });

  it('retries a clash of webhook ids with a new id', async () => {
    const account = await createTestAccount();
    await setFault({ mode: 'error', match: insert, times: 1, code: '23505', constraint: 'webhooks_pkey' });
    expect((await create(account.token)).status).toBe(201);
  });

  it('maps any other unique violation to 409 CONFLICT, not 500', async () => {
    const account = await createTestAccount();
    await setFault({ mode: 'error', match: insert, times: 1, code: '23505', constraint: 'some_other_unique' });
    await expectError(await create(account.token), 409, 'CONFLICT');
  });

  it('maps a company deleted between check and insert to 403, a vanished key to 401', async () => {
    const account = await createTestAccount();
    await setFault({
      mode: 'error',
      match: insert,
      times: 1,
      code: '23503',
      constraint: 'webhooks_account_company_fk',
    });
    await expectError(await create(account.token), 403, 'RESOURCE_ACCESS_DENIED');
    await setFault({
      mode: 'error',
      match: insert,
      times: 1,
      code: '23503',
      constraint: 'webhooks_api_key_id_api_keys_id_fk',
    });
    await expectError(await create(account.token), 401, 'UNAUTHORIZED');
  });

  it.each([
    ['57014', 'statement timeout'],
    ['53300', 'too many connections'],
    ['57P01', 'administrator shutdown'],
    ['08006', 'connection failure'],
  ])('answers %s (%s) with 503', async (code) => {
    const account = await createTestAccount();
    await setFault({ mode: 'error', match: '"api_keys"', times: 1, code });
    await expectUnavailable(await create(account.token));
  });

  it('answers a genuine query error with a generic 500', async () => {
    const account = await createTestAccount();
    await setFault({ mode: 'error', match: '"api_keys"', times: 1, code: '42P01' });
    const body = await expectError(await create(account.token), 500, 'INTERNAL_ERROR');
    expect(JSON.stringify(body)).not.toMatch(/42P01|api_keys|relay/);
  });
});

describe('a statement that never returns', () => {
  it('is abandoned within the query timeout with 503', async () => {
    const account = await createTestAccount();
    await setFault({ mode: 'delay', match: '"api_keys"', ms: 20_000 });
    const started = Date.now();
    await expectUnavailable(await throughFaultyEndpoint(webhookRequest(validBody(), { token: account.token })));
    const elapsed = Date.now() - started;
    expect(elapsed).toBeLessThan(10_000);
    console.log(`[faults] stuck statement answered 503 after ${elapsed} ms`);
  }, 15_000);
});

describe('the transport to Neon', () => {
  it('is https to every host but this machine; plain http only to a local stand-in', () => {
    expect(sqlEndpoint('ep-cool-name-123456.us-east-2.aws.neon.tech', '')).toBe(
      'https://api.us-east-2.aws.neon.tech/sql',
    );
    for (const host of ['db.example.com', '10.0.0.5', '[2001:db8::1]', 'localhost.example.com', '127.0.0.1.nip.io']) {
      expect(sqlEndpoint(host, '5432')).toMatch(/^https:\/\//);
    }
    expect(sqlEndpoint('127.0.0.1', '5555')).toBe('http://127.0.0.1:5555/sql');
    expect(sqlEndpoint('localhost', '')).toBe('http://localhost/sql');
    expect(sqlEndpoint('[::1]', '7000')).toBe('http://[::1]:7000/sql');
  });

  it('through the Worker: a database elsewhere is reached over TLS, and its failure is a 503', async () => {
    const account = await createTestAccount();
    // Records where the statement would go and fails it as an unreachable network would. A mock: the real
    // thing (a DNS lookup that fails) ends the same way here, but workerd prints an internal error for it.
    const spy = vi.spyOn(globalThis, 'fetch').mockRejectedValue(new TypeError('Network connection lost.'));
    try {
      const response = await fetchWithEnv(webhookRequest(validBody(), { token: account.token }), {
        DATABASE_URL: 'postgres://user:password@ep-quiet-sky-123.db.example.invalid/neondb?sslmode=require',
      });
      await expectUnavailable(response);
      const targets = spy.mock.calls.map(([input]) => (input instanceof Request ? input.url : String(input)));
      expect(targets).toContain('https://api.db.example.invalid/sql');
      expect(targets.filter((target) => target.startsWith('http://'))).toEqual([]);
    } finally {
      spy.mockRestore();
    }
  });
});
