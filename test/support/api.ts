import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env, exports } from 'cloudflare:workers';
import { expect } from 'vitest';
import type { ErrorEnvelope, SuccessEnvelope } from '../../src/http/envelope.ts';
import type { ErrorCode } from '../../src/http/errors.ts';
import worker from '../../src/index.ts';
import type { CreatedWebhook } from '../../src/webhooks/representation.ts';
import { expectDocumented } from './openapi.ts';

export const API_ORIGIN = 'https://api.instaview.test';

export interface RequestOptions {
  token?: string;
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  /** Sent verbatim instead of JSON.stringify(body). */
  rawBody?: BodyInit | null;
}

/**
 * A client address of its own for each request (from the documentation range 2001:db8::/32), so tests do
 * not share the budget of unknown-key lookups each address has (auth/unknown-key-guard.ts). Tests of that
 * budget send CF-Connecting-IP themselves.
 */
export function randomClientAddress(): string {
  const groups = Array.from(crypto.getRandomValues(new Uint16Array(6)), (group) => group.toString(16));
  return `2001:db8:${groups.join(':')}`;
}

export function webhookRequest(
  body: unknown,
  { token, method = 'POST', path = '/webhooks', headers = {}, rawBody }: RequestOptions = {},
): Request {
  return new Request(`${API_ORIGIN}${path}`, {
    method,
    headers: {
      'Content-Type': 'application/json',
      'CF-Connecting-IP': randomClientAddress(),
      ...(token ? { Authorization: `Bearer ${token}` } : {}),
      ...headers,
    },
    body: rawBody !== undefined ? rawBody : method === 'GET' || method === 'HEAD' ? null : JSON.stringify(body),
  });
}

/**
 * A request through the Worker's real entry point: as configured (`exports.default`, the bindings from
 * wrangler.toml), or with some bindings replaced, which is how tests reach faults that cannot be produced
 * through the configured ones (a dead endpoint, a throwing KV namespace, a broken key ring). Whatever
 * comes back must be what the OpenAPI document says it can be.
 */
export async function throughWorker(request: Request, overrides?: Partial<Env>): Promise<Response> {
  const { method, url } = request;
  let response: Response;
  if (overrides) {
    const ctx = createExecutionContext();
    response = await worker.fetch(request, { ...env, ...overrides }, ctx);
    await waitOnExecutionContext(ctx);
  } else {
    response = await exports.default.fetch(request);
  }
  await expectDocumented({ method, url }, response);
  return response;
}

/** POST /webhooks through the Worker's real entry point, with the bindings from wrangler.toml. */
export function postWebhook(body: unknown, options: RequestOptions = {}): Promise<Response> {
  return throughWorker(webhookRequest(body, options));
}

export async function readSuccess(response: Response): Promise<SuccessEnvelope<CreatedWebhook>> {
  return (await response.json()) as SuccessEnvelope<CreatedWebhook>;
}

/** Asserts the error envelope, status, code and request id, and returns the envelope. */
export async function expectError(response: Response, status: number, code: ErrorCode): Promise<ErrorEnvelope> {
  const text = await response.text();
  expect(response.status, text).toBe(status);
  expect(response.headers.get('Content-Type')).toMatch(/^application\/json/);
  expect(response.headers.get('X-Request-Id')).toMatch(/^[0-9a-f-]{36}$/);
  const body = JSON.parse(text) as ErrorEnvelope;
  expect(body).toEqual({
    success: false,
    data: null,
    error: { code, message: expect.any(String), details: expect.any(Object) },
    timestamp: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/),
  });
  return body;
}

/** Asserts a 400 VALIDATION_ERROR and returns its issues as "path: message" lines. */
export async function expectValidationIssues(response: Response): Promise<{ path: string; message: string }[]> {
  const body = await expectError(response, 400, 'VALIDATION_ERROR');
  return (body.error.details as { issues: { path: string; message: string }[] }).issues;
}

export const validBody = (overrides: Record<string, unknown> = {}) => ({
  url: 'https://hooks.example.com/instaview',
  events: ['INTERVIEW_COMPLETED'],
  ...overrides,
});
