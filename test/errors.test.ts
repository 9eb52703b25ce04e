import { exports } from 'cloudflare:workers';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import {
  API_ORIGIN,
  expectError,
  postWebhook,
  readSuccess,
  throughWorker,
  validBody,
  webhookRequest,
} from './support/api.ts';
import { webhookCounts } from './support/database.ts';
import { createTestAccount, createTestCompany, createTestKey, type TestAccount } from './support/fixtures.ts';

let account: TestAccount;
// A fresh account per test keeps every test under the per-key rate limit and its row counts its own.
beforeEach(async () => {
  account = await createTestAccount();
});

/** Runs `request` and checks the account gained no webhook. */
async function writesNothing(request: () => Promise<Response>): Promise<Response> {
  const before = await webhookCounts(account.accountId);
  const response = await request();
  expect(await webhookCounts(account.accountId)).toEqual(before);
  return response;
}

describe('401 UNAUTHORIZED', () => {
  const expectUnauthorized = async (response: Response, message: RegExp) => {
    const body = await expectError(response, 401, 'UNAUTHORIZED');
    expect(response.headers.get('WWW-Authenticate')).toMatch(/^Bearer /);
    expect(body.error.message).toMatch(message);
    return body;
  };

  it('without an Authorization header, with a challenge that carries no error code (RFC 6750 §3.1)', async () => {
    const response = await writesNothing(() => postWebhook(validBody()));
    await expectUnauthorized(response, /Missing API key/);
    expect(response.headers.get('WWW-Authenticate')).toBe('Bearer realm="InstaView"');
  });

  it('with credentials that fail, with error="invalid_token"', async () => {
    const response = await postWebhook(validBody(), { token: `sk_${'A'.repeat(43)}` });
    await expectUnauthorized(response, /not valid/);
    expect(response.headers.get('WWW-Authenticate')).toBe('Bearer realm="InstaView", error="invalid_token"');
  });

  it.each([
    'Basic dXNlcjpwYXNz',
    'Bearer',
    'Bearer ',
    'Token sk_abc',
    'sk_onlythetoken',
    `Bearer sk_${'a'.repeat(42)}!`,
  ])('with a malformed header %j', async (authorization) => {
    await expectUnauthorized(await postWebhook(validBody(), { headers: { Authorization: authorization } }), /Bearer/);
  });

  it.each([
    'sk_short',
    `pk_${'a'.repeat(43)}`,
    `sk_${'a'.repeat(42)}`,
    `sk_${'a'.repeat(44)}`,
    `sk_${'a'.repeat(42)}.`,
  ])('with a malformed key %s, never echoing it', async (token) => {
    const body = await expectUnauthorized(await postWebhook(validBody(), { token }), /malformed/);
    expect(JSON.stringify(body)).not.toContain(token);
  });

  it('with non-ASCII bytes in the header (sent as UTF-8 by the client)', async () => {
    await expectUnauthorized(
      await postWebhook(validBody(), { headers: { Authorization: `Bearer sk_${'é'.repeat(43)}` } }),
      /Bearer/,
    );
  });

  it('with a well-formed key nobody issued', async () => {
    const token = `sk_${'A'.repeat(43)}`;
    const body = await expectUnauthorized(await writesNothing(() => postWebhook(validBody(), { token })), /not valid/);
    expect(JSON.stringify(body)).not.toContain(token);
  });

  it('with a revoked key', async () => {
    const key = await createTestKey({ accountId: account.accountId, scopes: ['write:webhooks'] });
    const { withDatabase } = await import('./support/database.ts');
    const { revokeApiKey } = await import('../src/admin/api-keys.ts');
    await withDatabase((db) => revokeApiKey(db, key.id));
    const body = await expectUnauthorized(await postWebhook(validBody(), { token: key.token }), /revoked/);
    // Says how to get a new key, without any part of the token.
    expect(body.error.message).toMatch(/ask your InstaView account administrator for a new key .*keys create/);
    expect(body.error.message).not.toContain(key.token.slice(3, 12));
  });

  it('with an expired key', async () => {
    const key = await createTestKey({ accountId: account.accountId, scopes: ['write:webhooks'], expiresInSeconds: 1 });
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const body = await expectUnauthorized(await postWebhook(validBody(), { token: key.token }), /expired/);
    expect(body.error.message).toMatch(/for a new key/);
  });
});

