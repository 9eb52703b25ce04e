import { env } from 'cloudflare:workers';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { revokeApiKey } from '../src/admin/api-keys.ts';
import { postWebhook, readSuccess, throughWorker, validBody, webhookRequest } from './support/api.ts';
import { withDatabase } from './support/database.ts';
import { consumeBatch, unqueuedDelivery, webhookWithReceiver } from './support/deliveries.ts';
import { setFault, throughFaultyEndpoint } from './support/faults.ts';
import { createTestAccount, createTestKey } from './support/fixtures.ts';

let lines: string[] = [];
beforeEach(() => {
  lines = [];
  for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
    vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
      lines.push(args.map((arg) => (typeof arg === 'string' ? arg : JSON.stringify(arg))).join(' '));
    });
  }
});
afterEach(async () => {
  vi.restoreAllMocks();
  await setFault({ mode: 'none' });
});

/** The request lines, but the one for GET /openapi.json, which the suite fetches to check responses against. */
const requestLines = () =>
  lines
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((entry) => entry.message === 'request' && entry.path !== '/openapi.json');

/** The request lines once `count` have been written: each is written after its response has gone. */
async function settledRequestLines(count: number) {
  await vi.waitFor(() => expect(requestLines()).toHaveLength(count));
  return requestLines();
}

describe('request logs', () => {
  it('one JSON line per request with who, what, outcome and time', async () => {
    const account = await createTestAccount();
    const ok = await postWebhook(validBody(), { token: account.token });
    const refused = await postWebhook(validBody({ events: [] }), { token: account.token });
    const entries = await settledRequestLines(2);
    expect(entries).toHaveLength(2);
    expect(entries[0]).toEqual({
      level: 'info',
      message: 'request',
      requestId: ok.headers.get('X-Request-Id'),
      method: 'POST',
      path: '/webhooks',
      status: 201,
      durationMs: expect.any(Number),
      apiKeyId: account.apiKeyId,
      accountId: account.accountId,
      tokenCache: 'absent',
      rateLimiter: 'binding',
    });
    expect(entries[1]).toMatchObject({
      requestId: refused.headers.get('X-Request-Id'),
      status: 400,
      errorCode: 'VALIDATION_ERROR',
    });
  });

  it('an error line for a 5xx, naming the failure by type only', async () => {
    const account = await createTestAccount();
    await setFault({ mode: 'refuse' });
    await throughFaultyEndpoint(webhookRequest(validBody(), { token: account.token }));
    const [entry] = await settledRequestLines(1);
    expect(entry).toMatchObject({
      level: 'error',
      status: 503,
      errorCode: 'SERVICE_UNAVAILABLE',
      failure: 'database unavailable',
      errorType: expect.any(String),
    });
  });

  it('never contains a token, a signing secret, a header value or key material', async () => {
    const account = await createTestAccount();
    const readOnly = await createTestKey({ accountId: account.accountId, scopes: ['read:webhooks'] });
    const revoked = await createTestKey({ accountId: account.accountId, scopes: ['write:webhooks'] });
    await withDatabase((db) => revokeApiKey(db, revoked.id));
    const headerValues = ['Bearer header-secret-1f9c', 'hmac=header-secret-77ab', 'v\theader-secret-tab'];
    const headers = headerValues.map((value, index) => ({ name: `X-Secret-${index}`, value }));
    const unknownToken = `sk_${'U'.repeat(43)}`;
    const malformedToken = 'sk_malformed-token-value';
    const idempotencyKey = 'idem-key-for-log-test';

    const created = await readSuccess(
      await postWebhook(validBody({ headers }), {
        token: account.token,
        headers: { 'Idempotency-Key': idempotencyKey },
      }),
    );
    const replayed = await readSuccess(
      await postWebhook(validBody({ headers }), {
        token: account.token,
        headers: { 'Idempotency-Key': idempotencyKey },
      }),
    );
    await postWebhook(validBody({ headers: [...headers, { name: 'x-secret-0', value: 'header-secret-dupe' }] }), {
      token: account.token,
    });
    await postWebhook(validBody({ headers: [{ name: 'X-Bad', value: 'header-secret\nbroken' }] }), {
      token: account.token,
    });
    await postWebhook(validBody({ url: 'https://user:header-secret-pw@example.com/' }), { token: account.token });
    await postWebhook(validBody({ headers }), { token: readOnly.token });
    await postWebhook(validBody({ headers }), { token: revoked.token });
    await postWebhook(validBody({ headers }), { token: unknownToken });
    await postWebhook(validBody({ headers }), { token: malformedToken });
    await postWebhook(validBody(), { headers: { Authorization: `Basic ${btoa(`user:${account.token}`)}` } });
    await throughWorker(webhookRequest(validBody({ headers }), { token: account.token }), {
      ENCRYPTION_KEYS: 'broken:not-base64-key-material',
    });

    expect(await settledRequestLines(11)).toHaveLength(11);
    const output = lines.join('\n');
    const secrets = [
      account.token,
      readOnly.token,
      revoked.token,
      unknownToken,
      malformedToken,
      btoa(`user:${account.token}`),
      created.data.signingSecret,
      replayed.data.signingSecret,
      ...headerValues,
      'header-secret',
      'not-base64-key-material',
      env.ENCRYPTION_KEYS.split(':')[1] as string,
    ];
    for (const secret of secrets) expect(output, `log output contains ${secret.slice(0, 8)}…`).not.toContain(secret);
    // The account and key ids do appear: the log is useful without being dangerous.
    expect(output).toContain(account.accountId);
  });
});

describe('delivery logs', () => {
  it('a line per consumer batch counting its successes, and one per attempt that did not plainly succeed', async () => {
    const fine = await createTestAccount();
    const failing = await createTestAccount();
    await webhookWithReceiver(fine.token);
    await webhookWithReceiver(failing.token, {}, [{ status: 500 }]);
    const messages = [
      { deliveryId: (await unqueuedDelivery(fine.accountId)).deliveryId, series: 1 },
      { deliveryId: (await unqueuedDelivery(failing.accountId)).deliveryId, series: 1 },
    ];
    await consumeBatch('webhook-deliveries', messages);
    const entries = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(entries.filter((entry) => entry.message === 'delivery batch')).toEqual([
      expect.objectContaining({ level: 'info', queue: 'main', messages: 2, succeeded: 1 }),
    ]);
    expect(entries.filter((entry) => entry.message === 'delivery attempt')).toEqual([
      expect.objectContaining({ deliveryId: messages[1]?.deliveryId, success: false, httpStatus: 500, attempt: 1 }),
    ]);
  });
});
