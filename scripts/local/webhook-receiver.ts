// A real HTTP receiver for deliveries, for the tests and the benchmark: each endpoint it serves verifies
// every delivery with the standardwebhooks library (as an integrator would), answers as scripted, and
// records what it got. Steered over HTTP on the same port:
//   POST /endpoints {"secrets": [...], "responses": [{status, delayMs?, headers?, body?}, …]}
//        → {id, url}: deliveries to url get the responses in turn (the last one repeats; default 200);
//        a response with echoHeaders: true answers with the request's headers as JSON
//   PUT  /endpoints/{id}/secrets ["…"]      the secrets to verify with (after a rotation, say)
//   GET  /endpoints/{id}/requests            what arrived, oldest first
//   GET  /endpoints/{id}/most-in-flight      {most}: the most deliveries it was answering at once
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type * as StandardWebhooks from 'standardwebhooks';
import { readBody } from './read-body.ts';

// Loaded by Node itself: in Vitest's global setup Vite would inline the package and warn, on every
// fresh checkout, that its published sourcemap names sources it does not ship.
const { Webhook } = createRequire(import.meta.url)('standardwebhooks') as typeof StandardWebhooks;

export interface ScriptedResponse {
  status: number;
  /** Wait this long before answering (to make the sender time out). */
  delayMs?: number;
  headers?: Record<string, string>;
  body?: string;
  /** Answer with the request's headers as JSON, as a careless receiver might (what the excerpt must not keep). */
  echoHeaders?: boolean;
}

export interface ReceivedDelivery {
  receivedAt: number;
  headers: Record<string, string>;
  body: string;
  /** Which of the endpoint's secrets verified the signature (webhook-signature may carry several); -1: none. */
  verifiedWith: number[];
  /** Why verification failed, when it did. */
  verifyError: string | null;
}

interface Endpoint {
  secrets: string[];
  responses: ScriptedResponse[];
  answered: number;
  requests: ReceivedDelivery[];
  inFlight: number;
  mostInFlight: number;
}

export interface WebhookReceiver {
  /** http://127.0.0.1:port */
  readonly origin: string;
  close(): Promise<void>;
}

/** Verifies a delivery with each secret in turn: which ones accept it. */
export function verify(
  secrets: string[],
  body: string,
  headers: Record<string, string>,
): { with: number[]; error: string | null } {
  const accepted: number[] = [];
  let error: string | null = null;
  secrets.forEach((secret, index) => {
    try {
      new Webhook(secret).verify(body, headers);
      accepted.push(index);
    } catch (failure) {
      error = (failure as Error).message;
    }
  });
  return { with: accepted, error: accepted.length > 0 ? null : error };
}

/** Waits `ms`, or less if the sender hangs up first: a long delay then holds no timer after the request is gone. */
function delay(ms: number, response: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    response.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

export async function startWebhookReceiver({ port = 0 }: { port?: number } = {}): Promise<WebhookReceiver> {
  const endpoints = new Map<string, Endpoint>();
  let origin = '';

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const body = await readBody(request);
    const url = new URL(request.url ?? '/', 'http://receiver');
    const reply = (status: number, value: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(value));
    };
    const [, first, id, action] = url.pathname.split('/');
    if (request.method === 'POST' && url.pathname === '/endpoints') {
      const spec = JSON.parse(body || '{}') as { secrets?: string[]; responses?: ScriptedResponse[] };
      const endpointId = crypto.randomUUID();
      endpoints.set(endpointId, {
        secrets: spec.secrets ?? [],
        responses: spec.responses ?? [],
        answered: 0,
        requests: [],
        inFlight: 0,
        mostInFlight: 0,
      });
      return reply(201, { id: endpointId, url: `${origin}/hooks/${endpointId}` });
    }
    const endpoint = id ? endpoints.get(id) : undefined;
    if (first === 'endpoints' && endpoint && action === 'requests' && request.method === 'GET') {
      return reply(200, endpoint.requests);
    }
    if (first === 'endpoints' && endpoint && action === 'most-in-flight' && request.method === 'GET') {
      return reply(200, { most: endpoint.mostInFlight });
    }
    if (first === 'endpoints' && endpoint && action === 'secrets' && request.method === 'PUT') {
      endpoint.secrets = JSON.parse(body) as string[];
      return reply(200, { secrets: endpoint.secrets.length });
    }
    if (first === 'hooks' && endpoint && request.method === 'POST') {
      const headers = Object.fromEntries(
        Object.entries(request.headers).map(([name, value]) => [
          name,
          Array.isArray(value) ? value.join(', ') : (value ?? ''),
        ]),
      );
      const verified = verify(endpoint.secrets, body, headers);
      endpoint.requests.push({
        receivedAt: Date.now(),
        headers,
        body,
        verifiedWith: verified.with,
        verifyError: verified.error,
      });
      const scripted =
        endpoint.responses[Math.min(endpoint.answered, endpoint.responses.length - 1)] ??
        ({ status: 200 } as ScriptedResponse);
      endpoint.answered++;
      endpoint.inFlight++;
      endpoint.mostInFlight = Math.max(endpoint.mostInFlight, endpoint.inFlight);
      try {
        if (scripted.delayMs) await delay(scripted.delayMs, response);
        if (response.destroyed) return;
        response.writeHead(scripted.status, { 'content-type': 'text/plain', ...scripted.headers });
        response.end(scripted.echoHeaders ? JSON.stringify(headers) : (scripted.body ?? 'ok'));
      } finally {
        endpoint.inFlight--;
      }
      return;
    }
    reply(404, { error: 'not found' });
  }

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) response.writeHead(500);
      response.end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the receiver did not bind a port');
  origin = `http://127.0.0.1:${address.port}`;
  return {
    origin,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
