import { env } from 'cloudflare:workers';
import { describe, expect, it, vi } from 'vitest';
import { apiKeyTokenHash, revokeApiKey } from '../src/admin/api-keys.ts';
import { tokenCacheKey } from '../src/auth/token-cache-key.ts';
import { secretBox } from '../src/lib/secret-box.ts';
import { openPortalSession, sealPortalSession } from '../src/portal/session-token.ts';
import {
  expectError,
  expectValidationIssues,
  postWebhook,
  readSuccess,
  throughWorker,
  validBody,
  webhookRequest,
} from './support/api.ts';
import { withDatabase } from './support/database.ts';
import { createTestAccount, createTestCompany, createTestKey } from './support/fixtures.ts';

interface Session {
  url: string;
  expiresAt: string;
}

function mint(token: string, body?: unknown): Promise<Response> {
  return throughWorker(
    webhookRequest(body, { token, path: '/portal/sessions', ...(body === undefined ? { rawBody: null } : {}) }),
  );
}

/** A session's token, from the link's fragment. */
async function sessionToken(apiToken: string, body?: unknown): Promise<string> {
  const response = await mint(apiToken, body);
  expect(response.status, await response.clone().text()).toBe(201);
  const { data } = (await response.json()) as { data: Session };
  const token = new URL(data.url).hash.replace(/^#token=/, '');
  expect(token).toMatch(/^ps_/);
  return token;
}

const get = (token: string, path: string) => throughWorker(webhookRequest(undefined, { token, method: 'GET', path }));

async function listedIds(token: string): Promise<string[]> {
  const response = await get(token, '/webhooks');
  expect(response.status).toBe(200);
  return ((await response.json()) as { data: { data: { id: string }[] } }).data.data.map((webhook) => webhook.id);
}

async function createdId(response: Response): Promise<string> {
  expect(response.status, await response.clone().text()).toBe(201);
  return (await readSuccess(response)).data.id;
}

describe('POST /portal/sessions', () => {
  it('answers 201 with a link to /portal whose fragment holds a token that works as a Bearer token', async () => {
    const account = await createTestAccount();
    const before = Date.now();
    const response = await mint(account.token);
    expect(response.status).toBe(201);
    expect(response.headers.get('Cache-Control')).toBe('no-store');
    const { data } = (await response.json()) as { data: Session };
    const url = new URL(data.url);
    expect(url.pathname).toBe('/portal');
    expect(url.search).toBe('');
    expect(url.hash).toMatch(/^#token=ps_/);
    const expiresAt = Date.parse(data.expiresAt);
    expect(expiresAt).toBeGreaterThanOrEqual(before + 900_000);
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + 900_000);

    const token = url.hash.slice('#token='.length);
    const id = await createdId(await postWebhook(validBody(), { token }));
    const listed = await get(token, '/webhooks');
    expect(listed.headers.get('Cache-Control')).toBe('no-store');
    expect(await listedIds(token)).toEqual([id]);
    // Made through the session, owned by the key: the key itself sees it as its own.
    expect(await listedIds(account.token)).toEqual([id]);
  });

  it('sets the expiry asked for, within 60–3600 s, and refuses anything else with 400', async () => {
    const account = await createTestAccount();
    const response = await mint(account.token, { expiresInSeconds: 60 });
    const { data } = (await response.json()) as { data: Session };
    expect(Date.parse(data.expiresAt) - Date.now()).toBeLessThanOrEqual(60_000);
    expect(Date.parse(data.expiresAt) - Date.now()).toBeGreaterThan(50_000);
    for (const [body, path] of [
      [{ expiresInSeconds: 59 }, 'expiresInSeconds'],
      [{ expiresInSeconds: 3601 }, 'expiresInSeconds'],
      [{ expiresInSeconds: 90.5 }, 'expiresInSeconds'],
      [{ readOnly: 'yes' }, 'readOnly'],
      [{ companyId: 'acme' }, 'companyId'],
      [{ scopes: ['write:webhooks'] }, 'scopes'],
    ] as const) {
      const issues = await expectValidationIssues(await mint(account.token, body));
      expect(issues.map((issue) => issue.path)).toEqual([path]);
    }
  });

  it('needs write:webhooks, and an API key: a session cannot open another', async () => {
    const account = await createTestAccount();
    const reader = await createTestKey({ accountId: account.accountId, scopes: ['read:webhooks'] });
    await expectError(await mint(reader.token), 403, 'INSUFFICIENT_PERMISSIONS');
    const token = await sessionToken(account.token);
    const refused = await expectError(await mint(token), 403, 'API_KEY_REQUIRED');
    expect(refused.error.message).toMatch(/use an API key/);
  });

  it('read-only: reads work, every write is 403', async () => {
    const account = await createTestAccount();
    const id = await createdId(await postWebhook(validBody(), { token: account.token }));
    const token = await sessionToken(account.token, { readOnly: true });
    expect(await listedIds(token)).toEqual([id]);
    expect((await get(token, `/webhooks/${id}`)).status).toBe(200);
    await expectError(await postWebhook(validBody(), { token }), 403, 'INSUFFICIENT_PERMISSIONS');
    for (const [method, path, body] of [
      ['PATCH', `/webhooks/${id}`, { name: 'changed' }],
      ['DELETE', `/webhooks/${id}`, undefined],
      ['POST', `/webhooks/${id}/rotate-secret`, {}],
      ['POST', `/webhooks/${id}/test`, {}],
    ] as const) {
      const response = await throughWorker(webhookRequest(body, { token, method, path }));
      await expectError(response, 403, 'INSUFFICIENT_PERMISSIONS');
    }
    expect((await get(account.token, `/webhooks/${id}`)).status).toBe(200);
  });

  it('a company-limited key’s session reaches only its companies; companyId narrows it to one', async () => {
    const account = await createTestAccount();
    const second = await createTestCompany(account.accountId);
    const third = await createTestCompany(account.accountId);
    const inFirst = await createdId(await postWebhook(validBody({ companyId: account.companyId }), account));
    const inSecond = await createdId(await postWebhook(validBody({ companyId: second }), account));
    const inThird = await createdId(await postWebhook(validBody({ companyId: third }), account));
    const limited = await createTestKey({
      accountId: account.accountId,
      scopes: ['write:webhooks', 'read:webhooks'],
      companyIds: [account.companyId, second],
    });

    const wide = await sessionToken(limited.token);
    expect((await listedIds(wide)).sort()).toEqual([inFirst, inSecond].sort());
    await expectError(await get(wide, `/webhooks/${inThird}`), 403, 'RESOURCE_ACCESS_DENIED');

    const narrow = await sessionToken(limited.token, { companyId: second.toUpperCase() });
    expect(await listedIds(narrow)).toEqual([inSecond]);
    await expectError(await get(narrow, `/webhooks/${inFirst}`), 403, 'RESOURCE_ACCESS_DENIED');
    await expectError(
      await postWebhook(validBody({ companyId: account.companyId }), { token: narrow }),
      403,
      'RESOURCE_ACCESS_DENIED',
    );

    // Never wider than the key: a company it does not reach cannot be asked for.
    const refused = await expectError(await mint(limited.token, { companyId: third }), 403, 'RESOURCE_ACCESS_DENIED');
    expect(refused.error.details).toEqual({ companyId: third });
  });

  it('an unrestricted key may narrow to any of its account’s companies, not another account’s', async () => {
    const [mine, theirs] = await Promise.all([createTestAccount(), createTestAccount()]);
    const second = await createTestCompany(mine.accountId);
    const inFirst = await createdId(await postWebhook(validBody({ companyId: mine.companyId }), mine));
    await createdId(await postWebhook(validBody({ companyId: second }), mine));
    expect(await listedIds(await sessionToken(mine.token, { companyId: mine.companyId }))).toEqual([inFirst]);
    const answers = [];
    for (const companyId of [theirs.companyId, crypto.randomUUID()]) {
      answers.push(await expectError(await mint(mine.token, { companyId }), 403, 'RESOURCE_ACCESS_DENIED'));
    }
    expect(answers[0]?.error.message).toBe(answers[1]?.error.message);
  });

  it('another account’s webhook is 404 to a session, as to its key', async () => {
    const [mine, theirs] = await Promise.all([createTestAccount(), createTestAccount()]);
    const theirWebhook = await createdId(await postWebhook(validBody(), theirs));
    const token = await sessionToken(mine.token);
    await expectError(await get(token, `/webhooks/${theirWebhook}`), 404, 'RESOURCE_NOT_FOUND');
    expect(await listedIds(token)).toEqual([]);
  });
});

describe('a portal session token', () => {
  it('is sealed: its contents cannot be read or changed', async () => {
    const account = await createTestAccount();
    const token = await sessionToken(account.token, { companyId: account.companyId });
    expect(token).not.toContain(account.companyId);
    expect(token).not.toContain(account.token.slice(3));
    const tampered = token.slice(0, -6) + (token.endsWith('AAAAAA') ? 'BBBBBB' : 'AAAAAA');
    for (const bad of [tampered, 'ps_', 'ps_v1.x.y.z', `${token}x`, `ps_${'A'.repeat(2000)}`]) {
      const body = await expectError(await get(bad, '/webhooks'), 401, 'UNAUTHORIZED');
      expect(body.error.message).toMatch(/^Portal link is not valid/);
    }
  });

  it('stops working when it expires', async () => {
    const account = await createTestAccount();
    const session = await openPortalSession(
      secretBox(env.ENCRYPTION_KEYS),
      await sessionToken(account.token, { expiresInSeconds: 60 }),
    );
    expect(session).not.toBeNull();
    // The service's own seal, a second in the past: waiting out the 60 s minimum would slow the suite.
    const expired = await sealPortalSession(secretBox(env.ENCRYPTION_KEYS), {
      ...(session as NonNullable<typeof session>),
      expiresAt: Date.now() - 1000,
    });
    const body = await expectError(await get(expired, '/webhooks'), 401, 'UNAUTHORIZED');
    expect(body.error.message).toMatch(/^Portal link has expired; open a new one/);
  });

  it('stops working once its key is revoked (and its cache entry evicted, as keys revoke does)', async () => {
    const account = await createTestAccount();
    const key = await createTestKey({ accountId: account.accountId, scopes: ['write:webhooks', 'read:webhooks'] });
    const token = await sessionToken(key.token);
    expect((await get(token, '/webhooks')).status).toBe(200);
    const tokenHash = await withDatabase((db) => apiKeyTokenHash(db, key.id));
    await withDatabase((db) => revokeApiKey(db, key.id));
    await env.TOKEN_CACHE.delete(tokenCacheKey(tokenHash as string));
    const body = await expectError(await get(token, '/webhooks'), 401, 'UNAUTHORIZED');
    expect(body.error.message).toMatch(/^Portal link no longer works: the API key that opened it was revoked/);
  });

  it('never reaches a log line', async () => {
    const lines: string[] = [];
    for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
      vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
        lines.push(args.map((arg) => (typeof arg === 'string' ? arg : JSON.stringify(arg))).join(' '));
      });
    }
    try {
      const account = await createTestAccount();
      const response = await mint(account.token);
      const { data } = (await response.json()) as { data: Session };
      const token = new URL(data.url).hash.slice('#token='.length);
      const answers = [await get(token, '/webhooks'), await get(`${token.slice(0, -2)}xx`, '/webhooks')];
      const ids = answers.map((answer) => answer.headers.get('X-Request-Id') ?? 'none');
      expect(answers.map((answer) => answer.status)).toEqual([200, 401]);
      // Each request's line is written after its response has gone.
      await vi.waitFor(() => expect(ids.every((id) => lines.some((line) => line.includes(id)))).toBe(true));
      for (const line of lines) {
        expect(line).not.toContain(token.slice(3, 40));
        expect(line).not.toContain(account.token);
      }
    } finally {
      vi.restoreAllMocks();
    }
  });
});