describe('403 INSUFFICIENT_PERMISSIONS', () => {
  it('when the key lacks write:webhooks', async () => {
    const key = await createTestKey({ accountId: account.accountId, scopes: ['read:webhooks'] });
    const body = await expectError(
      await writesNothing(() => postWebhook(validBody(), { token: key.token })),
      403,
      'INSUFFICIENT_PERMISSIONS',
    );
    expect(body.error.details).toEqual({ requiredScope: 'write:webhooks' });
  });
});

describe('403 RESOURCE_ACCESS_DENIED', () => {
  it('answers the same for another account’s company and for one that does not exist', async () => {
    const other = await createTestAccount();
    const missing = crypto.randomUUID();
    const foreign = await expectError(
      await writesNothing(() => postWebhook(validBody({ companyId: other.companyId }), { token: account.token })),
      403,
      'RESOURCE_ACCESS_DENIED',
    );
    const absent = await expectError(
      await writesNothing(() => postWebhook(validBody({ companyId: missing }), { token: account.token })),
      403,
      'RESOURCE_ACCESS_DENIED',
    );
    expect(foreign.error.message).toBe(absent.error.message);
    expect(foreign.error.details).toEqual({ companyId: other.companyId });
    expect(absent.error.details).toEqual({ companyId: missing });
  });

  it('when the key is limited to other companies of the same account', async () => {
    const secondCompany = await createTestCompany(account.accountId);
    const limited = await createTestKey({
      accountId: account.accountId,
      scopes: ['write:webhooks'],
      companyIds: [account.companyId],
    });
    const allowed = await postWebhook(validBody({ companyId: account.companyId }), { token: limited.token });
    expect(allowed.status).toBe(201);
    await expectError(
      await writesNothing(() => postWebhook(validBody({ companyId: secondCompany }), { token: limited.token })),
      403,
      'RESOURCE_ACCESS_DENIED',
    );
  });

  it('a limited key may still create an all-companies webhook, which means all of its companies', async () => {
    const limited = await createTestKey({
      accountId: account.accountId,
      scopes: ['write:webhooks'],
      companyIds: [account.companyId],
    });
    const response = await postWebhook(validBody(), { token: limited.token });
    expect((await readSuccess(response)).data.companyId).toBeNull();
  });
});

describe('415 UNSUPPORTED_MEDIA_TYPE', () => {
  it.each([
    undefined,
    'text/plain',
    'application/x-www-form-urlencoded',
    'application/jsonx',
    'application/vnd.api+json',
    'application/json; charset=latin1',
  ])('refuses Content-Type %j', async (contentType) => {
    const request = webhookRequest(validBody(), { token: account.token });
    if (contentType === undefined) request.headers.delete('Content-Type');
    else request.headers.set('Content-Type', contentType);
    await expectError(await writesNothing(() => postRaw(request)), 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  it.each([
    'application/json',
    'Application/JSON',
    'application/json; charset=utf-8',
    'application/json;charset="UTF-8"',
  ])('accepts Content-Type %j', async (contentType) => {
    const response = await postWebhook(validBody(), { token: account.token, headers: { 'Content-Type': contentType } });
    expect(response.status).toBe(201);
  });
});

/** Sends a prepared Request through the Worker (the Content-Type above is edited in place). */
function postRaw(request: Request): Promise<Response> {
  return throughWorker(request, {});
}

describe('413 PAYLOAD_TOO_LARGE', () => {
  const limit = 512 * 1024;

  it('refuses a body over 512 KiB by its Content-Length', async () => {
    const body = JSON.stringify(validBody({ description: 'x'.repeat(limit) }));
    const response = await writesNothing(() => postWebhook(null, { token: account.token, rawBody: body }));
    const error = await expectError(response, 413, 'PAYLOAD_TOO_LARGE');
    expect(error.error.details).toEqual({ maxBytes: limit });
  });

  it('refuses a streamed body without Content-Length once it grows past the limit', async () => {
    const chunk = new TextEncoder().encode('x'.repeat(64 * 1024));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent === 0)
          controller.enqueue(
            new TextEncoder().encode('{"url":"https://example.com/","events":["PING"],"description":"'),
          );
        if (sent > limit * 2) {
          controller.enqueue(new TextEncoder().encode('"}'));
          controller.close();
          return;
        }
        controller.enqueue(chunk);
        sent += chunk.length;
      },
    });
    const request = webhookRequest(null, { token: account.token, rawBody: stream });
    expect(request.headers.has('Content-Length')).toBe(false);
    await expectError(await writesNothing(() => postRaw(request)), 413, 'PAYLOAD_TOO_LARGE');
  });

  it('accepts a streamed body under the limit', async () => {
    const bytes = new TextEncoder().encode(JSON.stringify(validBody()));
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(bytes);
        controller.close();
      },
    });
    const response = await postRaw(webhookRequest(null, { token: account.token, rawBody: stream }));
    expect(response.status).toBe(201);
  });
});

