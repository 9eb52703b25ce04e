// The noisy-neighbour workload of `npm run bench` (issue 16): can one tenant's endpoints slow everyone
// else's deliveries? Healthy webhooks get the same steady stream of events three times: first alone, then
// beside new webhooks whose receiver never answers (each attempt hangs until the webhook's timeout) and one
// webhook with a rate limit whose receiver records when each delivery arrived, then beside as many more
// hanging webhooks that had answered a delivery before (`last_success_at` set: the fan-out puts a new
// webhook's deliveries on the slow lane, one that has answered on the main queue, so these are the ones
// that can still hold it). Every event fans out to all of them.
//
// Figures: the healthy webhooks' event-to-delivery p50/p99 with the noisy ones absent and present; the
// lane-seconds the hanging ones held (the sum of their attempts' duration_ms in delivery_attempts, i.e.
// the Worker's own measure of each send, not the receiver's); how many of their deliveries were attempted;
// and the most deliveries the rate-limited receiver saw in any one-second window.
import pg from 'pg';
import {
  type BenchApi,
  type BenchWebhook,
  eventToDeliveryMs,
  percentile,
  publishEvent,
  type Received,
  type Receiving,
  startReceiving,
} from './receiving.ts';

export interface NoisyWorkload extends BenchApi {
  /** Direct access for what the API does not offer: the hanging webhooks' short timeout, their attempts. */
  databaseUrl: string;
  healthyWebhooks: number;
  hangingWebhooks: number;
  /** The hanging webhooks' timeout_ms (the API has no field for it: set in the database). */
  hangTimeoutMs: number;
  rateLimitPerSecond: number;
  /** Each phase publishes this many events a second for `seconds`, each to every webhook. */
  eventsPerSecond: number;
  seconds: number;
  log: (message: string) => void;
}

/** The healthy webhooks' deliveries in one phase. */
export interface PhaseFigures {
  expected: number;
  /** Arrived and verified. */
  received: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Deliveries that arrived later than one hang timeout after their event: stuck behind a hang. */
  laterThanHangTimeout: number;
  /** First publish to last healthy delivery. */
  seconds: number;
}

export interface NoisyFigures {
  healthyWebhooks: number;
  hangingWebhooks: number;
  hangTimeoutMs: number;
  rateLimitPerSecond: number;
  eventsPerPhase: number;
  eventsPerSecond: number;
  /** The healthy webhooks alone, then beside the noisy ones: the same events at the same pace. */
  absent: PhaseFigures;
  present: PhaseFigures;
  /** Then beside more hanging webhooks, these having answered a delivery before. */
  presentProven: PhaseFigures;
  hanging: {
    /** Deliveries the hanging webhooks (both sets) were due (one per event after they were added each). */
    deliveries: number;
    /** Of those, how many had at least one attempt. */
    attemptedDeliveries: number;
    /** Never attempted: skipped because their webhook's circuit was open. */
    skippedUnattempted: number;
    attempts: number;
    /** Sum of their attempts' duration_ms (delivery_attempts): lane time spent waiting on them. */
    laneSeconds: number;
  };
  rateLimited: {
    expected: number;
    received: number;
    /** The most deliveries the receiver saw within any one second (goal ≤ rate + 1). */
    mostInOneSecond: number;
  };
  /** Healthy or rate-limited deliveries that never arrived or did not verify. */
  errors: number;
}

type Phase = 'warm-up' | 'absent' | 'present' | 'present-proven';

/** A receiver that never answers: every attempt waits out the webhook's timeout (the sender hangs up). */
const NEVER_ANSWERS = [{ status: 200, delayMs: 3_600_000 }];

/** Healthy deliveries before the measured phases, at the same pace. */
const WARM_UP_SECONDS = 2;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Publishes `count` events evenly over time, tagged with their phase; resolves when all are accepted. */
async function publishSteadily(api: BenchApi, count: number, perSecond: number, phase: Phase): Promise<number> {
  const started = Date.now();
  const accepted: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    await sleep(started + (i * 1000) / perSecond - Date.now());
    accepted.push(publishEvent(api, { phase }));
  }
  await Promise.all(accepted);
  return started;
}

