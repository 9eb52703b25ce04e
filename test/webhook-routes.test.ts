// The webhook resource's lifecycle through the Worker entry: list, get, update, delete, reset the circuit,
// rotate the secret. Every response these tests receive is also checked against GET /openapi.json.
import { env } from 'cloudflare:workers';
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { secretBox } from '../src/lib/secret-box.ts';
import type { Webhook } from '../src/webhooks/representation.ts';
import { openHeaders, signingSecretContext } from '../src/webhooks/secrets.ts';
import { API_ORIGIN, expectError, readSuccess, throughWorker, validBody, webhookRequest } from './support/api.ts';
import { storedWebhook, webhookCounts, withDatabase } from './support/database.ts';
import { createTestAccount, createTestCompany, createTestKey } from './support/fixtures.ts';
import { call, create, data } from './support/routes.ts';
import { statementsOf } from './support/statements.ts';

/** The 404 every missing, foreign, deleted or malformed id gets. */
async function expectNotFound(response: Response, id: string) {
  const body = await expectError(response, 404, 'RESOURCE_NOT_FOUND');
  expect(body.error).toEqual({
    code: 'RESOURCE_NOT_FOUND',
    message: 'Webhook configuration not found',
    details: { resourceType: 'WebhookConfig', resourceId: id },
  });
}

async function expectDenied(response: Response) {
  const body = await expectError(response, 403, 'RESOURCE_ACCESS_DENIED');
  expect(body.error.message).toBe('Access denied to this webhook configuration');
}

/** An account with a company-limited key beside its full one, and webhooks of every kind. */
async function restrictedSetup() {
  const account = await createTestAccount();
  const otherCompany = await createTestCompany(account.accountId);
  const limited = await createTestKey({
    accountId: account.accountId,
    scopes: ['write:webhooks', 'read:webhooks'],
    companyIds: [account.companyId],
  });
  const ownCompany = await create(account, { companyId: account.companyId });
  const foreignCompany = await create(account, { companyId: otherCompany });
  const accountWideByFullKey = await create(account);
  const accountWideByLimitedKey = await create(limited);
  return { account, limited, ownCompany, foreignCompany, accountWideByFullKey, accountWideByLimitedKey, otherCompany };
}

const NO_SUCH_DELIVERY = '00000000-0000-4000-8000-000000000000';

/** Every route about one webhook, and what a key that reaches it gets (these webhooks are not subscribed to PING). */
const ROUTES: [method: string, suffix: string, body: unknown, reached: number][] = [
  ['GET', '', undefined, 200],
  ['PATCH', '', { name: 'changed' }, 200],
  ['DELETE', '', undefined, 204],
  ['POST', '/reset-circuit', undefined, 200],
  ['POST', '/rotate-secret', undefined, 200],
  ['POST', '/test', undefined, 422],
  ['GET', '/deliveries', undefined, 200],
  ['GET', `/deliveries/${NO_SUCH_DELIVERY}`, undefined, 404],
  ['POST', `/deliveries/${NO_SUCH_DELIVERY}/redeliver`, undefined, 404],
  ['POST', '/recover', { since: '2026-01-01T00:00:00Z' }, 202],
];

