import { createExecutionContext, createMessageBatch, getQueueResult } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { sql } from 'drizzle-orm';
import { expect, inject, vi } from 'vitest';
import type { ReceivedDelivery, ScriptedResponse } from '../../scripts/local/webhook-receiver.ts';
import { fanOut } from '../../src/deliveries/store/events.ts';
import type { WebhookEvent } from '../../src/events/event-types.ts';
import worker from '../../src/index.ts';
import { API_ORIGIN, randomClientAddress, readSuccess, throughWorker, validBody, webhookRequest } from './api.ts';
import { withDatabase } from './database.ts';

export type { ReceivedDelivery };

/** An endpoint on the test receiver, verifying with `secrets`, answering `responses` in turn. */
export async function receiverEndpoint(secrets: string[] = [], responses: ScriptedResponse[] = []) {
  const response = await fetch(`${inject('receiver')}/endpoints`, {
    method: 'POST',
    body: JSON.stringify({ secrets, responses }),
  });
  return (await response.json()) as { id: string; url: string };
}

export async function setReceiverSecrets(endpointId: string, secrets: string[]): Promise<void> {
  await fetch(`${inject('receiver')}/endpoints/${endpointId}/secrets`, {
    method: 'PUT',
    body: JSON.stringify(secrets),
  });
}

export async function received(endpointId: string): Promise<ReceivedDelivery[]> {
  return (await (await fetch(`${inject('receiver')}/endpoints/${endpointId}/requests`)).json()) as ReceivedDelivery[];
}

/** The most deliveries the endpoint was answering at once. */
export async function mostInFlight(endpointId: string): Promise<number> {
  const response = await fetch(`${inject('receiver')}/endpoints/${endpointId}/most-in-flight`);
  return ((await response.json()) as { most: number }).most;
}

/** Waits `ms` milliseconds: for what can only be seen not to happen, or to let a request queue first. */
export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Waits (the queues work in the background) until `check` passes; fails with its last error otherwise. */
export function eventually<T>(check: () => Promise<T> | T, timeout = 15_000): Promise<T> {
  return vi.waitFor(check, { timeout, interval: 100 });
}

/** A webhook pointed at a fresh receiver endpoint that verifies with its signing secret. */
export async function webhookWithReceiver(
  token: string,
  overrides: Record<string, unknown> = {},
  responses: ScriptedResponse[] = [],
) {
  const endpoint = await receiverEndpoint([], responses);
  const { data } = await readSuccess(
    await throughWorker(
      new Request(`${API_ORIGIN}/webhooks`, {
        method: 'POST',
        headers: {
          Authorization: `Bearer ${token}`,
          'Content-Type': 'application/json',
          'CF-Connecting-IP': randomClientAddress(),
        },
        body: JSON.stringify(validBody({ url: endpoint.url, events: ['INTERVIEW_COMPLETED', 'PING'], ...overrides })),
      }),
    ),
  );
  await setReceiverSecrets(endpoint.id, [data.signingSecret]);
  return { webhook: data, endpoint };
}

/** PATCH {isActive: false} through the Worker: deactivating cancels what the webhook has pending. */
export function deactivate(token: string, webhookId: string): Promise<Response> {
  return throughWorker(webhookRequest({ isActive: false }, { token, method: 'PATCH', path: `/webhooks/${webhookId}` }));
}

export interface PublishedEvent {
  id?: string;
  type?: string;
  accountId: string;
  companyId?: string | null;
  occurredAt?: string;
  data?: unknown;
}

/** POST /events through the Worker, with the operator token. */
export function publishRequest(event: PublishedEvent, token = env.EVENTS_PUBLISH_TOKEN): Request {
  return new Request(`${API_ORIGIN}/events`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ type: 'INTERVIEW_COMPLETED', data: { candidateId: 'c-1' }, ...event }),
  });
}

export async function publish(event: PublishedEvent): Promise<string> {
  const response = await throughWorker(publishRequest(event));
  const text = await response.text();
  expect(response.status, text).toBe(202);
  return (JSON.parse(text) as { data: { eventId: string } }).data.eventId;
}

export type StoredDelivery = {
  id: string;
  webhook_id: string;
  status: string;
  attempts: number;
  series: number;
  last_error: string | null;
  last_http_status: number | null;
};

export async function deliveriesOf(filter: { webhookId?: string; eventId?: string }): Promise<StoredDelivery[]> {
  return withDatabase(async (db) => {
    const conditions = [
      filter.webhookId ? sql`webhook_id = ${filter.webhookId}::uuid` : sql`true`,
      filter.eventId ? sql`event_id = ${filter.eventId}` : sql`true`,
    ];
    const result = await db.execute<StoredDelivery>(sql`
      select id::text, webhook_id::text, status::text, attempts, series, last_error, last_http_status from deliveries
      where ${sql.join(conditions, sql` and `)} order by created_at`);
    return result.rows;
  });
}

/** As if the circuit had opened an hour ago: its cool-down (a minute in tests) is over. */
export async function backdateCircuit(id: string): Promise<void> {
  await withDatabase((db) =>
    db.execute(sql`update webhooks set circuit_opened_at = now() - interval '1 hour' where id = ${id}::uuid`),
  );
}

