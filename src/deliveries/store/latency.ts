import { LATENCY_BOUNDS_MS } from '../../db/schema.ts';

/** The rollup's latency bucket (0-based) an attempt of `durationMs` falls in: the first bound it is under. */
export function latencyBucket(durationMs: number): number {
  const index = LATENCY_BOUNDS_MS.findIndex((bound) => durationMs < bound);
  return index === -1 ? LATENCY_BOUNDS_MS.length : index;
}
