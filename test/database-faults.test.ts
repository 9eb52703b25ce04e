import { sql } from 'drizzle-orm';
import { afterEach, describe, expect, inject, it, vi } from 'vitest';
import { sqlEndpoint } from '../src/db/client.ts';
import { expectError, postWebhook, throughWorker, validBody, webhookRequest } from './support/api.ts';
import { webhookCounts, withDatabase } from './support/database.ts';
import {
  consumeOne,
  deliveriesOf,
  eventually,
  received,
  unqueuedDelivery,
  webhookWithReceiver,
} from './support/deliveries.ts';
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

describe('a webhook write Postgres aborts in a deadlock or a serialization conflict', () => {
  // Deadlocks between a webhook's writes and the delivery statements are designed out by lock order
  // (test/delivery-consumer.test.ts); what is left (the fan-out's marking of new deliveries, the hourly
  // sweep) is rare and cannot be timed: the SQL endpoint answers with the SQLSTATE instead.
  const write = (token: string, method: string, path: string, body?: unknown) =>
    throughFaultyEndpoint(
      webhookRequest(body, { token, method, path, ...(body === undefined ? { rawBody: null } : {}) }),
    );
  const targeted = 'with target as';

  it.each([
    ['PATCH', '', { name: 'renamed' }, 200],
    ['POST', '/reset-circuit', undefined, 200],
    ['DELETE', '', undefined, 204],
  ])('%s /webhooks/{id}%s runs again and succeeds', async (method, suffix, body, status) => {
    const account = await createTestAccount();
    const { webhook } = await webhookWithReceiver(account.token);
    await setFault({ mode: 'error', match: targeted, times: 2, code: '40P01' });
    expect((await write(account.token, method, `/webhooks/${webhook.id}${suffix}`, body)).status).toBe(status);
  });

  it('a redelivery runs again and is queued once', async () => {
    const account = await createTestAccount();
    const { webhook, endpoint } = await webhookWithReceiver(account.token);
    const { deliveryId } = await unqueuedDelivery(account.accountId);
    await setFault({ mode: 'error', match: 'restarted as', times: 2, code: '40001' });
    const path = `/webhooks/${webhook.id}/deliveries/${deliveryId}/redeliver`;
    expect((await write(account.token, 'POST', path)).status).toBe(202);
    await eventually(async () => expect(await received(endpoint.id)).toHaveLength(1));
    expect(await deliveriesOf({ webhookId: webhook.id })).toEqual([expect.objectContaining({ series: 2 })]);
  });

  it('gives up after three runs: 503 with Retry-After, nothing changed', async () => {
    const account = await createTestAccount();
    const { webhook } = await webhookWithReceiver(account.token, { name: 'before' });
    await setFault({ mode: 'error', match: targeted, times: 3, code: '40P01' });
    await expectUnavailable(await write(account.token, 'PATCH', `/webhooks/${webhook.id}`, { name: 'after' }));
    await setFault({ mode: 'none' });
    const stored = await withDatabase((db) =>
      db.execute<{ name: string }>(sql`select name from webhooks where id = ${webhook.id}::uuid`),
    );
    expect(stored.rows).toEqual([{ name: 'before' }]);
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
  it('is https to Neon, plain http only to a local stand-in, and nothing else', () => {
    expect(sqlEndpoint('ep-cool-name-123456.us-east-2.aws.neon.tech', '')).toBe(
      'https://api.us-east-2.aws.neon.tech/sql',
    );
    expect(sqlEndpoint('ep-x-1.eu-central-1.aws.neon.tech', '5432')).toBe('https://api.eu-central-1.aws.neon.tech/sql');
    for (const host of [
      'db.example.com',
      '10.0.0.5',
      '[2001:db8::1]',
      'localhost.example.com',
      'neon.tech.evil.example',
    ]) {
      expect(() => sqlEndpoint(host, '5432')).toThrow(/Neon connection string/);
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
      const response = await throughWorker(webhookRequest(validBody(), { token: account.token }), {
        DATABASE_URL: 'postgres://user:password@ep-quiet-sky-123.us-east-2.aws.neon.tech/neondb?sslmode=require',
      });
      await expectUnavailable(response);
      const targets = spy.mock.calls.map(([input]) => (input instanceof Request ? input.url : String(input)));
      expect(targets).toContain('https://api.us-east-2.aws.neon.tech/sql');
      expect(targets.filter((target) => target.startsWith('http://'))).toEqual([]);
    } finally {
      spy.mockRestore();
    }
  });
});

describe('a DATABASE_URL that is not Neon', () => {
  it('is refused before any statement: 503, and the log names the setting, never its value', async () => {
    const account = await createTestAccount();
    const url = 'postgres://app:hunter2@pg.example.com/db';
    const lines: string[] = [];
    const spies = (['log', 'warn', 'error'] as const).map((method) =>
      vi.spyOn(console, method).mockImplementation((line: unknown) => void lines.push(String(line))),
    );
    const fetches = vi.spyOn(globalThis, 'fetch');
    try {
      await expectUnavailable(
        await throughWorker(webhookRequest(validBody(), { token: account.token }), { DATABASE_URL: url }),
      );
      expect(
        fetches.mock.calls.map(([input]) => String(input instanceof Request ? input.url : input)),
      ).not.toContainEqual(expect.stringContaining('example.com'));
    } finally {
      for (const spy of [...spies, fetches]) spy.mockRestore();
    }
    const entry = lines.map((line) => JSON.parse(line) as Record<string, unknown>).find((e) => e.message === 'request');
    expect(entry).toMatchObject({
      level: 'error',
      status: 503,
      failure: 'database misconfigured',
      setting: 'DATABASE_URL',
    });
    expect(lines.join('\n')).not.toContain('hunter2');
  });
});

describe('deliveries when the database fails: nothing lost, nothing sent twice on purpose', () => {
  const faulty = () => ({ overrides: { DATABASE_URL: inject('faultySqlEndpoint').databaseUrl } });

  async function pending() {
    const account = await createTestAccount();
    const { endpoint } = await webhookWithReceiver(account.token);
    const { eventId, deliveryId } = await unqueuedDelivery(account.accountId);
    return { account, endpoint, eventId, message: { deliveryId, series: 1 } };
  }

  it.each([
    ['claim', 'webhook as materialized'],
    ['record', 'webhook_locked as materialized'],
  ])('a %s Postgres aborts in a deadlock runs again: delivered once, acked', async (_step, statement) => {
    const { endpoint, eventId, message } = await pending();
    await setFault({ mode: 'error', match: statement, times: 2, code: '40P01' });
    expect(await consumeOne('webhook-deliveries', message, faulty())).toEqual({ acked: true, retriedWith: undefined });
    expect(await received(endpoint.id)).toHaveLength(1);
    expect(await deliveriesOf({ eventId })).toEqual([expect.objectContaining({ status: 'succeeded', attempts: 1 })]);
  });

  it('a claim that cannot reach the database sends nothing; the message comes back and is delivered', async () => {
    const { endpoint, eventId, message } = await pending();
    await setFault({ mode: 'refuse' });
    expect(await consumeOne('webhook-deliveries', message, faulty())).toEqual({
      acked: false,
      retriedWith: { delaySeconds: 2 },
    });
    expect(await received(endpoint.id)).toEqual([]);
    await setFault({ mode: 'none' });
    expect(await consumeOne('webhook-deliveries', message, { attempts: 2 })).toMatchObject({ acked: true });
    expect(await received(endpoint.id)).toHaveLength(1);
    expect(await deliveriesOf({ eventId })).toEqual([expect.objectContaining({ status: 'succeeded', attempts: 1 })]);
  });

  it('an attempt recorded before the connection dropped is not sent again when its message comes back', async () => {
    const { endpoint, eventId, message } = await pending();
    await setFault({ mode: 'cut', match: 'insert into "delivery_attempts"', when: 'after' });
    expect(await consumeOne('webhook-deliveries', message, faulty())).toMatchObject({ acked: false });
    expect(await consumeOne('webhook-deliveries', message, { attempts: 2 })).toMatchObject({ acked: true });
    expect(await received(endpoint.id)).toHaveLength(1);
    expect(await deliveriesOf({ eventId })).toEqual([expect.objectContaining({ status: 'succeeded', attempts: 1 })]);
  });

  it('an attempt whose outcome was never recorded is sent again once its lease runs out: at least once', async () => {
    const { endpoint, eventId, message } = await pending();
    await setFault({ mode: 'cut', match: 'insert into "delivery_attempts"', when: 'before' });
    expect(await consumeOne('webhook-deliveries', message, faulty())).toMatchObject({ acked: false });
    expect(await received(endpoint.id)).toHaveLength(1);
    // Until the lease runs out, a copy of the message waits rather than sending.
    const early = await consumeOne('webhook-deliveries', message, { attempts: 2 });
    expect(early.retriedWith?.delaySeconds).toBeGreaterThan(30);
    await withDatabase((db) => db.execute(sql`update deliveries set locked_until = now() where event_id = ${eventId}`));
    expect(await consumeOne('webhook-deliveries', message, { attempts: 3 })).toMatchObject({ acked: true });
    const got = await received(endpoint.id);
    expect(got).toHaveLength(2);
    expect(got[1]?.headers['webhook-id']).toBe(got[0]?.headers['webhook-id']);
    expect(await deliveriesOf({ eventId })).toEqual([expect.objectContaining({ status: 'succeeded', attempts: 2 })]);
  });

  it('a fan-out cut after its insert: the retried message queues what it created, once', async () => {
    const account = await createTestAccount();
    const { webhook, endpoint } = await webhookWithReceiver(account.token);
    const event = {
      id: `cut-${crypto.randomUUID()}`,
      type: 'INTERVIEW_COMPLETED',
      accountId: account.accountId,
      data: {},
    };
    await setFault({ mode: 'cut', match: 'insert into "events"', when: 'after' });
    expect(await consumeOne('webhook-events', event, faulty())).toEqual({
      acked: false,
      retriedWith: { delaySeconds: 2 },
    });
    expect(await deliveriesOf({ webhookId: webhook.id })).toEqual([expect.objectContaining({ status: 'pending' })]);
    expect(await consumeOne('webhook-events', event, { attempts: 2 })).toMatchObject({ acked: true });
    // Once queued and marked, a third copy of the event finds nothing left to queue.
    expect(await consumeOne('webhook-events', event, { attempts: 3 })).toMatchObject({ acked: true });
    await eventually(async () => expect(await received(endpoint.id)).toHaveLength(1));
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect(await received(endpoint.id)).toHaveLength(1);
    expect(await deliveriesOf({ webhookId: webhook.id })).toEqual([
      expect.objectContaining({ status: 'succeeded', attempts: 1 }),
    ]);
  });

  it('a delivery the queue gives up on is marked failed, not left pending', async () => {
    const { eventId, message } = await pending();
    expect(await consumeOne('webhook-deliveries-dead', message)).toMatchObject({ acked: true });
    expect(await deliveriesOf({ eventId })).toEqual([
      expect.objectContaining({
        status: 'failed',
        last_error: 'abandoned: the delivery system could not process it (retries exhausted)',
      }),
    ]);
  });
});
