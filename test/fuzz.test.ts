// Property-based tests over bodies, content types, encodings and Authorization values. Whatever comes
// in: never a 5xx, always the envelope, never a row for a refused request, and accepted input comes
// back (in the response and from the database) exactly as sent.
import { env } from 'cloudflare:workers';
import { sql } from 'drizzle-orm';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { WEBHOOK_EVENTS } from '../src/events/event-types.ts';
import type { ErrorEnvelope, SuccessEnvelope } from '../src/http/envelope.ts';
import { secretBox } from '../src/lib/secret-box.ts';
import type { CreatedWebhook } from '../src/webhooks/representation.ts';
import { openHeaders } from '../src/webhooks/secrets.ts';
import { throughWorker, webhookRequest } from './support/api.ts';
import { withDatabase } from './support/database.ts';
import { createTestAccount, createTestKey, type TestAccount } from './support/fixtures.ts';

/**
 * Cases per property. The properties are the HTTP contract's (status, envelope, what is stored), and run
 * in full on PostgreSQL, the production engine; on the embedded PGlite, which runs a statement about
 * three times slower here (99.9 s against 30.5 s for this file in CI), a quarter of them check the same
 * properties there, so that CI stays within its 15 minutes.
 */
const RUNS = inject('databaseKind') === 'postgres' ? 800 : 200;
const MAX_BODY_BYTES = 512 * 1024;

let account: TestAccount;
let token = '';
let sentWithToken = 0;
const casesRun = new Map<string, number>();
/** Every 201: what the response said, and the header values sent when the body was readable here. */
const accepted = new Map<string, { webhook: CreatedWebhook; headerValues: string[] | undefined }>();

beforeAll(async () => {
  account = await createTestAccount({ maxWebhooks: 1_000_000 });
});

/** A fresh key every 50 requests keeps the fuzzer under the per-key rate limit. */
async function currentToken(): Promise<string> {
  if (!token || sentWithToken >= 50) {
    token = (await createTestKey({ accountId: account.accountId, scopes: ['write:webhooks'] })).token;
    sentWithToken = 0;
  }
  sentWithToken++;
  return token;
}

async function send(request: Request, property: string): Promise<{ status: number; body: unknown }> {
  casesRun.set(property, (casesRun.get(property) ?? 0) + 1);
  const response = await throughWorker(request);
  const text = await response.text();
  // Never a 5xx, never a 4xx bigger than 64 KiB, always JSON in the envelope, always a request id.
  expect(response.status, text.slice(0, 2000)).toBeLessThan(500);
  if (response.status >= 400) expect(new TextEncoder().encode(text).length).toBeLessThanOrEqual(64 * 1024);
  expect(response.headers.get('Content-Type')).toMatch(/^application\/json/);
  expect(response.headers.get('X-Request-Id')).toMatch(/^[0-9a-f-]{36}$/);
  const body = JSON.parse(text) as SuccessEnvelope<CreatedWebhook> | ErrorEnvelope;
  expect(typeof body.timestamp).toBe('string');
  if (response.status === 201) {
    expect(body.success).toBe(true);
  } else {
    expect(body).toMatchObject({
      success: false,
      data: null,
      error: { code: expect.any(String), message: expect.any(String) },
    });
  }
  return { status: response.status, body };
}

async function post(
  body: unknown,
  property: string,
  options: { rawBody?: BodyInit; headers?: Record<string, string> } = {},
) {
  const request = webhookRequest(body, { token: await currentToken(), ...options });
  const result = await send(request, property);
  if (result.status === 201) {
    const webhook = (result.body as SuccessEnvelope<CreatedWebhook>).data;
    accepted.set(webhook.id, { webhook, headerValues: sentHeaderValues(body, options.rawBody) });
  }
  return result;
}

