// Issue 16, finding 5: one delivery's attempt log is read a page at a time, and sending one delivery
// again or testing one webhook is limited, whichever keys ask.
import { sql } from 'drizzle-orm';
import { describe, expect, it, vi } from 'vitest';
import { expectError, expectValidationIssues } from './support/api.ts';
import { withDatabase } from './support/database.ts';
import { unqueuedDelivery, webhookWithReceiver } from './support/deliveries.ts';
import { createTestAccount, createTestKey } from './support/fixtures.ts';
import { call, data } from './support/routes.ts';
import { statementsOf } from './support/statements.ts';

vi.setConfig({ testTimeout: 60_000 });

interface Detail {
  attemptCount: number;
  attemptsBefore: number | null;
  attemptLog: { number: number; responseExcerpt: string | null }[];
}

describe('GET /webhooks/{id}/deliveries/{deliveryId}', () => {
  it('shows the newest 50 attempts and the count; attemptsBefore pages back through the rest', async () => {
    const account = await createTestAccount();
    const { webhook } = await webhookWithReceiver(account.token);
    const { deliveryId } = await unqueuedDelivery(account.accountId);
    // 60 attempts of 1 KiB excerpts each, as 60 redelivers of a failing endpoint would leave.
    await withDatabase((db) =>
      db.execute(sql`insert into delivery_attempts (delivery_id, number, started_at, http_status, duration_ms,
          response_excerpt)
        select ${deliveryId}::uuid, n, now() - (60 - n) * interval '1 second', 500, 3, repeat('x', 1024)
        from generate_series(1, 60) n`),
    );
    const detail = (query = '') =>
      call('GET', `/webhooks/${webhook.id}/deliveries/${deliveryId}${query}`, { token: account.token });
    const first = await detail();
    expect(await statementsOf(first)).toHaveLength(1);
    const newest = await data<Detail>(first);
    expect(newest.attemptCount).toBe(60);
    expect(newest.attemptLog.map((attempt) => attempt.number)).toEqual(Array.from({ length: 50 }, (_, i) => i + 11));
    expect(newest.attemptsBefore).toBe(11);
    const older = await data<Detail>(await detail(`?attemptsBefore=${newest.attemptsBefore}`));
    expect(older.attemptLog.map((attempt) => attempt.number)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
    expect(older).toMatchObject({ attemptCount: 60, attemptsBefore: null });
    for (const bad of ['1', '0', 'x', '99999999999']) {
      const issues = await expectValidationIssues(await detail(`?attemptsBefore=${bad}`));
      expect(issues.map((issue) => issue.path)).toEqual(['query.attemptsBefore']);
    }
  });
});

describe('sending one delivery again, or testing one webhook, is limited', () => {
  it('10 redelivers of one delivery a minute, whichever keys ask; then 429 with Retry-After', async () => {
    const account = await createTestAccount();
    const { webhook } = await webhookWithReceiver(account.token);
    const other = await createTestKey({ accountId: account.accountId, scopes: ['write:webhooks', 'read:webhooks'] });
    const [first, second] = [await unqueuedDelivery(account.accountId), await unqueuedDelivery(account.accountId)];
    const redeliver = (deliveryId: string, token = account.token) =>
      call('POST', `/webhooks/${webhook.id}/deliveries/${deliveryId}/redeliver`, { token });
    for (let i = 0; i < 10; i++) {
      expect((await redeliver(first.deliveryId, i % 2 === 0 ? account.token : other.token)).status).toBe(202);
    }
    for (const token of [account.token, other.token]) {
      const refused = await redeliver(first.deliveryId, token);
      expect(Number(refused.headers.get('Retry-After'))).toBeGreaterThan(0);
      const body = await expectError(refused, 429, 'RATE_LIMITED');
      expect(body.error.message).toMatch(/redelivers of this delivery/);
      expect(body.error.details).toMatchObject({ limit: 10, periodSeconds: 60 });
    }
    expect((await redeliver(second.deliveryId)).status).toBe(202);
  });

  it('10 tests of one webhook a minute; then 429 with Retry-After, and nothing sent or logged', async () => {
    const account = await createTestAccount();
    const { webhook } = await webhookWithReceiver(account.token);
    const { webhook: sibling } = await webhookWithReceiver(account.token);
    const test = (id: string) => call('POST', `/webhooks/${id}/test`, { token: account.token });
    for (let i = 0; i < 10; i++) expect((await test(webhook.id)).status).toBe(200);
    const refused = await test(webhook.id);
    expect(refused.headers.get('Retry-After')).toMatch(/^\d+$/);
    expect((await expectError(refused, 429, 'RATE_LIMITED')).error.message).toMatch(/tests of this webhook/);
    const logged = await withDatabase((db) =>
      db.execute<{ n: number }>(sql`select count(*)::int as n from deliveries where webhook_id = ${webhook.id}::uuid`),
    );
    expect(logged.rows[0]?.n).toBe(10);
    expect((await test(sibling.id)).status).toBe(200);
  });
});