const ofPhase = (deliveries: Received[], phase: Phase) =>
  deliveries.filter((delivery) => (JSON.parse(delivery.body) as { data: { phase?: Phase } }).data.phase === phase);

/** The largest number of arrivals less than a second apart from the first of them. */
export function mostInOneSecond(arrivals: number[]): number {
  const sorted = [...arrivals].sort((a, b) => a - b);
  let most = 0;
  let first = 0;
  for (let last = 0; last < sorted.length; last++) {
    while ((sorted[last] as number) - (sorted[first] as number) >= 1000) first++;
    most = Math.max(most, last - first + 1);
  }
  return most;
}

/** One phase: the events published at the workload's pace, then every healthy delivery waited for. */
async function runPhase(
  workload: NoisyWorkload,
  receiving: Receiving,
  healthy: BenchWebhook[],
  phase: Phase,
  { seconds, eventsBefore }: { seconds: number; eventsBefore: number },
): Promise<{ figures: PhaseFigures; deliveries: Received[] }> {
  const events = workload.eventsPerSecond * seconds;
  const started = await publishSteadily(workload, events, workload.eventsPerSecond, phase);
  // Polled slowly: the receiver and the SQL endpoint share this process, and latency is the receiver's clock.
  const all = await receiving.waitFor(healthy, (eventsBefore + events) * healthy.length, {
    pollMs: 500,
    timeoutMs: 180_000,
  });
  const deliveries = ofPhase(all, phase).filter((delivery) => delivery.verifiedWith.length > 0);
  const latencies = eventToDeliveryMs(deliveries);
  const last = Math.max(started, ...deliveries.map((delivery) => delivery.receivedAt));
  return {
    deliveries,
    figures: {
      expected: events * healthy.length,
      received: deliveries.length,
      p50Ms: percentile(latencies, 0.5),
      p99Ms: percentile(latencies, 0.99),
      maxMs: latencies.at(-1) ?? Number.NaN,
      laterThanHangTimeout: latencies.filter((ms) => ms > workload.hangTimeoutMs).length,
      seconds: (last - started) / 1000,
    },
  };
}

/** The hanging webhooks' deliveries and attempts, as the service recorded them. */
async function hangingAttempts(databaseUrl: string, webhooks: BenchWebhook[]): Promise<NoisyFigures['hanging']> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<NoisyFigures['hanging']>(
      `select count(*)::int as deliveries,
         (count(*) filter (where d.attempts > 0))::int as "attemptedDeliveries",
         (count(*) filter (where d.status = 'skipped' and d.attempts = 0))::int as "skippedUnattempted",
         coalesce(sum(a.attempts), 0)::int as attempts,
         coalesce(sum(a.duration_ms), 0)::float8 / 1000 as "laneSeconds"
       from deliveries d
       left join lateral (
         select count(*) as attempts, sum(duration_ms) as duration_ms from delivery_attempts where delivery_id = d.id
       ) a on true
       where d.webhook_id = any($1::uuid[])`,
      [webhooks.map((webhook) => webhook.webhookId)],
    );
    return rows[0] as NoisyFigures['hanging'];
  } finally {
    await client.end();
  }
}

/** The hanging webhooks' short timeout; `answeredBefore`: as if each had answered a delivery with a 2xx. */
async function setHanging(
  databaseUrl: string,
  webhooks: BenchWebhook[],
  timeoutMs: number,
  answeredBefore: boolean,
): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query(
      `update webhooks set timeout_ms = $2, last_success_at = case when $3 then now() - interval '1 hour' end
       where id = any($1::uuid[])`,
      [webhooks.map((webhook) => webhook.webhookId), timeoutMs, answeredBefore],
    );
  } finally {
    await client.end();
  }
}

