// What GET /webhooks/{id}/stats answers, from what its statement returns (store/stats.ts): the window and
// its series buckets, latency percentiles from the rollup's histograms, the circuit's state.
import { LATENCY_BOUNDS_MS } from '../db/schema.ts';
import { LATENCY_BUCKETS, type StatsBucket, type WebhookStatsRow } from './store/stats.ts';

export const STATS_WINDOWS = ['1h', '24h', '7d', '30d'] as const;
export type StatsWindow = (typeof STATS_WINDOWS)[number];

/** Each window's series: buckets of this many seconds, this many of them (the last one holds now). */
export const SERIES: Record<StatsWindow, { stepSeconds: number; buckets: number }> = {
  '1h': { stepSeconds: 300, buckets: 12 },
  '24h': { stepSeconds: 3600, buckets: 24 },
  '7d': { stepSeconds: 6 * 3600, buckets: 28 },
  '30d': { stepSeconds: 86_400, buckets: 30 },
};

/** The window's first bucket start: whole buckets, so `from` is up to one bucket earlier than now − window. */
export function windowStart(window: StatsWindow, now: number): Date {
  const { stepSeconds, buckets } = SERIES[window];
  const step = stepSeconds * 1000;
  return new Date(Math.floor(now / step) * step - (buckets - 1) * step);
}

/**
 * The latency below which `fraction` of the attempts fall, interpolated within its histogram bucket (the
 * rollup keeps counts per bucket, not each duration). The open last bucket answers its lower bound.
 */
export function latencyPercentile(histogram: readonly number[], fraction: number): number | null {
  const total = histogram.reduce((sum, count) => sum + count, 0);
  if (total === 0) return null;
  const rank = fraction * total;
  let below = 0;
  for (let index = 0; index < LATENCY_BUCKETS; index++) {
    const count = histogram[index] ?? 0;
    const lower = index === 0 ? 0 : (LATENCY_BOUNDS_MS[index - 1] ?? 0);
    const upper = LATENCY_BOUNDS_MS[index];
    if (count > 0 && below + count >= rank) {
      if (upper === undefined) return lower;
      return Math.round(lower + ((upper - lower) * (rank - below)) / count);
    }
    below += count;
  }
  return LATENCY_BOUNDS_MS[LATENCY_BOUNDS_MS.length - 1] ?? null;
}

const addHistograms = (a: readonly number[], b: readonly number[]) =>
  Array.from({ length: LATENCY_BUCKETS }, (_, index) => (a[index] ?? 0) + (b[index] ?? 0));

export interface CircuitState {
  state: 'closed' | 'open' | 'half_open';
  nextProbeAt: string | null;
}

/** Open during its cool-down; half open after it, when the next delivery goes through as the probe. */
export function circuitState(openedAt: string | null, coolDownSeconds: number, now: number): CircuitState {
  if (openedAt === null) return { state: 'closed', nextProbeAt: null };
  const probeAt = Date.parse(openedAt) + coolDownSeconds * 1000;
  return { state: probeAt > now ? 'open' : 'half_open', nextProbeAt: new Date(probeAt).toISOString() };
}

export function toStats(row: WebhookStatsRow, window: StatsWindow, from: Date, now: number, coolDownSeconds: number) {
  const { stepSeconds, buckets } = SERIES[window];
  const byStart = new Map(row.buckets.map((bucket) => [Date.parse(bucket.start), bucket]));
  const empty = new Array<number>(LATENCY_BUCKETS).fill(0);
  const series = Array.from({ length: buckets }, (_, index): StatsBucket => {
    const start = from.getTime() + index * stepSeconds * 1000;
    return (
      byStart.get(start) ?? {
        start: new Date(start).toISOString(),
        attempts: 0,
        succeeded: 0,
        failed: 0,
        latency: empty,
      }
    );
  });
  const all = series.reduce((sum, bucket) => addHistograms(sum, bucket.latency), empty);
  const count = (status: string) => row.statuses.find((entry) => entry.status === status)?.count ?? 0;
  const attempts = series.reduce((sum, bucket) => sum + bucket.attempts, 0);
  const succeeded = series.reduce((sum, bucket) => sum + bucket.succeeded, 0);
  return {
    window,
    from: from.toISOString(),
    to: new Date(now).toISOString(),
    deliveries: {
      succeeded: count('succeeded'),
      failed: count('failed'),
      pending: count('pending'),
      skipped: count('skipped'),
    },
    attempts,
    successRate: attempts === 0 ? null : succeeded / attempts,
    latencyMs: { p50: latencyPercentile(all, 0.5), p95: latencyPercentile(all, 0.95) },
    lastSuccessAt: row.lastSuccessAt,
    lastFailureAt: row.lastFailureAt,
    failingSince: row.failingSince,
    circuit: circuitState(row.circuitOpenedAt, coolDownSeconds, now),
    series: series.map((bucket) => ({
      start: new Date(bucket.start).toISOString(),
      attempts: bucket.attempts,
      succeeded: bucket.succeeded,
      failed: bucket.failed,
      p50: latencyPercentile(bucket.latency, 0.5),
      p95: latencyPercentile(bucket.latency, 0.95),
    })),
  };
}