function sentHeaderValues(body: unknown, rawBody: BodyInit | undefined): string[] | undefined {
  let sent = body;
  if (typeof rawBody === 'string') {
    try {
      sent = JSON.parse(rawBody.replace(/^\ufeff/, ''));
    } catch {
      return undefined;
    }
  } else if (rawBody !== undefined) {
    return undefined;
  }
  const headers = (sent as { headers?: { value: string }[] } | null)?.headers ?? [];
  return headers.map((header) => header.value);
}

// ---- arbitraries -------------------------------------------------------------------------------

/** RFC 9110 field-value characters: tab, visible ASCII and space, and U+0080–U+00FF (obs-text). */
const headerValueChar = fc.oneof(
  fc.constant('\t'),
  fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCodePoint(code)),
  fc.integer({ min: 0x80, max: 0xff }).map((code) => String.fromCodePoint(code)),
);
const TOKEN_CHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const RESERVED =
  /^(host|content-length|content-type|transfer-encoding|connection|user-agent|te|trailer|upgrade|keep-alive|expect|forwarded|x-real-ip|via|date|content-encoding)$|^(webhook-|x-instaview-|proxy-|x-forwarded-|cf-)/i;
const headerName = fc
  .string({ unit: fc.constantFrom(...TOKEN_CHARS), minLength: 1, maxLength: 40 })
  .filter((name) => !RESERVED.test(name));
const text = (minLength: number, maxLength: number) =>
  fc.string({ unit: 'binary', minLength, maxLength }).filter((value) => !value.includes('\u0000'));
const label = fc.stringMatching(/^[a-z0-9](?:[a-z0-9-]{0,12}[a-z0-9])?$/);
const validUrl = fc
  .tuple(
    fc.array(label, { minLength: 1, maxLength: 3 }),
    fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }),
    fc.array(fc.stringMatching(/^[A-Za-z0-9._~-]{0,12}$/), { maxLength: 4 }),
    fc.option(fc.stringMatching(/^[a-z]{1,8}=[A-Za-z0-9]{0,8}$/), { nil: undefined }),
  )
  .map(([labels, port, segments, query]) => {
    return `https://${[...labels, 'example'].join('.')}${port ? `:${port}` : ''}/${segments.join('/')}${query ? `?${query}` : ''}`;
  });

const validBody = () =>
  fc.record(
    {
      url: fc.oneof(
        { weight: 9, arbitrary: validUrl },
        { weight: 1, arbitrary: fc.constant(`https://hooks.example/${'p'.repeat(2048 - 22)}`) },
      ),
      events: fc.array(fc.constantFrom(...WEBHOOK_EVENTS), { minLength: 1, maxLength: 15 }),
      name: fc.oneof(text(1, 255), fc.constant(null)),
      description: fc.oneof(text(0, 1000), fc.constant(null)),
      companyId: fc.constantFrom<string | null>(null, account.companyId, account.companyId.toUpperCase()),
      headers: fc.uniqueArray(
        fc.record({ name: headerName, value: fc.string({ unit: headerValueChar, minLength: 1, maxLength: 64 }) }),
        { maxLength: 50, selector: (header) => header.name.toLowerCase() },
      ),
    },
    { requiredKeys: ['url', 'events'] },
  );

/** What a valid body must come back as. */
function expectedWebhook(body: Record<string, unknown>) {
  const headers = (body.headers as { name: string }[] | undefined) ?? [];
  return {
    url: new URL(body.url as string).href,
    events: [...new Set(body.events as string[])],
    name: body.name ?? null,
    description: body.description ?? null,
    companyId: typeof body.companyId === 'string' ? body.companyId.toLowerCase() : null,
    headers: headers.map((header) => ({ name: header.name, isMasked: true })),
  };
}

// ---- properties --------------------------------------------------------------------------------

