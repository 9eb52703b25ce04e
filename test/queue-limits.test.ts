// Cloudflare Queues' limits, held against what the service sends (README "Where the local run differs
// from Cloudflare"). Miniflare enforces the message size (128 KB, on the serialized message, as
// Cloudflare does) but lets a sendBatch reach 288 KB where Cloudflare stops at 256 KB; the recording
// binding below holds sendBatch to Cloudflare's numbers.
import { env } from 'cloudflare:workers';
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { MAX_BATCH, MAX_QUEUE_DELAY_SECONDS, queueDelay } from '../src/deliveries/messages.ts';
import { MAX_EVENT_DATA_BYTES } from '../src/events/schema.ts';
import { API_ORIGIN, throughWorker } from './support/api.ts';
import { withDatabase } from './support/database.ts';
import { eventually, publish, received, webhookWithReceiver } from './support/deliveries.ts';
import { createTestAccount } from './support/fixtures.ts';

/** Cloudflare's limits (developers.cloudflare.com/queues/platform/limits). */
const CLOUDFLARE = { messageBytes: 128_000, batchMessages: 100, batchBytes: 256_000, delaySeconds: 86_400 };

/**
 * A webhook-deliveries binding that refuses what Cloudflare would (over 100 messages or 256 KB a
 * sendBatch, a message over 128 KB, counted as JSON), and records each batch instead of queueing it:
 * 1000 real deliveries would flood the receiver every other test shares. Miniflare's own acceptance of
 * these messages is shown by every delivery test.
 */
function recordingQueue() {
  const batches: { messages: number; bytes: number }[] = [];
  const size = (body: unknown) => new TextEncoder().encode(JSON.stringify(body)).length;
  const queue = {
    async send(body: unknown) {
      if (size(body) > CLOUDFLARE.messageBytes) throw new Error('message over 128 KB');
      batches.push({ messages: 1, bytes: size(body) });
    },
    async sendBatch(messages: Iterable<MessageSendRequest>) {
      const list = [...messages];
      const bytes = list.reduce((sum, { body }) => sum + size(body), 0);
      if (list.length > CLOUDFLARE.batchMessages) throw new Error(`sendBatch of ${list.length} messages`);
      if (bytes > CLOUDFLARE.batchBytes) throw new Error(`sendBatch of ${bytes} bytes`);
      batches.push({ messages: list.length, bytes });
    },
  };
  return { queue: queue as unknown as Queue, batches };
}

describe('a message', () => {
  /** The largest event the schema accepts: 64 KiB of data as JSON, every other field at its longest. */
  function largestEvent(accountId: string, companyId: string, fill: string) {
    const wrapper = JSON.stringify({ text: '' }).length;
    const filler = fill.length === 1 ? 'a'.repeat(MAX_EVENT_DATA_BYTES - wrapper) : fill;
    const data = { text: filler };
    expect(new TextEncoder().encode(JSON.stringify(data)).length).toBe(MAX_EVENT_DATA_BYTES);
    return {
      id: `largest-${crypto.randomUUID()}-`.padEnd(255, 'x'),
      type: 'INTERVIEW_COMPLETED',
      accountId,
      companyId,
      occurredAt: '2026-12-02T15:30:00.123456+14:00',
      data,
    };
  }

  it.each([
    ['ASCII', 'a'],
    // One character outside Latin-1 makes V8 hold the whole string as UTF-16, twice its ASCII size.
    [
      'with a character outside Latin-1',
      `${'a'.repeat(MAX_EVENT_DATA_BYTES - JSON.stringify({ text: '' }).length - 3)}€`,
    ],
  ])(
    'the largest valid event (%s) goes through the queue to the receiver',
    async (_case, fill) => {
      const account = await createTestAccount();
      const { endpoint } = await webhookWithReceiver(account.token);
      const event = largestEvent(account.accountId, account.companyId, fill);
      await publish(event);
      const [delivery] = await eventually(async () => {
        const got = await received(endpoint.id);
        expect(got).toHaveLength(1);
        return got;
      });
      expect(JSON.parse(delivery?.body ?? '{}')).toMatchObject({ data: event.data });
    },
    20_000,
  );
});

describe('sendBatch', () => {
  it('a recover of 1000 deliveries goes out in batches Cloudflare takes: 10 × 100 messages, each under 256 KB', async () => {
    const account = await createTestAccount();
    const { webhook } = await webhookWithReceiver(account.token);
    await withDatabase((db) =>
      db.execute(sql`
        with created as (
          insert into events (account_id, id, type, occurred_at, data)
          select ${account.accountId}::uuid, 'bulk-' || n, 'INTERVIEW_COMPLETED', now(), '{}'
            from generate_series(1, 1000) as n
          returning id)
        insert into deliveries (id, account_id, webhook_id, event_id, event_type, status, attempts)
        select gen_random_uuid(), ${account.accountId}::uuid, ${webhook.id}::uuid, id, 'INTERVIEW_COMPLETED', 'failed', 4
          from created`),
    );
    const { queue, batches } = recordingQueue();
    const response = await throughWorker(
      new Request(`${API_ORIGIN}/webhooks/${webhook.id}/recover`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${account.token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ since: new Date(Date.now() - 3_600_000).toISOString() }),
      }),
      { WEBHOOK_DELIVERIES: queue },
    );
    expect(response.status).toBe(202);
    expect(((await response.json()) as { data: { count: number } }).data.count).toBe(1000);
    expect(batches.map((batch) => batch.messages)).toEqual(Array(10).fill(MAX_BATCH));
    expect(Math.max(...batches.map((batch) => batch.bytes))).toBeLessThan(CLOUDFLARE.batchBytes);
  }, 30_000);
});

describe('delaySeconds', () => {
  it("never asks more than Cloudflare's maximum, and the local queue takes the longest", async () => {
    expect(MAX_QUEUE_DELAY_SECONDS).toBeLessThanOrEqual(CLOUDFLARE.delaySeconds);
    expect(queueDelay(10 * CLOUDFLARE.delaySeconds)).toBe(MAX_QUEUE_DELAY_SECONDS);
    // A real send: Miniflare refuses a delay over 24 h, as Cloudflare does. The message never comes in
    // this run (12 h), and carries an id no delivery has.
    await env.WEBHOOK_DELIVERIES.send(
      { deliveryId: crypto.randomUUID(), series: 1 },
      { delaySeconds: queueDelay(Number.MAX_SAFE_INTEGER) },
    );
    await expect(
      env.WEBHOOK_DELIVERIES.send({ deliveryId: crypto.randomUUID(), series: 1 }, { delaySeconds: 86_401 }),
    ).rejects.toThrow();
  });
});
