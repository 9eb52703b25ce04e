// What the bench's delivery workloads share: webhooks of one account pointed at endpoints of a local
// verifying receiver (scripts/local/webhook-receiver.ts), publishing events through POST /events, and
// reading back when each delivery arrived.
import { type ScriptedResponse, startWebhookReceiver } from '../local/webhook-receiver.ts';

/** One delivery as the receiver recorded it. */
export interface Received {
  receivedAt: number;
  body: string;
  /** Which of the endpoint's secrets verified it: empty when none did. */
  verifiedWith: number[];
}

export interface BenchApi {
  /** The service, http://127.0.0.1:port. */
  base: string;
  /** POST /events' operator token. */
  publishToken: string;
  account: { accountId: string; token: string };
}

/** A webhook of the account and the receiver endpoint its deliveries go to. */
export interface BenchWebhook {
  webhookId: string;
  endpointId: string;
}

export interface WebhookOptions {
  /** How the endpoint answers (default 200 at once). */
  responses?: ScriptedResponse[];
  rateLimitPerSecond?: number;
}

export interface Receiving {
  /** A receiver endpoint, and a webhook for INTERVIEW_COMPLETED pointed at it that it verifies. */
  addWebhook(options?: WebhookOptions): Promise<BenchWebhook>;
  /** Everything the webhooks' endpoints received so far. */
  received(webhooks: BenchWebhook[]): Promise<Received[]>;
  /** Everything they received once there are `count` deliveries, or when `timeoutMs` has passed. */
  waitFor(
    webhooks: BenchWebhook[],
    count: number,
    options?: { pollMs?: number; timeoutMs?: number },
  ): Promise<Received[]>;
  close(): Promise<void>;
}

export async function startReceiving(api: BenchApi): Promise<Receiving> {
  const receiver = await startWebhookReceiver();
  const control = (path: string, init?: RequestInit) => fetch(`${receiver.origin}${path}`, init);
  const received = async (webhooks: BenchWebhook[]) =>
    (
      await Promise.all(
        webhooks.map(
          async ({ endpointId }) => (await (await control(`/endpoints/${endpointId}/requests`)).json()) as Received[],
        ),
      )
    ).flat();
  return {
    async addWebhook(options = {}) {
      const endpoint = (await (
        await control('/endpoints', { method: 'POST', body: JSON.stringify({ responses: options.responses ?? [] }) })
      ).json()) as { id: string; url: string };
      const created = await fetch(`${api.base}/webhooks`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${api.account.token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({
          url: endpoint.url,
          events: ['INTERVIEW_COMPLETED'],
          ...(options.rateLimitPerSecond ? { rateLimitPerSecond: options.rateLimitPerSecond } : {}),
        }),
      });
      if (created.status !== 201) throw new Error(`creating a bench webhook answered ${created.status}`);
      const { data } = (await created.json()) as { data: { id: string; signingSecret: string } };
      await control(`/endpoints/${endpoint.id}/secrets`, { method: 'PUT', body: JSON.stringify([data.signingSecret]) });
      return { webhookId: data.id, endpointId: endpoint.id };
    },
    received,
    async waitFor(webhooks, count, { pollMs = 100, timeoutMs = 120_000 } = {}) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const all = await received(webhooks);
        if (all.length >= count || Date.now() > deadline) return all;
        await new Promise((resolve) => setTimeout(resolve, pollMs));
      }
    },
    close: () => receiver.close(),
  };
}

/** One INTERVIEW_COMPLETED event for the account, published as InstaView would (202: stored, to be fanned out). */
export async function publishEvent(api: BenchApi, data: Record<string, unknown> = {}): Promise<void> {
  const response = await fetch(`${api.base}/events`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${api.publishToken}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ type: 'INTERVIEW_COMPLETED', accountId: api.account.accountId, data }),
  });
  if (response.status !== 202) throw new Error(`publishing answered ${response.status}`);
}

/** From each event's occurredAt (the body's timestamp, set by POST /events) to its arrival, sorted. */
export function eventToDeliveryMs(deliveries: Received[]): number[] {
  return deliveries
    .map((delivery) => delivery.receivedAt - Date.parse((JSON.parse(delivery.body) as { timestamp: string }).timestamp))
    .sort((a, b) => a - b);
}

export function percentile(sorted: number[], fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))] ?? Number.NaN;
}