describe('who sees what, on every route', () => {
  it.each(ROUTES)('%s /webhooks/{id}%s: 401 without a key, 403 without the scope', async (method, suffix, body) => {
    const account = await createTestAccount();
    const webhook = await create(account);
    const path = `/webhooks/${webhook.id}${suffix}`;
    await expectError(await call(method, path, { body }), 401, 'UNAUTHORIZED');
    const wrongScope = await createTestKey({
      accountId: account.accountId,
      scopes: [method === 'GET' ? 'write:webhooks' : 'read:webhooks'],
    });
    const refused = await expectError(
      await call(method, path, { token: wrongScope.token, body }),
      403,
      'INSUFFICIENT_PERMISSIONS',
    );
    expect(refused.error.details).toEqual({ requiredScope: method === 'GET' ? 'read:webhooks' : 'write:webhooks' });
    expect((await storedWebhook(webhook.id))?.revision).toBe(1);
  });

  it.each(ROUTES)(
    '%s /webhooks/{id}%s: another account’s, a deleted, a missing and a malformed id are the same 404',
    async (method, suffix, body) => {
      const [account, stranger] = await Promise.all([createTestAccount(), createTestAccount()]);
      const theirs = await create(stranger);
      const deleted = await create(account);
      expect((await call('DELETE', `/webhooks/${deleted.id}`, { token: account.token })).status).toBe(204);
      for (const id of [theirs.id, deleted.id, crypto.randomUUID(), 'not-a-uuid', '12345']) {
        await expectNotFound(await call(method, `/webhooks/${id}${suffix}`, { token: account.token, body }), id);
      }
      // The stranger's webhook is untouched.
      expect((await storedWebhook(theirs.id))?.revision).toBe(1);
    },
  );

  it.each(ROUTES)(
    '%s /webhooks/{id}%s: a company-limited key reaches its companies’ webhooks and its own account-wide ones, 403 for the rest',
    async (method, suffix, body, reached) => {
      const setup = await restrictedSetup();
      for (const webhook of [setup.foreignCompany, setup.accountWideByFullKey]) {
        await expectDenied(
          await call(method, `/webhooks/${webhook.id}${suffix}`, { token: setup.limited.token, body }),
        );
        expect((await storedWebhook(webhook.id))?.revision).toBe(1);
      }
      for (const webhook of [setup.ownCompany, setup.accountWideByLimitedKey]) {
        const response = await call(method, `/webhooks/${webhook.id}${suffix}`, { token: setup.limited.token, body });
        expect(response.status, await response.clone().text()).toBe(reached);
      }
    },
  );

  it('lists only what a limited key reaches, and refuses a company it cannot reach', async () => {
    const setup = await restrictedSetup();
    const listed = await data<{ data: Webhook[]; total: number }>(
      await call('GET', '/webhooks', { token: setup.limited.token }),
    );
    expect(listed.data.map((webhook) => webhook.id).sort()).toEqual(
      [setup.ownCompany.id, setup.accountWideByLimitedKey.id].sort(),
    );
    expect(listed.total).toBe(2);
    await expectError(
      await call('GET', `/webhooks?companyId=${setup.otherCompany}`, { token: setup.limited.token }),
      403,
      'RESOURCE_ACCESS_DENIED',
    );
    const full = await data<{ data: Webhook[]; total: number }>(
      await call('GET', '/webhooks', { token: setup.account.token }),
    );
    expect(full.total).toBe(4);
  });
});

describe('GET /webhooks/{id}', () => {
  it('returns the webhook as create did, without the secret, with an ETag; one statement', async () => {
    const account = await createTestAccount();
    const created = await readSuccess(
      await call('POST', '/webhooks', {
        token: account.token,
        body: validBody({ name: 'ATS', headers: [{ name: 'X-Token', value: 'secret-value' }] }),
      }),
    );
    const { signingSecret: _secret, ...expected } = created.data;
    const response = await call('GET', `/webhooks/${created.data.id}`, { token: account.token });
    expect(response.headers.get('ETag')).toBe('"1"');
    const text = await response.clone().text();
    expect(text).not.toContain('secret-value');
    expect(text).not.toContain('signingSecret');
    expect(await data(response)).toEqual(expected);
    expect(await statementsOf(response)).toHaveLength(1);
  });
});