describe('400 INVALID_JSON', () => {
  it.each([
    ['not JSON', '{"url": '],
    ['empty', ''],
    ['trailing garbage', '{"url":"https://example.com","events":["PING"]} x'],
    ['single quotes', "{'url': 'https://example.com'}"],
  ])('when the body is %s', async (_label, raw) => {
    const body = await expectError(
      await writesNothing(() => postWebhook(null, { token: account.token, rawBody: raw })),
      400,
      'INVALID_JSON',
    );
    expect(body.error.message).toMatch(/not valid JSON/);
  });

  it.each([
    ['an overlong "/" (C0 AF)', [0xc0, 0xaf]],
    ['a CESU-8 surrogate (ED A0 80)', [0xed, 0xa0, 0x80]],
    ['a stray continuation byte (80)', [0x80]],
    ['an invalid byte (FF)', [0xff]],
    ['a truncated sequence (E2 82)', [0xe2, 0x82]],
  ])('when the body is not valid UTF-8: %s in a string', async (_label, bytes) => {
    const encoder = new TextEncoder();
    const raw = new Uint8Array([
      ...encoder.encode('{"url":"https://example.com/","events":["PING"],"name":"a'),
      ...bytes,
      ...encoder.encode('b"}'),
    ]);
    const body = await expectError(
      await writesNothing(() => postWebhook(null, { token: account.token, rawBody: raw })),
      400,
      'INVALID_JSON',
    );
    expect(body.error.message).toMatch(/UTF-8/);
  });

  it('a leading byte order mark is allowed (RFC 8259 §8.1 lets parsers ignore it)', async () => {
    const raw = `\ufeff${JSON.stringify(validBody())}`;
    expect((await postWebhook(null, { token: account.token, rawBody: raw })).status).toBe(201);
  });

  it.each(['[]', '[{"url":"https://example.com"}]', 'null', '"text"', '42', 'true'])(
    'when the body is JSON but not an object: %s',
    async (raw) => {
      const body = await expectError(
        await writesNothing(() => postWebhook(null, { token: account.token, rawBody: raw })),
        400,
        'INVALID_JSON',
      );
      expect(body.error.message).toMatch(/JSON object/);
    },
  );
});

describe('the order of checks', () => {
  const badBody = '{"url": ';

  it('401 before anything about the body', async () => {
    const response = await postWebhook(null, { rawBody: badBody, headers: { 'Content-Type': 'text/plain' } });
    await expectError(response, 401, 'UNAUTHORIZED');
  });

  it('403 scope before the body', async () => {
    const key = await createTestKey({ accountId: account.accountId, scopes: ['read:webhooks'] });
    const response = await postWebhook(null, {
      token: key.token,
      rawBody: 'x'.repeat(600 * 1024),
      headers: { 'Content-Type': 'text/plain' },
    });
    await expectError(response, 403, 'INSUFFICIENT_PERMISSIONS');
  });

  it('415 and 413 before the JSON is read', async () => {
    await expectError(
      await postWebhook(null, { token: account.token, rawBody: badBody, headers: { 'Content-Type': 'text/plain' } }),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    );
    await expectError(
      await postWebhook(null, { token: account.token, rawBody: `${badBody}${' '.repeat(600 * 1024)}` }),
      413,
      'PAYLOAD_TOO_LARGE',
    );
  });

  it('400 before the company check', async () => {
    const other = await createTestAccount();
    const response = await postWebhook(validBody({ companyId: other.companyId, events: [] }), { token: account.token });
    await expectError(response, 400, 'VALIDATION_ERROR');
  });
});

