// The SQL endpoint stand-in (scripts/local/neon-http-endpoint.ts) refuses and fails where Neon's proxy
// does, with Neon's statuses and bodies, so that what the tests pass would pass against Neon. Each case
// is sent as the driver sends it (its headers and body), or through the driver itself.
import { neon } from '@neondatabase/serverless';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { setConditions, setFault } from './support/faults.ts';

afterEach(async () => {
  await setFault({ mode: 'none' });
  await setConditions({});
});

const ERROR_FIELDS = [
  'message',
  'code',
  'detail',
  'hint',
  'position',
  'internalPosition',
  'internalQuery',
  'severity',
  'where',
  'table',
  'column',
  'schema',
  'dataType',
  'constraint',
  'file',
  'line',
  'routine',
];

const endpoint = () => inject('faultySqlEndpoint');

/** One POST /sql as the driver makes it. */
function post(body: unknown, headers: Record<string, string> = {}, init: RequestInit = {}) {
  return fetch(`${endpoint().controlUrl}/sql`, {
    method: 'POST',
    headers: {
      'Neon-Connection-String': endpoint().databaseUrl,
      'Neon-Raw-Text-Output': 'true',
      'Neon-Array-Mode': 'true',
      ...headers,
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    ...init,
  });
}

async function errorBody(response: Response, status: number): Promise<Record<string, unknown>> {
  expect(response.status).toBe(status);
  const body = (await response.json()) as Record<string, unknown>;
  expect(Object.keys(body).sort()).toEqual([...ERROR_FIELDS].sort());
  return body;
}

function withUrl(change: (url: URL) => void): string {
  const url = new URL(endpoint().databaseUrl);
  change(url);
  return url.toString();
}

const rows = async (response: Response) => ((await response.json()) as { rows: unknown[][] }).rows;

describe('the connection string is authenticated', () => {
  it('a wrong password: 400, code ""', async () => {
    const response = await post(
      { query: 'select 1', params: [] },
      { 'Neon-Connection-String': withUrl((url) => (url.password = 'wrong')) },
    );
    const body = await errorBody(response, 400);
    expect(body).toMatchObject({
      code: '',
      severity: '',
      message: expect.stringMatching(/password authentication failed/),
    });
  });

  it('a database that does not exist: 400, SQLSTATE 3D000', async () => {
    const response = await post(
      { query: 'select 1', params: [] },
      { 'Neon-Connection-String': withUrl((url) => (url.pathname = '/elsewhere')) },
    );
    expect(await errorBody(response, 400)).toMatchObject({
      code: '3D000',
      message: 'database "elsewhere" does not exist',
    });
  });

  it("the driver surfaces both with the body's fields", async () => {
    const refused = await neon(withUrl((url) => (url.password = 'wrong')))`select 1`.catch((error: unknown) => error);
    expect(refused).toMatchObject({ name: 'NeonDbError', code: '' });
    const missing = await neon(withUrl((url) => (url.pathname = '/elsewhere')))`select 1`.catch(
      (error: unknown) => error,
    );
    expect(missing).toMatchObject({ name: 'NeonDbError', code: '3D000' });
  });
});

describe("Neon's refusals", () => {
  it('an unknown Neon-Batch-Isolation-Level: 400', async () => {
    const response = await post(
      { queries: [{ query: 'select 1', params: [] }] },
      { 'Neon-Batch-Isolation-Level': 'Chaos' },
    );
    expect(await errorBody(response, 400)).toMatchObject({ message: 'invalid isolation level', code: '' });
  });

  it('a request body over 10 MiB: 413, no SQLSTATE', async () => {
    const response = await post({ query: 'select length($1)', params: ['x'.repeat(10 * 1024 * 1024)] });
    expect(await errorBody(response, 413)).toMatchObject({ code: '', message: expect.stringMatching(/too large/) });
  });

  it('a response over 10 MiB: 507, no SQLSTATE', async () => {
    const response = await post({ query: `select repeat('x', 10 * 1024 * 1024)`, params: [] });
    expect(await errorBody(response, 507)).toMatchObject({ code: '', message: expect.stringMatching(/too large/) });
  });

  it('more than one statement in a query, as Postgres refuses it in the extended protocol', async () => {
    const response = await post({ query: 'select 1; select 2', params: [] });
    expect(await errorBody(response, 400)).toMatchObject({ code: '42601', severity: 'ERROR' });
  });

  it("Postgres' own errors carry all 17 fields", async () => {
    const response = await post({ query: 'select 1 / 0', params: [] });
    expect(await errorBody(response, 400)).toMatchObject({ code: '22012', severity: 'ERROR', detail: null });
  });
});

describe('a session is reset before another request has it', () => {
  it('a setting, a temp table and an advisory lock do not reach the next request', async () => {
    expect((await post({ query: `select set_config('stand_in.leak', 'yes', false)`, params: [] })).status).toBe(200);
    expect((await post({ query: 'create temp table stand_in_leak (a int)', params: [] })).status).toBe(200);
    expect((await post({ query: 'select pg_advisory_lock(1414)', params: [] })).status).toBe(200);
    for (let request = 0; request < 3; request++) {
      const response = await post({
        query: `select coalesce(current_setting('stand_in.leak', true), ''), to_regclass('pg_temp.stand_in_leak')::text,
                       (select count(*) from pg_locks where locktype = 'advisory' and objid = 1414)::int`,
        params: [],
      });
      expect(await rows(response)).toEqual([['', null, '0']]);
    }
  });
});

describe('a client that hangs up', () => {
  it('has its batch rolled back: nothing it wrote stays', async () => {
    const marker = `hung-up-${crypto.randomUUID()}`;
    // The batch's second statement is held 3 s by the endpoint; the client leaves after 300 ms.
    await setFault({ mode: 'delay', match: 'stand-in hold', ms: 3_000 });
    const leaving = AbortSignal.timeout(300);
    const sent = post(
      {
        queries: [
          { query: 'insert into accounts (name) values ($1)', params: [marker] },
          { query: `select 'stand-in hold'`, params: [] },
        ],
      },
      {},
      { signal: leaving },
    );
    await expect(sent).rejects.toThrow();
    await setFault({ mode: 'none' });
    const check = () => post({ query: 'select count(*)::int from accounts where name = $1', params: [marker] });
    expect(await rows(await check())).toEqual([['0']]);
    // And it stays so once the hold would have ended.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(await rows(await check())).toEqual([['0']]);
  }, 15_000);
});

describe('the statement bound', () => {
  it('is 5 s in every session the endpoint hands out (PGlite included)', async () => {
    for (let request = 0; request < 3; request++) {
      expect(await rows(await post({ query: 'show statement_timeout', params: [] }))).toEqual([['5s']]);
    }
  });
});

describe('a compute scaled to zero', () => {
  it('answers its first request once awake, the next ones at once', async () => {
    await setConditions({ coldStartMs: 1_500 });
    let started = Date.now();
    expect((await post({ query: 'select 1', params: [] })).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_500);
    started = Date.now();
    expect((await post({ query: 'select 1', params: [] })).status).toBe(200);
    expect(Date.now() - started).toBeLessThan(1_500);
  });
});