describe('GET /portal', () => {
  it('serves the page under a strict policy: no inline script, this origin only, not framed, no referrer', async () => {
    const response = await throughWorker(webhookRequest(undefined, { method: 'GET', path: '/portal' }));
    expect(response.status).toBe(200);
    expect(response.headers.get('Content-Type')).toMatch(/^text\/html/);
    const policy = response.headers.get('Content-Security-Policy') ?? '';
    expect(policy).toContain("script-src 'self';");
    expect(policy).not.toContain('unsafe-inline');
    expect(policy).toContain("connect-src 'self';");
    expect(policy).toContain("default-src 'none'");
    expect(policy).toMatch(/frame-ancestors 'none'$/);
    expect(response.headers.get('Referrer-Policy')).toBe('no-referrer');
    expect(response.headers.get('X-Content-Type-Options')).toBe('nosniff');
    const html = await response.text();
    expect(html).toContain('<script src="/portal/portal.js" defer></script>');
    expect(html).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/);
    for (const file of ['portal.js', 'portal.css']) {
      const asset = await throughWorker(webhookRequest(undefined, { method: 'GET', path: `/portal/${file}` }));
      expect(asset.status, file).toBe(200);
      expect((await asset.text()).length, file).toBeGreaterThan(100);
    }
  });

  it('takes frame-ancestors from PORTAL_FRAME_ANCESTORS, and anything that is not a source list as none', async () => {
    const framed = (setting: string) =>
      throughWorker(webhookRequest(undefined, { method: 'GET', path: '/portal' }), {
        PORTAL_FRAME_ANCESTORS: setting,
      }).then((response) => response.headers.get('Content-Security-Policy') ?? '');
    expect(await framed("'self' https://app.instaview.example")).toMatch(
      /frame-ancestors 'self' https:\/\/app\.instaview\.example$/,
    );
    expect(await framed("https://a.example; script-src 'unsafe-inline'")).toMatch(/frame-ancestors 'none'$/);
    expect(await framed('*')).toMatch(/frame-ancestors 'none'$/);
  });
});
