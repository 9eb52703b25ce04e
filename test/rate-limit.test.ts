import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { expectError, postWebhook, throughWorker, validBody, webhookRequest } from './support/api.ts';
import { createTestAccount, createTestKey } from './support/fixtures.ts';
import { call } from './support/routes.ts';

const LIMIT = Number(env.CREATE_WEBHOOK_RATE_LIMIT);

/** Windows are per clock minute; start a burst where it cannot straddle one. */
async function awayFromMinuteBoundary(): Promise<void> {
  const intoMinute = Date.now() % 60_000;
  if (intoMinute > 50_000) await new Promise((resolve) => setTimeout(resolve, 60_000 - intoMinute + 200));
}

/** Cheap attempts: they pass authentication and the limiter, then stop at 415 without touching the body. */
const attempt = (token: string, send: (request: Request) => Promise<Response> = (request) => throughWorker(request)) =>
  send(webhookRequest(validBody(), { token, headers: { 'Content-Type': 'text/plain' } }));

async function burst(token: string, send?: (request: Request) => Promise<Response>): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < LIMIT; i++) statuses.push((await attempt(token, send)).status);
  return statuses;
}

// Waiting out a minute boundary can take up to 10 s.
describe('rate limit on creates, per API key', { timeout: 30_000 }, () => {
  it(`lets ${LIMIT} through in a minute, then answers 429 RATE_LIMITED with Retry-After`, async () => {
    expect(LIMIT).toBe(60);
    const account = await createTestAccount();
    await awayFromMinuteBoundary();
    expect(new Set(await burst(account.token))).toEqual(new Set([415]));
    const response = await postWebhook(validBody(), { token: account.token });
    const body = await expectError(response, 429, 'RATE_LIMITED');
    const retryAfter = Number(response.headers.get('Retry-After'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(body.error.details).toEqual({ retryAfter, limit: 60, periodSeconds: 60 });
  });

  it('counts each key on its own', async () => {
    const account = await createTestAccount();
    const other = await createTestKey({ accountId: account.accountId, scopes: ['write:webhooks'] });
    await awayFromMinuteBoundary();
    await burst(account.token);
    await expectError(await attempt(account.token), 429, 'RATE_LIMITED');
    expect((await postWebhook(validBody(), { token: other.token })).status).toBe(201);
  });

  it('comes after authentication and scope, before the body is looked at', async () => {
    const account = await createTestAccount();
    await awayFromMinuteBoundary();
    await burst(account.token);
    await expectError(await postWebhook(validBody(), { token: `sk_${'N'.repeat(43)}` }), 401, 'UNAUTHORIZED');
    await expectError(await postWebhook(null, { token: account.token, rawBody: '{broken' }), 429, 'RATE_LIMITED');
  });

  describe('without the Workers binding', () => {
    const broken = {
      limit: async () => {
        throw new Error('rate limiter unavailable');
      },
    } as unknown as RateLimit;

    it.each([
      ['missing', undefined],
      ['throwing', broken],
    ])('falls back to a real limiter when the binding is %s', async (_label, binding) => {
      const account = await createTestAccount();
      const send = (request: Request) => throughWorker(request, { CREATE_WEBHOOK_RATE_LIMITER: binding as RateLimit });
      await awayFromMinuteBoundary();
      expect(new Set(await burst(account.token, send))).toEqual(new Set([415]));
      const response = await attempt(account.token, send);
      const body = await expectError(response, 429, 'RATE_LIMITED');
      const retryAfter = Number(response.headers.get('Retry-After'));
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(60);
      expect(body.error.details).toMatchObject({ retryAfter, limit: 60 });
    });
  });
});

describe('rate limits on reads and on other writes, per API key, through the Workers bindings', () => {
  /** `count` requests, eight at a time; their statuses. */
  async function statuses(count: number, send: () => Promise<Response>): Promise<Set<number>> {
    const seen = new Set<number>();
    for (let sent = 0; sent < count; sent += 8) {
      const batch = await Promise.all(Array.from({ length: Math.min(8, count - sent) }, send));
      for (const response of batch) seen.add(response.status);
    }
    return seen;
  }

  it('600 reads and 120 other writes a minute, each counted apart, and apart from creates', {
    timeout: 30_000,
  }, async () => {
    const account = await createTestAccount();
    // A path that is no webhook: each request is admitted (and counted), then answers 404 without a query.
    const read = () => call('GET', '/webhooks/not-a-webhook', { token: account.token });
    const write = () => call('POST', '/webhooks/not-a-webhook/reset-circuit', { token: account.token });
    await awayFromMinuteBoundary();
    expect(await statuses(600, read)).toEqual(new Set([404]));
    const overReads = await expectError(await read(), 429, 'RATE_LIMITED');
    expect(overReads.error.details).toMatchObject({ limit: 600, periodSeconds: 60 });
    expect((await write()).status).toBe(404);
    expect(await statuses(119, write)).toEqual(new Set([404]));
    const overWrites = await expectError(await write(), 429, 'RATE_LIMITED');
    expect(overWrites.error.details).toMatchObject({ limit: 120, periodSeconds: 60 });
    expect((await postWebhook(validBody(), { token: account.token })).status).toBe(201);
  });
});
