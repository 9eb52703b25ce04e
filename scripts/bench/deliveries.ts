// The delivery workload of `npm run bench`: events published through POST /events, each fanned out to
// every webhook of one account, delivered to a local receiver that verifies every signature with the
// standardwebhooks library (scripts/local/webhook-receiver.ts). Counts statements where they reach
// Postgres, split by the name each consumer gives its database (fan-out per event, delivery per attempt).
import type { LoadPlan, LoadResult } from './load.ts';
import { cpuTimeMs } from './processes.ts';
import { type BenchApi, eventToDeliveryMs, percentile, publishEvent, startReceiving } from './receiving.ts';

export interface DeliveryFigures {
  events: number;
  webhooksPerEvent: number;
  deliveries: number;
  /** From the first publish to the last delivery received. */
  deliveriesPerSecond: number;
  /** Fan-out statements per event (goal: 1, plus 1 per 100 deliveries to mark them queued). */
  statementsPerEvent: number;
  /** Delivery statements per attempt (goal ≤ 2: the claim and the record). */
  statementsPerAttempt: number;
  /** From the event's occurredAt (set by POST /events) to the receiver having the delivery, under the load above. */
  eventToDeliveryP50Ms: number;
  eventToDeliveryP99Ms: number;
  /** The same with one event at a time (each to every webhook): the path's own latency, without a backlog. */
  idleEventToDeliveryP50Ms: number;
  idleEventToDeliveryP99Ms: number;
  workerCpuMsPerDelivery: number;
  /** Deliveries whose signature did not verify, or that never arrived. */
  errors: number;
}

export interface DeliveryWorkload extends BenchApi {
  events: number;
  /** Events published one at a time afterwards, each once the last one is delivered. */
  idleEvents: number;
  webhooks: number;
  concurrency: number;
  workerPid: number;
  /** The local SQL endpoint's control URL. */
  sqlControlUrl: string;
  runLoad: (plan: LoadPlan) => Promise<LoadResult>;
  log: (message: string) => void;
}

/** Statements the SQL endpoint saw from every database named `${kind} <something>`. */
async function statementsOfKind(controlUrl: string, kind: string): Promise<number> {
  const response = await fetch(`${controlUrl}/statements?kind=${encodeURIComponent(kind)}`);
  return ((await response.json()) as { count: number }).count;
}

export async function measureDeliveries(workload: DeliveryWorkload): Promise<DeliveryFigures> {
  const receiving = await startReceiving(workload);
  try {
    const webhooks = [];
    for (let i = 0; i < workload.webhooks; i++) webhooks.push(await receiving.addWebhook());
    const expected = workload.events * workload.webhooks;
    workload.log(`deliveries: ${workload.events} events × ${workload.webhooks} webhooks to a verifying receiver`);

    const before = {
      fanOut: await statementsOfKind(workload.sqlControlUrl, 'webhooks fan-out'),
      delivery: await statementsOfKind(workload.sqlControlUrl, 'webhooks delivery'),
      cpu: cpuTimeMs(workload.workerPid),
    };
    const started = Date.now();
    const published = await workload.runLoad({
      url: `${workload.base}/events`,
      concurrency: workload.concurrency,
      body: JSON.stringify({
        type: 'INTERVIEW_COMPLETED',
        accountId: workload.account.accountId,
        data: { interviewId: 'bench' },
      }),
      tokens: Array(workload.events).fill(workload.publishToken),
    });
    if (published.statuses['202'] !== workload.events) {
      throw new Error(`publishing answered ${JSON.stringify(published.statuses)}`);
    }
    const received = await receiving.waitFor(webhooks, expected);
    // Every delivery recorded too: the last statements land after the receiver answered.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const after = {
      fanOut: await statementsOfKind(workload.sqlControlUrl, 'webhooks fan-out'),
      delivery: await statementsOfKind(workload.sqlControlUrl, 'webhooks delivery'),
      cpu: cpuTimeMs(workload.workerPid),
    };
    const last = Math.max(...received.map((delivery) => delivery.receivedAt));
    const latencies = eventToDeliveryMs(received);

    const idleStarted = Date.now();
    let all = received;
    for (let i = 1; i <= workload.idleEvents; i++) {
      await publishEvent(workload);
      all = await receiving.waitFor(webhooks, expected + i * workload.webhooks, { pollMs: 5 });
    }
    const idleLatencies = eventToDeliveryMs(all.filter((delivery) => delivery.receivedAt >= idleStarted));
    const unverified = all.filter((delivery) => delivery.verifiedWith.length === 0).length;
    return {
      events: workload.events,
      webhooksPerEvent: workload.webhooks,
      deliveries: received.length,
      deliveriesPerSecond: (received.length / (last - started)) * 1000,
      statementsPerEvent: (after.fanOut - before.fanOut) / workload.events,
      statementsPerAttempt: (after.delivery - before.delivery) / Math.max(1, received.length),
      eventToDeliveryP50Ms: percentile(latencies, 0.5),
      eventToDeliveryP99Ms: percentile(latencies, 0.99),
      idleEventToDeliveryP50Ms: percentile(idleLatencies, 0.5),
      idleEventToDeliveryP99Ms: percentile(idleLatencies, 0.99),
      workerCpuMsPerDelivery: (after.cpu - before.cpu) / Math.max(1, received.length),
      errors: unverified + Math.max(0, expected + workload.idleEvents * workload.webhooks - all.length),
    };
  } finally {
    await receiving.close();
  }
}