describe('fuzz', () => {
  it('accepts every valid body and returns it exactly', async () => {
    await fc.assert(
      fc.asyncProperty(validBody(), async (body) => {
        const { status, body: response } = await post(body, 'valid bodies');
        expect(status, JSON.stringify(response)).toBe(201);
        expect((response as SuccessEnvelope<CreatedWebhook>).data).toMatchObject(expectedWebhook(body));
      }),
      { numRuns: RUNS },
    );
  }, 120_000);

  it('answers any JSON object with 201, 400 or 403', async () => {
    const field = fc.oneof(fc.jsonValue({ maxDepth: 3 }), validUrl, fc.constantFrom(...WEBHOOK_EVENTS), text(0, 300));
    const key = fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom('url', 'events', 'name', 'description', 'companyId', 'headers') },
      {
        weight: 1,
        arbitrary: fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty', 'isActive', 'id', ''),
      },
      { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 10 }) },
    );
    const mixed = fc
      .tuple(validBody(), fc.dictionary(key, field, { maxKeys: 4 }))
      .map(([valid, noise]) => ({ ...valid, ...noise }));
    await fc.assert(
      fc.asyncProperty(fc.oneof(mixed, fc.dictionary(key, field)), async (body) => {
        // JSON.stringify drops a "__proto__" own key's meaning nowhere: it is written as a plain key.
        const { status } = await post(body, 'arbitrary objects', { rawBody: JSON.stringify(body) });
        expect([201, 400, 403]).toContain(status);
      }),
      { numRuns: RUNS },
    );
  }, 120_000);

  it('answers hostile raw bodies with 201, 400 or 413, never more', async () => {
    const valid = '{"url":"https://hostile.example/","events":["PING"]}';
    const hostile = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 200 }),
      fc.uint8Array({ maxLength: 300 }),
      fc.integer({ min: 1, max: 120_000 }).map((depth) => `${'['.repeat(depth)}${']'.repeat(depth)}`),
      fc
        .integer({ min: 1, max: 60_000 })
        .map((depth) => `{"url":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)},"events":["PING"]}`),
      fc.constantFrom(
        `\ufeff${valid}`,
        '{"url":1e999,"events":[1e400]}',
        `{"url":"https://a.example/","url":"http://10.0.0.1/","events":["PING"]}`,
        `{"url":"https://a.example/","events":["PING"],"events":[]}`,
        '{"url":"https://a.example/","events":["PING"],"__proto__":{"polluted":true}}',
        '{"url":"https://a.example/","events":["PING"],"constructor":{"prototype":{"polluted":true}}}',
        '{"url":"https://a.example/","events":["PING"],"name":"\\ud800"}',
        '{"url":"https://a.example/","events":["PING"],"name":"\\udfff\\ud800"}',
        '{"url":"https://a.example/","events":["PING"],"headers":[{"name":"X","value":"a\\u0000b"}]}',
        `{"url":"https://a.example/","events":["PING"],"name":${JSON.stringify('😀'.repeat(255))}}`,
        '{"url":"https://a.example/","events":["PING"]}\u0000',
        `${valid}${' '.repeat(1000)}`,
        '{"url":"https://a.example/","events":["PING"],"name":"\ud83d"}',
      ),
      fc.string({ unit: 'binary', maxLength: 30 }).map((noise) => valid.replace('PING', noise)),
      // Huge arrays and many fields: one issue for a too-long array, at most 50 issues in all.
      fc
        .tuple(
          fc.constantFrom('events', 'headers'),
          fc.integer({ min: 0, max: 200_000 }),
          fc.constantFrom('1', '"X"', '{}', '[]'),
        )
        .map(
          ([field, count, item]) => `{"url":"https://a.example/","${field}":[${Array(count).fill(item).join(',')}]}`,
        ),
      fc
        .tuple(fc.integer({ min: 0, max: 20_000 }), fc.integer({ min: 1, max: 200 }))
        .map(([count, length]) =>
          JSON.stringify(
            Object.fromEntries([
              ['url', 'https://a.example/'],
              ['events', ['PING']],
              ...Array.from({ length: count }, (_, index) => [`${'k'.repeat(length)}${index}`, index]),
            ]),
          ),
        ),
      fc
        .tuple(fc.constantFrom('url', 'name', 'description'), fc.integer({ min: 0, max: 400_000 }))
        .map(([field, length]) =>
          JSON.stringify({ url: 'https://a.example/', events: ['PING'], [field]: 'x'.repeat(length) }),
        ),
    );
    await fc.assert(
      fc.asyncProperty(hostile, async (raw) => {
        const { status } = await post(null, 'hostile raw bodies', { rawBody: raw });
        expect([201, 400, 413]).toContain(status);
        expect(Object.prototype).not.toHaveProperty('polluted');
      }),
      { numRuns: RUNS },
    );
  }, 180_000);

  it('refuses every Content-Type but JSON with 415', async () => {
    // Printable ASCII: workerd warns about (and re-encodes) other header bytes, which would drown the output.
    const printable = (maxLength: number) => fc.string({ unit: 'grapheme-ascii', maxLength });
    const contentType = fc.oneof(
      printable(60),
      fc.constantFrom(
        'text/plain',
        'application/xml',
        'multipart/form-data; boundary=x',
        'application/json-patch+json',
        'application/json; charset=utf-16',
        'application/json; charset=iso-8859-1',
        'application/json',
        'APPLICATION/JSON; charset=UTF-8',
        'application/json;charset="utf8"',
        'application/json; version=2',
      ),
    );
    // JSON with no charset, or UTF-8; any other parameter is fine.
    const isJson = (type: string) => {
      const [media = '', ...parameters] = type.split(';');
      const charset = parameters
        .map((parameter) => parameter.split('='))
        .find(([name]) => name?.trim().toLowerCase() === 'charset');
      const charsetOk = !charset || /^"?utf-?8"?$/i.test(charset[1]?.trim() ?? '');
      return media.trim().toLowerCase() === 'application/json' && charsetOk;
    };
    await fc.assert(
      fc.asyncProperty(contentType, validBody(), async (type, body) => {
        const { status } = await post(body, 'content types', { headers: { 'Content-Type': type } });
        expect(status).toBe(isJson(type) ? 201 : 415);
      }),
      { numRuns: RUNS / 2 },
    );
  }, 120_000);

  it('answers any Authorization value that is not a live key with 401', async () => {
    const printable = fc.string({ unit: 'grapheme-ascii', maxLength: 120 });
    const authorization = fc.oneof(
      printable,
      printable.map((value) => `Bearer ${value}`),
      fc.stringMatching(/^[A-Za-z0-9_-]{43}$/).map((value) => `Bearer sk_${value}`),
      fc.stringMatching(/^[A-Za-z0-9_-]{0,60}$/).map((value) => `bearer sk_${value}`),
    );
    await fc.assert(
      fc.asyncProperty(authorization, async (value) => {
        const request = webhookRequest(
          { url: 'https://a.example/', events: ['PING'] },
          { headers: { Authorization: value } },
        );
        const { status } = await send(request, 'authorization values');
        expect(status).toBe(401);
      }),
      { numRuns: RUNS },
    );
  }, 120_000);

  it('decides headers at every boundary exactly', async () => {
    const lengthAround = (limit: number) => fc.constantFrom(1, limit - 1, limit, limit + 1);
    const boundaryHeaders = fc
      .tuple(fc.constantFrom(0, 1, 49, 50, 51), lengthAround(255), lengthAround(4096), fc.nat())
      .map(([count, nameLength, valueLength, seed]) =>
        Array.from({ length: count }, (_, index) => {
          // One header (chosen by seed) carries the boundary lengths; the others are ordinary.
          const chosen = index === seed % Math.max(count, 1);
          return {
            name: `X-${index}-`.padEnd(chosen ? nameLength : 8, 'n'),
            value: 'v'.repeat(chosen ? valueLength : 3),
          };
        }),
      );
    await fc.assert(
      fc.asyncProperty(boundaryHeaders, async (headers) => {
        const body = { url: 'https://boundary.example/', events: ['PING'], headers };
        const { status } = await post(body, 'header boundaries');
        const valid =
          headers.length <= 50 && headers.every(({ name, value }) => name.length <= 255 && value.length <= 4096);
        expect(status).toBe(valid ? 201 : 400);
      }),
      { numRuns: RUNS / 4 },
    );
  }, 120_000);

  it('refuses streamed bodies without Content-Length once they pass 512 KiB', async () => {
    await fc.assert(
      fc.asyncProperty(
        // At least 1 KiB a chunk: the same code path as smaller ones, but a byte at a time 1.5 MB is
        // 1.5 million chunks, and one such case took most of this file's 40–60 s.
        fc.integer({ min: 1024, max: 256 * 1024 }),
        fc.integer({ min: 1, max: 3 * MAX_BODY_BYTES }),
        async (chunkSize, total) => {
          const prefix = new TextEncoder().encode('{"url":"https://stream.example/","events":["PING"],"description":"');
          const suffix = new TextEncoder().encode('"}');
          const padding = Math.max(0, total - prefix.length - suffix.length);
          let sent = 0;
          const stream = new ReadableStream<Uint8Array>({
            pull(controller) {
              if (sent === 0) controller.enqueue(prefix);
              if (sent >= padding) {
                controller.enqueue(suffix);
                controller.close();
                return;
              }
              const size = Math.min(chunkSize, padding - sent);
              controller.enqueue(new Uint8Array(size).fill(0x78));
              sent += size;
            },
          });
          const size = prefix.length + padding + suffix.length;
          const { status } = await post(null, 'streamed bodies', { rawBody: stream });
          // Under the limit the body is valid JSON, but a description over 1000 characters.
          expect(status).toBe(size > MAX_BODY_BYTES ? 413 : padding <= 1000 ? 201 : 400);
        },
      ),
      { numRuns: 40 },
    );
  }, 120_000);

  afterAll(async () => {
    // Never a row for a refused request; every accepted one stored exactly as sent.
    const rows = await withDatabase(async (db) => {
      const result = await db.execute<{
        id: string;
        url: string;
        events: string[];
        name: string | null;
        description: string | null;
        company_id: string | null;
        header_names: string[];
        headers_sealed: string | null;
      }>(sql`select id, url, array_to_json(events) as events, name, description, company_id, header_names, headers_sealed
             from webhooks where account_id = ${account.accountId}::uuid`);
      return result.rows;
    });
    expect(rows.length).toBe(accepted.size);
    const box = secretBox(env.ENCRYPTION_KEYS);
    for (const row of rows) {
      const sent = accepted.get(row.id);
      expect(sent, `row ${row.id} was never accepted`).toBeDefined();
      if (!sent) continue;
      const { webhook, headerValues } = sent;
      expect({
        url: row.url,
        events: row.events,
        name: row.name,
        description: row.description,
        companyId: row.company_id,
        headers: row.header_names.map((name) => ({ name, isMasked: true })),
      }).toEqual({
        url: webhook.url,
        events: webhook.events,
        name: webhook.name,
        description: webhook.description,
        companyId: webhook.companyId,
        headers: webhook.headers,
      });
      const opened = await openHeaders(box, {
        id: row.id,
        headerNames: row.header_names,
        headersSealed: row.headers_sealed,
        headerValuesSealed: null,
      });
      expect(opened.map((header) => header.name)).toEqual(row.header_names);
      if (headerValues) expect(opened.map((header) => header.value)).toEqual(headerValues);
    }
    const total = [...casesRun.values()].reduce((sum, count) => sum + count, 0);
    console.log(
      `[fuzz] ${total} cases run (${[...casesRun].map(([name, count]) => `${name}: ${count}`).join(', ')}); ${accepted.size} accepted, every one stored exactly as sent; no 5xx`,
    );
  }, 120_000);
});
