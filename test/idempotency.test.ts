import { createExecutionContext, createScheduledController, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import worker from '../src/index.ts';
import { PURGE_CRON } from '../src/jobs/scheduled.ts';
import { expectError, expectValidationIssues, postWebhook, readSuccess, validBody } from './support/api.ts';
import { holdRowLock, webhookCounts, withDatabase } from './support/database.ts';
import { createTestAccount, createTestCompany, createTestKey } from './support/fixtures.ts';

const idempotent = (key: string) => ({ 'Idempotency-Key': key });

async function storedRecord(accountId: string, key: string) {
  return withDatabase(async (db) => {
    const result = await db.execute<{ dump: string; response_body_sealed: string }>(sql`
      select row_to_json(i)::text as dump, response_body_sealed from idempotency_keys i
      where account_id = ${accountId}::uuid and key = ${key}`);
    return result.rows[0];
  });
}

describe('Idempotency-Key', () => {
  it('replays the first response, byte for byte, and creates one webhook', async () => {
    const account = await createTestAccount();
    const key = `create-${crypto.randomUUID()}`;
    const first = await postWebhook(validBody({ headers: [{ name: 'X-A', value: 'a' }] }), {
      token: account.token,
      headers: idempotent(key),
    });
    expect(first.status).toBe(201);
    expect(first.headers.get('Idempotent-Replayed')).toBeNull();
    const firstBody = await first.text();

    const again = await postWebhook(validBody({ headers: [{ name: 'X-A', value: 'a' }] }), {
      token: account.token,
      headers: idempotent(key),
    });
    expect(again.status).toBe(201);
    expect(again.headers.get('Idempotent-Replayed')).toBe('true');
    expect(again.headers.get('Original-Request-Id')).toBe(first.headers.get('X-Request-Id'));
    expect(again.headers.get('X-Request-Id')).not.toBe(first.headers.get('X-Request-Id'));
    expect(await again.text()).toBe(firstBody);
    expect(await webhookCounts(account.accountId)).toEqual({ rows: 1, counter: 1 });
  });

  it('treats key order and whitespace as the same body', async () => {
    const account = await createTestAccount();
    const key = crypto.randomUUID();
    const first = await postWebhook(null, {
      token: account.token,
      headers: idempotent(key),
      rawBody: '{"url":"https://example.com/a","events":["PING"]}',
    });
    const second = await postWebhook(null, {
      token: account.token,
      headers: idempotent(key),
      rawBody: '{ "events" : [ "PING" ],\n "url" : "https://example.com/a" }',
    });
    expect(second.headers.get('Idempotent-Replayed')).toBe('true');
    expect(await second.text()).toBe(await first.text());
  });

  it('refuses the same key with a different body: 422 IDEMPOTENCY_KEY_REUSED, nothing written', async () => {
    const account = await createTestAccount();
    const key = crypto.randomUUID();
    expect((await postWebhook(validBody(), { token: account.token, headers: idempotent(key) })).status).toBe(201);
    const response = await postWebhook(validBody({ name: 'changed' }), {
      token: account.token,
      headers: idempotent(key),
    });
    const body = await expectError(response, 422, 'IDEMPOTENCY_KEY_REUSED');
    expect(body.error.details).toEqual({ idempotencyKey: key });
    expect(await webhookCounts(account.accountId)).toEqual({ rows: 1, counter: 1 });
  });

  it('scopes keys to the account', async () => {
    const [first, second] = await Promise.all([createTestAccount(), createTestAccount()]);
    const key = 'shared-key';
    const a = await readSuccess(await postWebhook(validBody(), { token: first?.token, headers: idempotent(key) }));
    const b = await postWebhook(validBody(), { token: second?.token, headers: idempotent(key) });
    expect(b.status).toBe(201);
    expect(b.headers.get('Idempotent-Replayed')).toBeNull();
    expect((await readSuccess(b)).data.id).not.toBe(a.data.id);
  });

  it('is per API key: another key of the account never gets the first key’s response, or its secret', async () => {
    const account = await createTestAccount();
    const otherCompany = await createTestCompany(account.accountId);
    // Limited to a company the first webhook is not for: the hole was that it could read that secret.
    const other = await createTestKey({
      accountId: account.accountId,
      scopes: ['write:webhooks'],
      companyIds: [otherCompany],
    });
    const key = crypto.randomUUID();
    const body = validBody({ companyId: account.companyId });
    const first = await readSuccess(await postWebhook(body, { token: account.token, headers: idempotent(key) }));
    const second = await postWebhook(body, { token: other.token, headers: idempotent(key) });
    const text = await second.text();
    expect(second.headers.get('Idempotent-Replayed')).toBeNull();
    expect(text).not.toContain(first.data.signingSecret);
    expect(text).not.toContain(first.data.id);
    await expectError(new Response(text, second), 403, 'RESOURCE_ACCESS_DENIED');

    // Same body, same key string, a key that may create it: a webhook of its own, not a replay.
    const third = await createTestKey({ accountId: account.accountId, scopes: ['write:webhooks'] });
    const own = await postWebhook(body, { token: third.token, headers: idempotent(key) });
    expect(own.status).toBe(201);
    expect(own.headers.get('Idempotent-Replayed')).toBeNull();
    const ownBody = await readSuccess(own);
    expect(ownBody.data.id).not.toBe(first.data.id);
    expect(ownBody.data.signingSecret).not.toBe(first.data.signingSecret);
    // And each key replays its own.
    const again = await postWebhook(body, { token: third.token, headers: idempotent(key) });
    expect(again.headers.get('Idempotent-Replayed')).toBe('true');
    expect((await readSuccess(again)).data.id).toBe(ownBody.data.id);
    expect(await webhookCounts(account.accountId)).toEqual({ rows: 2, counter: 2 });
  });

  it('accepts 1 to 255 printable ASCII characters', async () => {
    const account = await createTestAccount();
    for (const key of ['k', '~'.repeat(255), 'with spaces inside', '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~']) {
      expect((await postWebhook(validBody(), { token: account.token, headers: idempotent(key) })).status, key).toBe(
        201,
      );
    }
  });

  it.each([
    ['256 characters', 'k'.repeat(256)],
    ['empty', ''],
    ['non-ASCII', 'clé'],
    ['a control character', 'a\u0001b'],
  ])('refuses a key that is %s, writing nothing', async (_label, key) => {
    const account = await createTestAccount();
    const issues = await expectValidationIssues(
      await postWebhook(validBody(), { token: account.token, headers: idempotent(key) }),
    );
    expect(issues).toEqual([{ path: 'Idempotency-Key', message: expect.stringMatching(/printable ASCII/) }]);
    expect(await webhookCounts(account.accountId)).toEqual({ rows: 0, counter: 0 });
  });

  it('keeps the stored response, signing secret included, sealed', async () => {
    const account = await createTestAccount();
    const key = crypto.randomUUID();
    const { data } = await readSuccess(
      await postWebhook(validBody({ headers: [{ name: 'X-Token', value: 'header-secret-value' }] }), {
        token: account.token,
        headers: idempotent(key),
      }),
    );
    const record = await storedRecord(account.accountId, key);
    expect(record?.response_body_sealed).toMatch(/^v1\.test\./);
    expect(record?.dump).not.toContain(data.signingSecret);
    expect(record?.dump).not.toContain(data.id);
  });

  it('stores nothing for a refused request, so fixing it and retrying with the same key works', async () => {
    const account = await createTestAccount();
    const key = crypto.randomUUID();
    await expectError(
      await postWebhook(validBody({ companyId: crypto.randomUUID() }), {
        token: account.token,
        headers: idempotent(key),
      }),
      403,
      'RESOURCE_ACCESS_DENIED',
    );
    expect(await storedRecord(account.accountId, key)).toBeUndefined();
    const fixed = await postWebhook(validBody({ companyId: account.companyId }), {
      token: account.token,
      headers: idempotent(key),
    });
    expect(fixed.status).toBe(201);
    expect(fixed.headers.get('Idempotent-Replayed')).toBeNull();
  });

  it('replays even after the account has since reached its limit', async () => {
    const account = await createTestAccount({ maxWebhooks: 1 });
    const key = crypto.randomUUID();
    const first = await postWebhook(validBody(), { token: account.token, headers: idempotent(key) });
    await expectError(await postWebhook(validBody(), { token: account.token }), 422, 'WEBHOOK_LIMIT_REACHED');
    const replay = await postWebhook(validBody(), { token: account.token, headers: idempotent(key) });
    expect(replay.status).toBe(201);
    expect(await replay.text()).toBe(await first.text());
  });

  it('holds whatever the interleaving: concurrent requests with one key create exactly one webhook', async () => {
    const account = await createTestAccount();
    const key = crypto.randomUUID();
    const responses = await Promise.all(
      Array.from({ length: 12 }, () => postWebhook(validBody(), { token: account.token, headers: idempotent(key) })),
    );
    const bodies = await Promise.all(responses.map((response) => response.text()));
    expect(responses.map((response) => response.status)).toEqual(Array(12).fill(201));
    expect(new Set(bodies).size).toBe(1);
    expect(responses.filter((response) => response.headers.get('Idempotent-Replayed') === 'true')).toHaveLength(11);
    expect(await webhookCounts(account.accountId)).toEqual({ rows: 1, counter: 1 });
  });

  it('a request arriving while the first is in flight waits for it and answers with its response', async () => {
    const account = await createTestAccount();
    const key = crypto.randomUUID();
    // Hold the account's row lock, so all three creates are in flight at once; then let them go.
    const lock = holdRowLock(sql`select 1 from accounts where id = ${account.accountId}::uuid for update`, 0.8);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const responses = [1, 2, 3].map(() => postWebhook(validBody(), { token: account.token, headers: idempotent(key) }));
    await lock;
    const settled = await Promise.all(responses);
    const bodies = await Promise.all(settled.map((response) => response.text()));
    expect(settled.map((response) => response.status)).toEqual([201, 201, 201]);
    expect(settled.filter((response) => response.headers.get('Idempotent-Replayed') === 'true')).toHaveLength(2);
    expect(new Set(bodies).size).toBe(1);
    expect(await webhookCounts(account.accountId)).toEqual({ rows: 1, counter: 1 });
  });

  it('frees a key after 24 hours, even before the purge has run', async () => {
    const account = await createTestAccount();
    const key = crypto.randomUUID();
    const first = await readSuccess(await postWebhook(validBody(), { token: account.token, headers: idempotent(key) }));
    await withDatabase((db) =>
      db.execute(sql`update idempotency_keys set created_at = now() - interval '24 hours 1 second'
        where account_id = ${account.accountId}::uuid and key = ${key}`),
    );
    const later = await postWebhook(validBody({ name: 'a day later' }), {
      token: account.token,
      headers: idempotent(key),
    });
    expect(later.status).toBe(201);
    expect(later.headers.get('Idempotent-Replayed')).toBeNull();
    expect((await readSuccess(later)).data.id).not.toBe(first.data.id);
  });
});

describe('the hourly purge (cron trigger)', () => {
  it('deletes records older than 24 hours and keeps younger ones', async () => {
    const account = await createTestAccount();
    const keys = ['old-1', 'old-2', 'young'];
    for (const key of keys) await postWebhook(validBody(), { token: account.token, headers: idempotent(key) });
    await withDatabase((db) =>
      db.execute(sql`update idempotency_keys set created_at = now() - interval '25 hours'
        where account_id = ${account.accountId}::uuid and key like 'old-%'`),
    );
    const controller = createScheduledController({ cron: PURGE_CRON, scheduledTime: Date.now() });
    const ctx = createExecutionContext();
    await worker.scheduled(controller, env, ctx);
    await waitOnExecutionContext(ctx);
    expect(await storedRecord(account.accountId, 'old-1')).toBeUndefined();
    expect(await storedRecord(account.accountId, 'old-2')).toBeUndefined();
    expect(await storedRecord(account.accountId, 'young')).toBeDefined();
  });
});
