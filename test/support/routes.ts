import { expect } from 'vitest';
import type { SuccessEnvelope } from '../../src/http/envelope.ts';
import type { Webhook } from '../../src/webhooks/representation.ts';
import { API_ORIGIN, randomClientAddress, readSuccess, throughWorker, validBody } from './api.ts';

export interface Call {
  token?: string;
  body?: unknown;
  headers?: Record<string, string>;
}

/** A request through the Worker's entry; the response is checked against the OpenAPI document. */
export function call(method: string, path: string, { token, body, headers = {} }: Call = {}): Promise<Response> {
  return throughWorker(
    new Request(`${API_ORIGIN}${path}`, {
      method,
      headers: {
        'CF-Connecting-IP': randomClientAddress(),
        ...(token ? { Authorization: `Bearer ${token}` } : {}),
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        ...headers,
      },
      body: body === undefined ? null : JSON.stringify(body),
    }),
  );
}

/** The envelope's data, after checking the status. */
export async function data<T = Webhook>(response: Response, status = 200): Promise<T> {
  const text = await response.text();
  expect(response.status, text).toBe(status);
  return (JSON.parse(text) as SuccessEnvelope<T>).data;
}

/** Creates a webhook; returns it as every other route shows it (without the secret). */
export async function create(account: { token: string }, overrides: Record<string, unknown> = {}): Promise<Webhook> {
  const { data } = await readSuccess(
    await call('POST', '/webhooks', { token: account.token, body: validBody(overrides) }),
  );
  const { signingSecret: _shownOnce, ...webhook } = data;
  return webhook;
}
