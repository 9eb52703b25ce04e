// npm run smoke: checks a running service (a deployment, or npm run dev) from the outside, as a client
// would, step by step; stops with a non-zero exit at the first answer that is not what the API promises.
//
//   SMOKE_API_KEY=iv_… npm run smoke -- --url https://webhooks.example.com
//   SMOKE_API_KEY=iv_… npm run smoke -- --url https://… --read-only            # health, OpenAPI, list
//   SMOKE_API_KEY=iv_… npm run smoke -- --url https://… --receiver https://…   # also POST /webhooks/{id}/test
//
// The key comes from SMOKE_API_KEY only, never an argument (arguments end up in shell history and `ps`).
// The write pass needs write:webhooks and read:webhooks; it creates one webhook and deletes it again,
// even when a step in between fails.
import { parseArgs } from 'node:util';

const { values: options } = parseArgs({
  options: {
    url: { type: 'string' },
    receiver: { type: 'string' },
    'read-only': { type: 'boolean', default: false },
  },
});

class Mismatch extends Error {}

function fail(message: string): never {
  throw new Mismatch(message);
}

const LOOPBACK = /^(127(?:\.\d{1,3}){3}|localhost|\[::1\])$/;

function baseUrl(): URL {
  if (!options.url || !URL.canParse(options.url)) fail('--url https://… (the service to check) is required');
  const url = new URL(options.url);
  // The key must not cross a network in clear; plain http is for this machine only.
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK.test(url.hostname))) {
    fail(`--url must be https (plain http only to this machine): ${url.origin}`);
  }
  return url;
}

/** A setting read before any step: a missing or unsafe one is a one-line refusal. */
function setting<T>(read: () => T): T {
  try {
    return read();
  } catch (error) {
    console.error(`smoke: ${(error as Error).message}`);
    process.exit(2);
  }
}

const api = setting(baseUrl);
const key = setting(
  () => process.env.SMOKE_API_KEY || fail('set SMOKE_API_KEY to an API key (write:webhooks, read:webhooks)'),
);

interface Answer {
  status: number;
  headers: Headers;
  body: Record<string, unknown> | undefined;
}

async function call(method: string, path: string, init: { body?: unknown; headers?: Record<string, string> } = {}) {
  const response = await fetch(new URL(path, api), {
    method,
    headers: {
      Authorization: `Bearer ${key}`,
      ...(init.body === undefined ? {} : { 'Content-Type': 'application/json' }),
      ...init.headers,
    },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  let body: Record<string, unknown> | undefined;
  try {
    body = text ? (JSON.parse(text) as Record<string, unknown>) : undefined;
  } catch {
    body = undefined;
  }
  return { status: response.status, headers: response.headers, body } satisfies Answer;
}

/** One step: the call, the status it must answer, then whatever else must hold. */
async function step(
  name: string,
  run: () => Promise<Answer>,
  status: number,
  check: (answer: Answer) => string | undefined = () => undefined,
): Promise<Answer> {
  const started = performance.now();
  const answer = await run();
  const ms = Math.round(performance.now() - started);
  if (answer.status !== status) {
    const error = (answer.body?.error ?? {}) as { code?: string; message?: string };
    fail(`${name}: answered ${answer.status}, not ${status}${error.code ? ` (${error.code}: ${error.message})` : ''}`);
  }
  const problem = check(answer);
  if (problem) fail(`${name}: ${problem}`);
  console.log(`ok   ${name} -> ${answer.status} (${ms} ms)`);
  return answer;
}

const data = (answer: Answer) => (answer.body?.data ?? {}) as Record<string, unknown>;

async function readOnlyPass(): Promise<void> {
  await step('GET /health', () => call('GET', '/health'), 200);
  await step(
    'GET /openapi.json',
    () => call('GET', '/openapi.json'),
    200,
    ({ body }) =>
      typeof body?.openapi === 'string' && typeof (body.paths as Record<string, unknown>)?.['/webhooks'] === 'object'
        ? undefined
        : 'not an OpenAPI document with /webhooks',
  );
  await step(
    'GET /webhooks?limit=1',
    () => call('GET', '/webhooks?limit=1'),
    200,
    (answer) => (Array.isArray(data(answer).data) ? undefined : 'no data.data list'),
  );
}

async function writePass(): Promise<void> {
  const url = options.receiver ?? 'https://example.com/instaview-smoke';
  const created = await step(
    'POST /webhooks',
    () => call('POST', '/webhooks', { body: { url, events: ['PING'], name: 'npm run smoke' } }),
    201,
    (answer) => (typeof data(answer).signingSecret === 'string' ? undefined : 'no signingSecret in the answer'),
  );
  const id = String(data(created).id);
  try {
    const got = await step(
      'GET /webhooks/{id}',
      () => call('GET', `/webhooks/${id}`),
      200,
      (answer) =>
        data(answer).id === id && !('signingSecret' in data(answer)) && answer.headers.get('etag')
          ? undefined
          : 'not the webhook, no ETag, or the secret shown again',
    );
    await step(
      'GET /webhooks (the new one listed)',
      () => call('GET', '/webhooks?limit=100'),
      200,
      (answer) =>
        (data(answer).data as { id: string }[]).some((webhook) => webhook.id === id) ? undefined : 'not listed',
    );
    const etag = got.headers.get('etag') ?? '';
    await step(
      'PATCH /webhooks/{id} with If-Match',
      () => call('PATCH', `/webhooks/${id}`, { body: { description: 'checked' }, headers: { 'If-Match': etag } }),
      200,
      (answer) =>
        data(answer).description === 'checked' && answer.headers.get('etag') !== etag ? undefined : 'not updated',
    );
    await step(
      'PATCH /webhooks/{id} with a stale If-Match',
      () => call('PATCH', `/webhooks/${id}`, { body: { name: 'x' }, headers: { 'If-Match': etag } }),
      412,
    );
    await step(
      'POST /webhooks/{id}/rotate-secret',
      () => call('POST', `/webhooks/${id}/rotate-secret`, { body: {} }),
      200,
      (answer) => (typeof data(answer).signingSecret === 'string' ? undefined : 'no new signingSecret'),
    );
    if (options.receiver) {
      await step(
        'POST /webhooks/{id}/test',
        () => call('POST', `/webhooks/${id}/test`),
        200,
        (answer) =>
          data(answer).success === true ? undefined : `the receiver did not take it: ${String(data(answer).message)}`,
      );
    } else {
      console.log('skip POST /webhooks/{id}/test (no --receiver given)');
    }
  } finally {
    await step('DELETE /webhooks/{id}', () => call('DELETE', `/webhooks/${id}`), 204);
  }
  await step('GET /webhooks/{id} after DELETE', () => call('GET', `/webhooks/${id}`), 404);
}

try {
  console.log(`smoke: ${api.origin}${options['read-only'] ? ' (read-only)' : ''}`);
  await readOnlyPass();
  if (!options['read-only']) await writePass();
  console.log('smoke: every step answered as documented');
} catch (error) {
  console.error(
    `FAIL ${error instanceof Mismatch ? error.message : `${(error as Error).message} (could not reach ${api.origin}?)`}`,
  );
  process.exit(1);
}