describe('a client that goes away mid-body', () => {
  it('is answered (to nobody) with a 4xx and logged as a client abort, not a server fault', async () => {
    const lines: string[] = [];
    const spies = (['log', 'warn', 'error'] as const).map((method) =>
      vi.spyOn(console, method).mockImplementation((line: unknown) => void lines.push(String(line))),
    );
    // A mock of the one fault a test cannot produce for real inside workerd: the client's connection
    // dropping mid-body makes the body stream fail, as this one does (dev-smoke.sh does it for real).
    let sent = false;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (!sent) {
          sent = true;
          controller.enqueue(new TextEncoder().encode('{"url":"https://example.com/","events":["PI'));
          return;
        }
        controller.error(new Error('client disconnected'));
      },
    });
    try {
      const response = await writesNothing(() =>
        postRaw(webhookRequest(null, { token: account.token, rawBody: stream })),
      );
      await expectError(response, 400, 'INVALID_JSON');
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
    const entry = lines.map((line) => JSON.parse(line) as Record<string, unknown>).find((e) => e.message === 'request');
    expect(entry).toMatchObject({ level: 'info', status: 400, clientAbort: true });
    expect(entry).not.toHaveProperty('failure');
  });
});

describe('GET /health', () => {
  it('answers 200 without credentials, touching nothing else', async () => {
    const response = await throughWorker(new Request(`${API_ORIGIN}/health`), {});
    expect(response.status).toBe(200);
    expect(response.headers.get('X-Request-Id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(await response.json()).toMatchObject({ success: true, data: { status: 'ok' }, error: null });
  });
});

describe('routing', () => {
  it('404 NOT_FOUND for an unknown route', async () => {
    for (const path of ['/', '/webhook', '/v1/webhooks', `/webhooks/${crypto.randomUUID()}/nope`, '/docs/other.js']) {
      // Not through throughWorker: what the document leaves out is what this test is about.
      const response = await exports.default.fetch(new Request(`${API_ORIGIN}${path}`, { method: 'POST' }));
      const body = await expectError(response, 404, 'NOT_FOUND');
      if (path !== '/webhook') expect(body.error).toMatchObject({ message: 'No such endpoint', details: {} });
    }
  });

  it.each([
    ['/webhook', '/webhooks'],
    ['/Webhooks/', '/webhooks'],
    ['/event', '/events'],
    [`/webhooks/${crypto.randomUUID()}/reset_circuit`, '/webhooks/{id}/reset-circuit'],
    [`/webhooks/${crypto.randomUUID()}/deliverys`, '/webhooks/{id}/deliveries'],
    ['/helth', '/health'],
  ])('404 NOT_FOUND for %s names the route it is close to, %s, and echoes nothing', async (path, route) => {
    const response = await exports.default.fetch(new Request(`${API_ORIGIN}${path}`));
    const body = await expectError(response, 404, 'NOT_FOUND');
    expect(body.error).toEqual({
      code: 'NOT_FOUND',
      message: `No such endpoint; did you mean ${route}?`,
      details: { didYouMean: route },
    });
  });

  it.each([
    ['PUT', '/webhooks', ['GET', 'HEAD', 'POST']],
    ['DELETE', '/webhooks', ['GET', 'HEAD', 'POST']],
    ['OPTIONS', '/webhooks', ['GET', 'HEAD', 'POST']],
    ['POST', `/webhooks/${crypto.randomUUID()}`, ['GET', 'HEAD', 'PATCH', 'DELETE']],
    ['PUT', `/webhooks/${crypto.randomUUID()}`, ['GET', 'HEAD', 'PATCH', 'DELETE']],
    ['GET', `/webhooks/${crypto.randomUUID()}/rotate-secret`, ['POST']],
    ['DELETE', '/openapi.json', ['GET', 'HEAD']],
  ])('405 METHOD_NOT_ALLOWED for %s %s, with Allow', async (method, path, allowed) => {
    const response = await exports.default.fetch(new Request(`${API_ORIGIN}${path}`, { method }));
    const body = await expectError(response, 405, 'METHOD_NOT_ALLOWED');
    expect(response.headers.get('Allow')?.split(', ').sort()).toEqual([...allowed].sort());
    expect((body.error.details as { allowedMethods: string[] }).allowedMethods.sort()).toEqual([...allowed].sort());
  });
});

describe('500 INTERNAL_ERROR', () => {
  it('is generic and leaks nothing, e.g. when the encryption key ring is misconfigured', async () => {
    const response = await throughWorker(webhookRequest(validBody(), { token: account.token }), {
      ENCRYPTION_KEYS: 'broken-key-id:not base64 at all',
    });
    const body = await expectError(response, 500, 'INTERNAL_ERROR');
    expect(body.error.details).toEqual({});
    expect(JSON.stringify(body)).not.toMatch(/broken-key-id|base64|ENCRYPTION|stack|at .*\.ts/);
  });
});
