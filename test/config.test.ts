// What the service does when wrangler.toml or the environment leaves a setting out, or gets it wrong:
// the documented defaults, never a crash. (The tests themselves run with shorter retries and a lower
// circuit threshold: vitest.config.ts.)
import { describe, expect, it } from 'vitest';
import { readConfig } from '../src/config.ts';

/** An environment with none of the optional settings: each test gets its own, since configs are cached per env. */
const bare = (settings: Partial<Record<keyof Env, string>> = {}) => settings as unknown as Env;

describe('configuration defaults', () => {
  it('retries after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h; opens the circuit at 10 failures for an hour; disables after 5 days', () => {
    expect(readConfig(bare()).delivery).toEqual({
      retryScheduleSeconds: [5, 300, 1800, 7200, 18000, 36000, 36000],
      circuitFailureThreshold: 10,
      circuitCoolDownSeconds: 3600,
      allowPrivateTargets: false,
      serviceHostnames: [],
      replays: { limit: 10, periodSeconds: 60 },
      autoDisableAfterSeconds: 432_000,
      operationsWebhook: null,
    });
  });

  it('reads SERVICE_HOSTNAMES as a comma-separated list of lowercase names', () => {
    expect(
      readConfig(bare({ SERVICE_HOSTNAMES: ' Hooks.Example.com, ,api.example.com' })).delivery.serviceHostnames,
    ).toEqual(['hooks.example.com', 'api.example.com']);
  });

  it('limits creates to 60, reads to 600, other writes to 120 a minute per key, unknown keys to 20 per address', () => {
    const config = readConfig(bare());
    expect(config.rateLimits).toEqual({
      create: { limit: 60, periodSeconds: 60 },
      read: { limit: 600, periodSeconds: 60 },
      write: { limit: 120, periodSeconds: 60 },
      unknownKeys: { limit: 20, periodSeconds: 60 },
    });
    expect(config.maxWebhooksPerAccount).toBe(100);
    expect(config.tokenCacheTtlSeconds).toBe(300);
  });

  it('falls back to the defaults for values it cannot read, and clamps the token cache TTL to an hour', () => {
    const config = readConfig(
      bare({
        DELIVERY_RETRY_SCHEDULE: '5,soon,60',
        CIRCUIT_FAILURE_THRESHOLD: '-1',
        CIRCUIT_COOL_DOWN_SECONDS: '1.5',
        TOKEN_CACHE_TTL_SECONDS: '86400',
      }),
    );
    expect(config.delivery.retryScheduleSeconds).toEqual([5, 300, 1800, 7200, 18000, 36000, 36000]);
    expect(config.delivery.circuitFailureThreshold).toBe(10);
    expect(config.delivery.circuitCoolDownSeconds).toBe(3600);
    expect(config.tokenCacheTtlSeconds).toBe(3600);
    expect(readConfig(bare({ DELIVERY_RETRY_SCHEDULE: '90000' })).delivery.retryScheduleSeconds).toEqual([
      5, 300, 1800, 7200, 18000, 36000, 36000,
    ]);
  });
});