describe('GET /webhooks', () => {
  it('lists newest first in InstaView’s shape plus nextCursor; one statement', async () => {
    const account = await createTestAccount();
    const first = await create(account, { name: 'first' });
    const second = await create(account, { name: 'second' });
    const response = await call('GET', '/webhooks', { token: account.token });
    const page = await data<{ data: Webhook[]; total: number; nextCursor: string | null }>(response.clone());
    expect(page).toEqual({ data: [second, first].map(({ ...webhook }) => webhook), total: 2, nextCursor: null });
    expect(await statementsOf(response)).toHaveLength(1);
  });

  it('shows 100 at a time when no limit is given', async () => {
    const account = await createTestAccount({ maxWebhooks: 101 });
    // Two keys: 101 creates are more than one key may make in a minute.
    const other = await createTestKey({ accountId: account.accountId, scopes: ['write:webhooks'] });
    for (let count = 0; count < 101; count++) await create(count % 2 === 0 ? account : other);
    const page = await data<{ data: Webhook[]; total: number; nextCursor: string | null }>(
      await call('GET', '/webhooks', { token: account.token }),
    );
    expect(page.data).toHaveLength(100);
    expect(page.total).toBe(101);
    expect(page.nextCursor).not.toBeNull();
  });

  it('401 without a key, 403 without read:webhooks', async () => {
    const account = await createTestAccount();
    await expectError(await call('GET', '/webhooks'), 401, 'UNAUTHORIZED');
    const writer = await createTestKey({ accountId: account.accountId, scopes: ['write:webhooks'] });
    const refused = await expectError(
      await call('GET', '/webhooks', { token: writer.token }),
      403,
      'INSUFFICIENT_PERMISSIONS',
    );
    expect(refused.error.details).toEqual({ requiredScope: 'read:webhooks' });
  });

  it('filters by companyId (account-wide ones excluded), isActive and event', async () => {
    const account = await createTestAccount();
    const company = await create(account, { companyId: account.companyId, events: ['PING'] });
    const wide = await create(account, { events: ['INTERVIEW_COMPLETED'] });
    const inactive = await create(account, { events: ['PING', 'ANALYSIS_FAILED'] });
    await data(await call('PATCH', `/webhooks/${inactive.id}`, { token: account.token, body: { isActive: false } }));
    const ids = async (query: string) =>
      (await data<{ data: Webhook[] }>(await call('GET', `/webhooks?${query}`, { token: account.token }))).data.map(
        (webhook) => webhook.id,
      );
    expect(await ids(`companyId=${account.companyId.toUpperCase()}`)).toEqual([company.id]);
    expect(await ids('isActive=false')).toEqual([inactive.id]);
    expect((await ids('isActive=true')).sort()).toEqual([company.id, wide.id].sort());
    expect((await ids('event=PING')).sort()).toEqual([company.id, inactive.id].sort());
    expect(await ids('event=PING&isActive=true')).toEqual([company.id]);
    expect(await ids(`companyId=${crypto.randomUUID()}`)).toEqual([]);
  });

  it('pages with limit and an opaque cursor, total counting every match, until nextCursor is null', async () => {
    const account = await createTestAccount();
    const created: Webhook[] = [];
    for (let i = 0; i < 7; i++) created.push(await create(account, { name: `w${i}` }));
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = `limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const page: { data: Webhook[]; total: number; nextCursor: string | null } = await data(
        await call('GET', `/webhooks?${query}`, { token: account.token }),
      );
      expect(page.total).toBe(7);
      expect(page.data.length).toBeLessThanOrEqual(3);
      seen.push(...page.data.map((webhook) => webhook.id));
      cursor = page.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual(created.map((webhook) => webhook.id).reverse());
  });

  it.each([
    ['limit=0', 'query.limit'],
    ['limit=101', 'query.limit'],
    ['limit=abc', 'query.limit'],
    ['limit=1&limit=2', 'query.limit'],
    ['isActive=yes', 'query.isActive'],
    ['event=NOPE', 'query.event'],
    ['companyId=not-a-uuid', 'query.companyId'],
    ['sort=name', 'query.sort'],
    ['cursor=forged', 'query.cursor'],
    [`cursor=${'x'.repeat(2000)}`, 'query.cursor'],
  ])('refuses %s with 400 at %s', async (query, path) => {
    const account = await createTestAccount();
    const body = await expectError(
      await call('GET', `/webhooks?${query}`, { token: account.token }),
      400,
      'VALIDATION_ERROR',
    );
    expect((body.error.details as { issues: { path: string }[] }).issues.map((issue) => issue.path)).toEqual([path]);
  });

  it('refuses a cursor issued to another key, or for other filters', async () => {
    const account = await createTestAccount();
    for (let i = 0; i < 3; i++) await create(account);
    const { nextCursor } = await data<{ nextCursor: string }>(
      await call('GET', '/webhooks?limit=1', { token: account.token }),
    );
    expect(nextCursor).toEqual(expect.any(String));
    const other = await createTestKey({ accountId: account.accountId, scopes: ['read:webhooks'] });
    const stranger = await createTestAccount();
    for (const [token, query] of [
      [other.token, ''],
      [stranger.token, ''],
      [account.token, '&isActive=true'],
    ] as const) {
      await expectError(
        await call('GET', `/webhooks?limit=1&cursor=${encodeURIComponent(nextCursor)}${query}`, { token }),
        400,
        'VALIDATION_ERROR',
      );
    }
  });
});

describe('PATCH /webhooks/{id}', () => {
  it('changes only what is sent, advances updatedAt and the ETag; one statement', async () => {
    const account = await createTestAccount();
    const webhook = await create(account, { name: 'before', description: 'kept', events: ['PING'] });
    await new Promise((resolve) => setTimeout(resolve, 5));
    const response = await call('PATCH', `/webhooks/${webhook.id}`, {
      token: account.token,
      body: {
        name: 'after',
        url: 'HTTPS://Hooks.Example.com/new',
        events: ['ANALYSIS_FAILED', 'ANALYSIS_FAILED', 'PING'],
      },
    });
    expect(response.headers.get('ETag')).toBe('"2"');
    expect(await statementsOf(response)).toHaveLength(1);
    const updated = await data(response);
    expect(updated).toEqual({
      ...webhook,
      name: 'after',
      url: 'https://hooks.example.com/new',
      events: ['ANALYSIS_FAILED', 'PING'],
      updatedAt: expect.any(String),
    });
    expect(Date.parse(updated.updatedAt)).toBeGreaterThan(Date.parse(webhook.updatedAt));
    expect(await data(await call('GET', `/webhooks/${webhook.id}`, { token: account.token }))).toEqual(updated);
  });

  it('takes JSON only, and no more of it than create: 415 and 413, nothing changed', async () => {
    const account = await createTestAccount();
    const webhook = await create(account);
    const path = `/webhooks/${webhook.id}`;
    await expectError(
      await call('PATCH', path, {
        token: account.token,
        body: { name: 'x' },
        headers: { 'Content-Type': 'text/plain' },
      }),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    );
    await expectError(
      await call('PATCH', path, { token: account.token, body: { description: 'x'.repeat(600 * 1024) } }),
      413,
      'PAYLOAD_TOO_LARGE',
    );
    expect((await storedWebhook(webhook.id))?.revision).toBe(1);
  });

  it('clears name and description with null; isActive toggles', async () => {
    const account = await createTestAccount();
    const webhook = await create(account, { name: 'n', description: 'd' });
    const updated = await data(
      await call('PATCH', `/webhooks/${webhook.id}`, {
        token: account.token,
        body: { name: null, description: null, isActive: false },
      }),
    );
    expect(updated).toMatchObject({ name: null, description: null, isActive: false });
  });

  it('replaces the whole header list, sealed afresh as name/value pairs; [] clears it', async () => {
    const account = await createTestAccount();
    const webhook = await create(account, { headers: [{ name: 'X-Old', value: 'old-value' }] });
    const replaced = await data(
      await call('PATCH', `/webhooks/${webhook.id}`, {
        token: account.token,
        body: {
          headers: [
            { name: 'X-New', value: 'new-value' },
            { name: 'X-Two', value: 'two' },
          ],
        },
      }),
    );
    expect(replaced.headers).toEqual([
      { name: 'X-New', isMasked: true },
      { name: 'X-Two', isMasked: true },
    ]);
    const row = await storedWebhook(webhook.id);
    if (!row) throw new Error('row missing');
    expect(row.dump).not.toContain('new-value');
    expect(
      await openHeaders(secretBox(env.ENCRYPTION_KEYS), {
        id: row.id,
        headerNames: row.header_names,
        headersSealed: row.headers_sealed,
        headerValuesSealed: row.header_values_sealed,
      }),
    ).toEqual([
      { name: 'X-New', value: 'new-value' },
      { name: 'X-Two', value: 'two' },
    ]);
    const cleared = await data(
      await call('PATCH', `/webhooks/${webhook.id}`, { token: account.token, body: { headers: [] } }),
    );
    expect(cleared.headers).toEqual([]);
    expect((await storedWebhook(webhook.id))?.headers_sealed).toBeNull();
  });

  it.each([
    [{ companyId: crypto.randomUUID() }, ['companyId'], /Cannot be changed/],
    [{ companyId: null }, ['companyId'], /Cannot be changed/],
    [{}, [''], /at least one/],
    [{ secret: 1 }, ['secret'], /Unknown field/],
    [{ url: 'http://10.0.0.1/', events: [], name: '' }, ['url', 'events', 'name'], /./],
    [{ headers: [{ name: 'Host', value: 'x' }] }, ['headers.0.name'], /set by InstaView/],
    [{ isActive: 'yes' }, ['isActive'], /true or false/],
  ])('refuses %j under the create rules, naming every field, changing nothing', async (body, paths, message) => {
    const account = await createTestAccount();
    const webhook = await create(account);
    const refused = await expectError(
      await call('PATCH', `/webhooks/${webhook.id}`, { token: account.token, body }),
      400,
      'VALIDATION_ERROR',
    );
    const issues = (refused.error.details as { issues: { path: string; message: string }[] }).issues;
    expect(issues.map((issue) => issue.path).sort()).toEqual([...paths].sort());
    expect(issues[0]?.message).toMatch(message);
    expect((await storedWebhook(webhook.id))?.revision).toBe(1);
  });

  it('honours If-Match: the current ETag (strong or weak) or * applies, a stale one is 412 with nothing changed', async () => {
    const account = await createTestAccount();
    const webhook = await create(account);
    const patch = (ifMatch: string, name: string) =>
      call('PATCH', `/webhooks/${webhook.id}`, {
        token: account.token,
        body: { name },
        headers: { 'If-Match': ifMatch },
      });
    expect((await patch('"1"', 'one')).headers.get('ETag')).toBe('"2"');
    const stale = await expectError(await patch('"1"', 'stale'), 412, 'PRECONDITION_FAILED');
    expect(stale.error.details).toEqual({ currentETag: '"2"' });
    await expectError(await patch('W/"1"', 'weak and stale'), 412, 'PRECONDITION_FAILED');
    // A well-formed tag this API never issued matches nothing: 412.
    await expectError(await patch('"abc"', 'never issued'), 412, 'PRECONDITION_FAILED');
    // Cloudflare's edge may hand the client a weak tag for a compressed response: it still names revision 2.
    expect((await data(await patch('W/"2"', 'weak'))).name).toBe('weak');
    expect((await data(await patch('"7", "3"', 'listed'))).name).toBe('listed');
    expect((await data(await patch('*', 'any'))).name).toBe('any');
    expect((await storedWebhook(webhook.id))?.name).toBe('any');
  });

  it.each([
    ['3', 'Must be an ETag with its double quotes, as the ETag header gives it: "3", not 3'],
    ['garbage', /^Must be ETags with their double quotes/],
    ['"3', /^Must be ETags/],
    ['"3", 4', /^Must be ETags/],
    ['"3", *', /^Must be ETags/],
    [',', /^Must be ETags/],
  ])(
    'refuses a malformed If-Match %j with 400 (not 412: the webhook did not change), changing nothing',
    async (ifMatch, message) => {
      const account = await createTestAccount();
      const webhook = await create(account);
      for (const [method, body] of [
        ['PATCH', { name: 'changed' }],
        ['DELETE', undefined],
      ] as const) {
        const refused = await expectError(
          await call(method, `/webhooks/${webhook.id}`, {
            token: account.token,
            body,
            headers: { 'If-Match': ifMatch },
          }),
          400,
          'VALIDATION_ERROR',
        );
        expect(refused.error.details).toEqual({ issues: [{ path: 'If-Match', message: expect.anything() }] });
        expect((refused.error.details as { issues: { message: string }[] }).issues[0]?.message).toMatch(message);
      }
      expect((await storedWebhook(webhook.id))?.revision).toBe(1);
    },
  );
});

describe('DELETE /webhooks/{id}', () => {
  it('204 with no body, frees the slot in the same statement; a second DELETE is 404', async () => {
    const account = await createTestAccount({ maxWebhooks: 1 });
    const webhook = await create(account);
    await expectError(
      await call('POST', '/webhooks', { token: account.token, body: validBody() }),
      422,
      'WEBHOOK_LIMIT_REACHED',
    );
    const response = await call('DELETE', `/webhooks/${webhook.id}`, { token: account.token });
    expect(response.status).toBe(204);
    expect(await response.text()).toBe('');
    expect(await statementsOf(response)).toHaveLength(1);
    expect(await webhookCounts(account.accountId)).toEqual({ rows: 0, counter: 0 });
    await expectNotFound(await call('DELETE', `/webhooks/${webhook.id}`, { token: account.token }), webhook.id);
    expect((await call('POST', '/webhooks', { token: account.token, body: validBody() })).status).toBe(201);
  });

  it('honours If-Match', async () => {
    const account = await createTestAccount();
    const webhook = await create(account);
    await expectError(
      await call('DELETE', `/webhooks/${webhook.id}`, { token: account.token, headers: { 'If-Match': '"9"' } }),
      412,
      'PRECONDITION_FAILED',
    );
    expect(await webhookCounts(account.accountId)).toEqual({ rows: 1, counter: 1 });
    expect(
      (await call('DELETE', `/webhooks/${webhook.id}`, { token: account.token, headers: { 'If-Match': '"1"' } }))
        .status,
    ).toBe(204);
  });

  it('keeps the count and the rows equal under any interleaving of creates and deletes', async () => {
    const account = await createTestAccount({ maxWebhooks: 10 });
    const initial = await Promise.all(Array.from({ length: 8 }, () => create(account)));
    const responses = await Promise.all([
      ...initial.map((webhook) => call('DELETE', `/webhooks/${webhook.id}`, { token: account.token })),
      ...initial.slice(0, 4).map((webhook) => call('DELETE', `/webhooks/${webhook.id}`, { token: account.token })),
      ...Array.from({ length: 8 }, () => call('POST', '/webhooks', { token: account.token, body: validBody() })),
    ]);
    const statuses = responses.map((response) => response.status);
    expect(statuses.filter((status) => status === 204)).toHaveLength(8);
    // Of two deletes of one webhook, one wins; the other is a 404, never a 412 about an If-Match nobody sent.
    for (let i = 0; i < 4; i++) expect([statuses[i], statuses[8 + i]].sort()).toEqual([204, 404]);
    expect(statuses.slice(4, 8)).toEqual([204, 204, 204, 204]);
    const counts = await webhookCounts(account.accountId);
    expect(counts.rows).toBe(counts.counter);
    expect(counts.rows).toBe(statuses.filter((status) => status === 201).length);
  });
});

describe('POST /webhooks/{id}/reset-circuit', () => {
  it('closes the circuit at once; one statement', async () => {
    const account = await createTestAccount();
    const webhook = await create(account);
    await withDatabase((db) =>
      db.execute(
        sql`update webhooks set consecutive_failures = 12, circuit_opened_at = now() where id = ${webhook.id}::uuid`,
      ),
    );
    expect(await data(await call('GET', `/webhooks/${webhook.id}`, { token: account.token }))).toMatchObject({
      consecutiveFailures: 12,
      circuitOpenedAt: expect.any(String),
    });
    const response = await call('POST', `/webhooks/${webhook.id}/reset-circuit`, { token: account.token });
    expect(await statementsOf(response)).toHaveLength(1);
    expect(await data(response)).toEqual({ ...webhook, consecutiveFailures: 0, circuitOpenedAt: null });
  });
});

describe('POST /webhooks/{id}/rotate-secret', () => {
  const rotate = (token: string, id: string, body?: unknown, headers?: Record<string, string>) =>
    call('POST', `/webhooks/${id}/rotate-secret`, { token, body, ...(headers ? { headers } : {}) });
  const secretOf = async (id: string, column: 'signing_secret_sealed' | 'previous_signing_secret_sealed') => {
    const result = await withDatabase((db) =>
      db.execute<{ sealed: string | null; expires: string | null }>(
        sql`select ${sql.raw(column)} as sealed, previous_secret_expires_at::text as expires from webhooks where id = ${id}::uuid`,
      ),
    );
    const sealed = result.rows[0]?.sealed;
    return sealed ? secretBox(env.ENCRYPTION_KEYS).open(sealed, signingSecretContext(id)) : null;
  };

  it('returns a new secret once, keeps the previous one for the grace period (default a day); one statement', async () => {
    const account = await createTestAccount();
    const created = await readSuccess(await call('POST', '/webhooks', { token: account.token, body: validBody() }));
    const before = Date.now();
    const response = await rotate(account.token, created.data.id);
    expect(await statementsOf(response)).toHaveLength(1);
    const rotated = await data<{ signingSecret: string; previousSecretExpiresAt: string }>(response);
    expect(rotated.signingSecret).toMatch(/^[0-9a-f]{64}$/);
    expect(rotated.signingSecret).not.toBe(created.data.signingSecret);
    const expires = Date.parse(rotated.previousSecretExpiresAt);
    expect(expires).toBeGreaterThanOrEqual(before + 86_400_000 - 1000);
    expect(expires).toBeLessThanOrEqual(Date.now() + 86_400_000 + 1000);
    expect(await secretOf(created.data.id, 'signing_secret_sealed')).toBe(rotated.signingSecret);
    expect(await secretOf(created.data.id, 'previous_signing_secret_sealed')).toBe(created.data.signingSecret);
    expect((await storedWebhook(created.data.id))?.dump).not.toContain(rotated.signingSecret);
  });

  it('with gracePeriodSeconds 0 ends the previous secret at once; rotating again ends the older one', async () => {
    const account = await createTestAccount();
    const created = await readSuccess(await call('POST', '/webhooks', { token: account.token, body: validBody() }));
    const first = await data<{ signingSecret: string; previousSecretExpiresAt: string | null }>(
      await rotate(account.token, created.data.id, { gracePeriodSeconds: 3600 }),
    );
    const second = await data<{ signingSecret: string; previousSecretExpiresAt: string | null }>(
      await rotate(account.token, created.data.id, { gracePeriodSeconds: 600 }),
    );
    expect(await secretOf(created.data.id, 'previous_signing_secret_sealed')).toBe(first.signingSecret);
    const third = await data<{ signingSecret: string; previousSecretExpiresAt: string | null }>(
      await rotate(account.token, created.data.id, { gracePeriodSeconds: 0 }),
    );
    expect(third.previousSecretExpiresAt).toBeNull();
    expect(await secretOf(created.data.id, 'previous_signing_secret_sealed')).toBeNull();
    expect(
      new Set([created.data.signingSecret, first.signingSecret, second.signingSecret, third.signingSecret]).size,
    ).toBe(4);
  });

  it.each([-1, 604_801, 1.5, '60', null])('refuses gracePeriodSeconds %j', async (gracePeriodSeconds) => {
    const account = await createTestAccount();
    const webhook = await create(account);
    await expectError(await rotate(account.token, webhook.id, { gracePeriodSeconds }), 400, 'VALIDATION_ERROR');
    expect((await storedWebhook(webhook.id))?.revision).toBe(1);
  });

  it('with an Idempotency-Key, a retried rotation returns the same new secret and mints no second one', async () => {
    const account = await createTestAccount();
    const webhook = await create(account);
    const headers = { 'Idempotency-Key': crypto.randomUUID() };
    const first = await rotate(account.token, webhook.id, { gracePeriodSeconds: 60 }, headers);
    const firstText = await first.text();
    const again = await rotate(account.token, webhook.id, { gracePeriodSeconds: 60 }, headers);
    expect(again.headers.get('Idempotent-Replayed')).toBe('true');
    expect(await again.text()).toBe(firstText);
    expect((await storedWebhook(webhook.id))?.revision).toBe(2);
    await expectError(
      await rotate(account.token, webhook.id, { gracePeriodSeconds: 61 }, headers),
      422,
      'IDEMPOTENCY_KEY_REUSED',
    );
  });

  it('takes no body, or JSON only; an empty body sent as application/json is no body', async () => {
    const account = await createTestAccount();
    const webhook = await create(account);
    expect((await rotate(account.token, webhook.id)).status).toBe(200);
    for (const rawBody of ['', new ReadableStream({ start: (controller) => controller.close() })]) {
      const response = await throughWorker(
        webhookRequest(undefined, {
          token: account.token,
          path: `/webhooks/${webhook.id}/rotate-secret`,
          rawBody,
        }),
      );
      const rotated = await data<{ previousSecretExpiresAt: string }>(response);
      // The default grace period: a day.
      expect(Date.parse(rotated.previousSecretExpiresAt) - Date.now()).toBeGreaterThan(86_000_000);
    }
    expect((await storedWebhook(webhook.id))?.revision).toBe(4);
    await expectError(
      await call('POST', `/webhooks/${webhook.id}/rotate-secret`, {
        token: account.token,
        headers: { 'Content-Type': 'text/plain' },
      }),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    );
  });
});

describe('rate limits on reads and writes, per key', () => {
  const request = (method: string, path: string, token: string) =>
    new Request(`${API_ORIGIN}${path}`, { method, headers: { Authorization: `Bearer ${token}` } });

  it.each([
    ['reads', 'GET', '', { READ_RATE_LIMIT: '3' }],
    ['writes', 'POST', '/reset-circuit', { WRITE_RATE_LIMIT: '3' }],
  ])('%s: over the limit, 429 RATE_LIMITED with Retry-After', async (_label, method, suffix, limit) => {
    const account = await createTestAccount();
    const webhook = await create(account);
    // Without the binding, the per-isolate limiter applies the configured number: three, here.
    const overrides = {
      ...limit,
      READ_RATE_LIMITER: undefined,
      WRITE_RATE_LIMITER: undefined,
    } as unknown as Partial<Env>;
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      statuses.push(
        (await throughWorker(request(method, `/webhooks/${webhook.id}${suffix}`, account.token), overrides)).status,
      );
    }
    expect(statuses).toEqual([200, 200, 200, 429]);
    const limited = await throughWorker(request(method, `/webhooks/${webhook.id}${suffix}`, account.token), overrides);
    const body = await expectError(limited, 429, 'RATE_LIMITED');
    expect(limited.headers.get('Retry-After')).toMatch(/^\d+$/);
    expect(body.error.details).toMatchObject({ limit: 3, periodSeconds: 60 });
  });
});
