// The distance run: what a caller waits for when Postgres is far from the Worker. The local database
// stand-in delays every message by a one-way delay in each direction and counts round trips (each
// exchange in which the Worker waited for the database, connection set-up included); requests go one
// at a time, so latency is round trips × RTT plus the work in between.
import type { LoadPlan, LoadResult } from './load.ts';

export interface DistanceFigures {
  workload: string;
  rttMs: number;
  requests: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  roundTripsPerRequest: number;
  errors: number;
}

export interface DistanceWorkload {
  name: string;
  /** The requests to send; `expected` is the status every one must get. */
  plan: (requests: number) => Omit<LoadPlan, 'concurrency'>;
  expected: number;
}

/** Control endpoints of a database stand-in: POST /distance, GET /round-trips. */
export interface DistanceControl {
  controlUrl: string;
}

async function setOneWayDelay(control: DistanceControl, oneWayDelayMs: number): Promise<void> {
  const response = await fetch(`${control.controlUrl}/distance`, {
    method: 'POST',
    body: JSON.stringify({ oneWayDelayMs }),
  });
  if (!response.ok) throw new Error(`the database stand-in refused the delay: ${response.status}`);
}

async function roundTrips(control: DistanceControl): Promise<number> {
  return ((await (await fetch(`${control.controlUrl}/round-trips`)).json()) as { roundTrips: number }).roundTrips;
}

export async function measureDistance(
  control: DistanceControl,
  workloads: DistanceWorkload[],
  rttsMs: number[],
  requests: number,
  runLoad: (plan: LoadPlan) => Promise<LoadResult>,
  log: (message: string) => void,
): Promise<DistanceFigures[]> {
  const figures: DistanceFigures[] = [];
  try {
    for (const rttMs of rttsMs) {
      await setOneWayDelay(control, rttMs / 2);
      for (const workload of workloads) {
        const before = await roundTrips(control);
        const result = await runLoad({ ...workload.plan(requests), concurrency: 1 });
        const after = await roundTrips(control);
        const row: DistanceFigures = {
          workload: workload.name,
          rttMs,
          requests: result.requests,
          latencyP50Ms: result.latenciesMs.p50,
          latencyP99Ms: result.latenciesMs.p99,
          roundTripsPerRequest: (after - before) / result.requests,
          errors: result.requests - (result.statuses[String(workload.expected)] ?? 0),
        };
        figures.push(row);
        log(
          `distance ${rttMs} ms RTT, ${workload.name}: p50 ${row.latencyP50Ms} ms, p99 ${row.latencyP99Ms} ms, ` +
            `${row.roundTripsPerRequest.toFixed(2)} round trips/request, ${row.errors} errors`,
        );
      }
    }
  } finally {
    await setOneWayDelay(control, 0);
  }
  return figures;
}
