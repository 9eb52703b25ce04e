import { describe, expect, it } from 'vitest';
import { expectError, postWebhook, throughWorker, validBody, webhookRequest } from './support/api.ts';
import { webhookCounts } from './support/database.ts';
import { createTestAccount, createTestKey } from './support/fixtures.ts';

describe('webhooks per account', () => {
  it('answers 422 WEBHOOK_LIMIT_REACHED at the account’s limit, writing nothing', async () => {
    const account = await createTestAccount({ maxWebhooks: 2 });
    for (let i = 0; i < 2; i++) expect((await postWebhook(validBody(), { token: account.token })).status).toBe(201);
    const body = await expectError(
      await postWebhook(validBody(), { token: account.token }),
      422,
      'WEBHOOK_LIMIT_REACHED',
    );
    expect(body.error.details).toEqual({ limit: 2 });
    expect(await webhookCounts(account.accountId)).toEqual({ rows: 2, counter: 2 });
  });

  it('defaults to MAX_WEBHOOKS_PER_ACCOUNT', async () => {
    const account = await createTestAccount();
    const send = () =>
      throughWorker(webhookRequest(validBody(), { token: account.token }), { MAX_WEBHOOKS_PER_ACCOUNT: '3' });
    for (let i = 0; i < 3; i++) expect((await send()).status).toBe(201);
    const body = await expectError(await send(), 422, 'WEBHOOK_LIMIT_REACHED');
    expect(body.error.details).toEqual({ limit: 3 });
  });

  it('is checked after validation and company access', async () => {
    const account = await createTestAccount({ maxWebhooks: 0 });
    await expectError(await postWebhook(validBody({ events: [] }), { token: account.token }), 400, 'VALIDATION_ERROR');
    await expectError(
      await postWebhook(validBody({ companyId: crypto.randomUUID() }), { token: account.token }),
      403,
      'RESOURCE_ACCESS_DENIED',
    );
    await expectError(await postWebhook(validBody(), { token: account.token }), 422, 'WEBHOOK_LIMIT_REACHED');
  });

  it.each([
    [1, 20],
    [10, 40],
  ])('race-safe: with %i slot(s) left, %i concurrent creates make exactly that many', async (slotsLeft, concurrent) => {
    const limit = 12;
    const account = await createTestAccount({ maxWebhooks: limit });
    for (let i = 0; i < limit - slotsLeft; i++)
      expect((await postWebhook(validBody(), { token: account.token })).status).toBe(201);
    // Several keys of one account, so the per-key rate limit is not what stops them.
    const tokens = await Promise.all(
      Array.from(
        { length: Math.ceil(concurrent / 20) },
        async () => (await createTestKey({ accountId: account.accountId, scopes: ['write:webhooks'] })).token,
      ),
    );
    const responses = await Promise.all(
      Array.from({ length: concurrent }, (_, i) =>
        postWebhook(validBody({ name: `racer ${i}` }), { token: tokens[i % tokens.length] }),
      ),
    );
    const statuses = responses.map((response) => response.status);
    expect(statuses.filter((status) => status === 201)).toHaveLength(slotsLeft);
    expect(statuses.filter((status) => status === 422)).toHaveLength(concurrent - slotsLeft);
    expect(await webhookCounts(account.accountId)).toEqual({ rows: limit, counter: limit });
    console.log(
      `[webhook-limit] ${concurrent} concurrent creates, ${slotsLeft} slot(s) left: ${slotsLeft} created, ${concurrent - slotsLeft} refused, ${limit} rows`,
    );
  });
});