export async function webhookState(id: string) {
  return withDatabase(async (db) => {
    const result = await db.execute<{
      consecutive_failures: number;
      circuit_opened_at: string | null;
      is_active: boolean;
    }>(sql`select consecutive_failures, is_active,
      to_char(circuit_opened_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as circuit_opened_at
    from webhooks where id = ${id}::uuid`);
    return result.rows[0];
  });
}

/**
 * Waits until no delivery of the event has an attempt under way: a claim leases its delivery, and the
 * attempt's record (which lands a moment after the receiver has answered) clears the lease. Call it
 * once the receiver has the attempt's request.
 */
export async function attemptsRecorded(eventId: string): Promise<void> {
  await eventually(async () => {
    const result = await withDatabase((db) =>
      db.execute<{ leased: number }>(
        sql`select count(*)::int as leased from deliveries where event_id = ${eventId} and locked_until is not null`,
      ),
    );
    expect(result.rows[0]?.leased).toBe(0);
  });
}

/** As if each had answered a delivery with a 2xx: the fan-out no longer puts them on the slow lane for being new. */
export async function markProven(...webhookIds: string[]): Promise<void> {
  await withDatabase((db) =>
    db.execute(sql`update webhooks set last_success_at = now() where id = any(${`{${webhookIds.join(',')}}`}::uuid[])`),
  );
}

/** Sets these webhooks' timeoutMs (not an API field: tests set it in the database). */
export async function setTimeoutMs(timeoutMs: number, ...webhookIds: string[]): Promise<void> {
  await withDatabase((db) =>
    db.execute(
      sql`update webhooks set timeout_ms = ${timeoutMs}::int where id = any(${`{${webhookIds.join(',')}}`}::uuid[])`,
    ),
  );
}

/**
 * A queue binding that keeps what is sent to it, instead of handing it to a consumer: `sent` has the
 * bodies, `sends` each body with the options it was sent with.
 */
export function recordingQueue() {
  const sends: { body: unknown; options: QueueSendOptions | undefined }[] = [];
  const sent: unknown[] = [];
  const queue = {
    send: async (body: unknown, options?: QueueSendOptions) => {
      sends.push({ body, options });
      sent.push(body);
    },
    sendBatch: async (messages: Iterable<MessageSendRequest>) => {
      for (const message of messages) {
        sends.push({ body: message.body, options: { delaySeconds: message.delaySeconds } });
        sent.push(message.body);
      }
    },
  } as unknown as Queue;
  return { queue, sent, sends };
}

/**
 * A delivery created as the fan-out creates it, but not put on the queue: a test hands its message to
 * the consumer itself (consumeOne), so no copy runs in the background.
 */
export async function unqueuedDelivery(
  accountId: string,
  type: WebhookEvent = 'INTERVIEW_COMPLETED',
): Promise<{ eventId: string; deliveryId: string }> {
  const eventId = crypto.randomUUID();
  const [pending] = await withDatabase((db) =>
    fanOut(db, {
      id: eventId,
      accountId,
      companyId: null,
      type,
      occurredAt: new Date().toISOString(),
      data: '{"candidateId":"c-1"}',
    }),
  );
  if (!pending) throw new Error(`the fan-out created no delivery: no webhook receives ${type}`);
  return { eventId, deliveryId: pending.id };
}

/**
 * Runs the Worker's queue handler on one message, as `queue` would hand it over (its `attempts`th time),
 * and says what the handler did with it: acked, or retried and with which options.
 */
export async function consumeOne(
  queue: string,
  body: unknown,
  options: BatchOptions = {},
): Promise<{ acked: boolean; retriedWith: QueueRetryOptions | undefined }> {
  const [result] = await consumeBatch(queue, [body], options);
  if (!result) throw new Error('the queue handler reported on no message');
  return result;
}

type BatchOptions = { overrides?: Partial<Env>; attempts?: number };

/**
 * Hands the Worker's queue handler one batch of these messages; resolves when the handler returns, which
 * may be before the work it left to ctx.waitUntil is done (waitOnExecutionContext waits for that).
 */
export async function startBatch(
  queue: string,
  bodies: unknown[],
  { overrides = {}, attempts = 1 }: BatchOptions = {},
) {
  const batch = createMessageBatch(
    queue,
    bodies.map((body) => ({ id: crypto.randomUUID(), timestamp: new Date(), attempts, body })),
  );
  const retries = batch.messages.map((message) => vi.spyOn(message, 'retry'));
  const ctx = createExecutionContext();
  await (worker as ExportedHandler<Env>).queue?.(batch, { ...env, ...overrides }, ctx);
  return { batch, ctx, retries };
}

/** Runs the Worker's queue handler on one batch of these messages; what it did with each, in order. */
export async function consumeBatch(
  queue: string,
  bodies: unknown[],
  options: BatchOptions = {},
): Promise<{ acked: boolean; retriedWith: QueueRetryOptions | undefined }[]> {
  const { batch, ctx, retries } = await startBatch(queue, bodies, options);
  const result = await getQueueResult(batch, ctx);
  return batch.messages.map((message, index) => {
    const calls = retries[index]?.mock.calls ?? [];
    return {
      acked: result.explicitAcks.includes(message.id),
      retriedWith: calls.length > 0 ? (calls[0]?.[0] ?? {}) : undefined,
    };
  });
}