export async function measureNoisyNeighbours(workload: NoisyWorkload): Promise<NoisyFigures> {
  const receiving = await startReceiving(workload);
  const began = Date.now();
  try {
    const events = workload.eventsPerSecond * workload.seconds;
    const healthy: BenchWebhook[] = [];
    for (let i = 0; i < workload.healthyWebhooks; i++) healthy.push(await receiving.addWebhook());
    workload.log(
      `noisy neighbours: ${events} events at ${workload.eventsPerSecond}/s to ${workload.healthyWebhooks} healthy webhooks alone`,
    );
    // Not measured: the first deliveries after the Worker starts (--noisy-only) pay for its cold start.
    const warmUp = workload.eventsPerSecond * WARM_UP_SECONDS;
    await runPhase(workload, receiving, healthy, 'warm-up', { seconds: WARM_UP_SECONDS, eventsBefore: 0 });
    const absent = await runPhase(workload, receiving, healthy, 'absent', {
      seconds: workload.seconds,
      eventsBefore: warmUp,
    });

    const addHanging = async (answeredBefore: boolean) => {
      const added: BenchWebhook[] = [];
      for (let i = 0; i < workload.hangingWebhooks; i++) {
        added.push(await receiving.addWebhook({ responses: NEVER_ANSWERS }));
      }
      await setHanging(workload.databaseUrl, added, workload.hangTimeoutMs, answeredBefore);
      return added;
    };
    const hanging = await addHanging(false);
    const limited = await receiving.addWebhook({ rateLimitPerSecond: workload.rateLimitPerSecond });
    workload.log(
      `noisy neighbours: the same beside ${workload.hangingWebhooks} hanging (timeout ${workload.hangTimeoutMs} ms) and 1 limited to ${workload.rateLimitPerSecond}/s`,
    );
    const present = await runPhase(workload, receiving, healthy, 'present', {
      seconds: workload.seconds,
      eventsBefore: warmUp + events,
    });
    hanging.push(...(await addHanging(true)));
    workload.log(
      `noisy neighbours: the same beside ${workload.hangingWebhooks} more hanging, these having answered before`,
    );
    const presentProven = await runPhase(workload, receiving, healthy, 'present-proven', {
      seconds: workload.seconds,
      eventsBefore: warmUp + 2 * events,
    });
    // The rate-limited webhook drains its backlog at its rate; attempts still hanging get recorded.
    const limitedDeliveries = await receiving.waitFor([limited], 2 * events, {
      pollMs: 500,
      timeoutMs: Math.max(workload.hangTimeoutMs + 2000, ((2 * events) / workload.rateLimitPerSecond) * 1000),
    });
    await sleep(workload.hangTimeoutMs + 2000);
    const hangingFigures = await hangingAttempts(workload.databaseUrl, hanging);
    const limitedVerified = limitedDeliveries.filter((delivery) => delivery.verifiedWith.length > 0);
    workload.log(`noisy neighbours: done in ${((Date.now() - began) / 1000).toFixed(0)} s`);
    return {
      healthyWebhooks: workload.healthyWebhooks,
      hangingWebhooks: workload.hangingWebhooks,
      hangTimeoutMs: workload.hangTimeoutMs,
      rateLimitPerSecond: workload.rateLimitPerSecond,
      eventsPerPhase: events,
      eventsPerSecond: workload.eventsPerSecond,
      absent: absent.figures,
      present: present.figures,
      presentProven: presentProven.figures,
      hanging: hangingFigures,
      rateLimited: {
        expected: 2 * events,
        received: limitedVerified.length,
        mostInOneSecond: mostInOneSecond(limitedVerified.map((delivery) => delivery.receivedAt)),
      },
      errors:
        absent.figures.expected -
        absent.figures.received +
        present.figures.expected -
        present.figures.received +
        presentProven.figures.expected -
        presentProven.figures.received +
        2 * events -
        limitedVerified.length,
    };
  } finally {
    await receiving.close();
  }
}
