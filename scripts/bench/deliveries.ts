// The delivery workload of `npm run bench`: events published through POST /events, each fanned out to
// every webhook of one account, delivered to a local receiver that verifies every signature with the
// standardwebhooks library (scripts/local/webhook-receiver.ts). Counts statements where they reach
// Postgres, split by the name each consumer gives its database (fan-out per event, delivery per attempt).
import { startWebhookReceiver } from '../local/webhook-receiver.ts';
import type { LoadPlan, LoadResult } from './load.ts';
import { cpuTimeMs } from './processes.ts';

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

export interface DeliveryWorkload {
  base: string;
  publishToken: string;
  account: { accountId: string; token: string };
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

function percentile(sorted: number[], fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))] ?? Number.NaN;
}

export async function measureDeliveries(workload: DeliveryWorkload): Promise<DeliveryFigures> {
  const receiver = await startWebhookReceiver();
  try {
    const control = (path: string, init?: RequestInit) => fetch(`${receiver.origin}${path}`, init);
    const endpoints: string[] = [];
    for (let i = 0; i < workload.webhooks; i++) {
      const endpoint = (await (await control('/endpoints', { method: 'POST', body: '{}' })).json()) as {
        id: string;
        url: string;
      };
      const created = await fetch(`${workload.base}/webhooks`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${workload.account.token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ url: endpoint.url, events: ['INTERVIEW_COMPLETED'] }),
      });
      if (created.status !== 201) throw new Error(`creating a bench webhook answered ${created.status}`);
      const { data } = (await created.json()) as { data: { signingSecret: string } };
      await control(`/endpoints/${endpoint.id}/secrets`, { method: 'PUT', body: JSON.stringify([data.signingSecret]) });
      endpoints.push(endpoint.id);
    }
    type Received = { receivedAt: number; body: string; verifiedWith: number[] };
    /** Everything the endpoints received, once there are `count` deliveries (or two minutes passed). */
    const receivedAll = async (count: number, pollMs = 100): Promise<Received[]> => {
      const deadline = Date.now() + 120_000;
      for (;;) {
        const received = (
          await Promise.all(
            endpoints.map(async (id) => (await (await control(`/endpoints/${id}/requests`)).json()) as Received[]),
          )
        ).flat();
        if (received.length >= count || Date.now() > deadline) return received;
        await new Promise((resolve) => setTimeout(resolve, pollMs));
      }
    };
    const latenciesOf = (deliveries: Received[]) =>
      deliveries
        .map(
          (delivery) =>
            delivery.receivedAt - Date.parse((JSON.parse(delivery.body) as { timestamp: string }).timestamp),
        )
        .sort((a, b) => a - b);
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
    const received = await receivedAll(expected);
    // Every delivery recorded too: the last statements land after the receiver answered.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const after = {
      fanOut: await statementsOfKind(workload.sqlControlUrl, 'webhooks fan-out'),
      delivery: await statementsOfKind(workload.sqlControlUrl, 'webhooks delivery'),
      cpu: cpuTimeMs(workload.workerPid),
    };
    const last = Math.max(...received.map((delivery) => delivery.receivedAt));
    const latencies = latenciesOf(received);

    const publishOne = async () => {
      const response = await fetch(`${workload.base}/events`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${workload.publishToken}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ type: 'INTERVIEW_COMPLETED', accountId: workload.account.accountId, data: {} }),
      });
      if (response.status !== 202) throw new Error(`publishing answered ${response.status}`);
    };
    const idleStarted = Date.now();
    let all = received;
    for (let i = 1; i <= workload.idleEvents; i++) {
      await publishOne();
      all = await receivedAll(expected + i * workload.webhooks, 5);
    }
    const idleLatencies = latenciesOf(all.filter((delivery) => delivery.receivedAt >= idleStarted));
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
    await receiver.close();
  }
}
