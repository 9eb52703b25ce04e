// The Worker `npm run bench` runs: the service unchanged, plus (only with BENCH_ROUTES=enabled) the
// baseline it is measured against. This file is never the deployed entry (wrangler.toml's main is
// src/index.ts), so the baseline route cannot reach production.
import type { Pool } from '@neondatabase/serverless';
import { createPool } from '../src/db/client.ts';
import service from '../src/index.ts';
import { logInfo } from '../src/lib/log.ts';

interface BenchEnv extends Env {
  BENCH_ROUTES?: string;
  BENCH_ACCOUNT_ID?: string;
  BENCH_API_KEY_ID?: string;
  /** TOKEN_CACHE entry of a warmed key, so the KV probe reads a hit like a cached-key create. */
  BENCH_KV_KEY?: string;
}

const BENCH_PREFIX = '/__bench/';

// What a create stores, fixed: the baseline does none of the work of producing it.
const SEALED = `v1.bench.${'A'.repeat(16)}.${'B'.repeat(86)}`;
const EVENTS = '{INTERVIEW_COMPLETED,ANALYSIS_FAILED}';
const HEADER_NAMES = '{Authorization,X-Partner-Id}';

/**
 * The least work a create could do on this stack: a pool, one INSERT of the same row with the same
 * driver, the pool ended after the response. No auth, validation, crypto, Hono or drizzle.
 */
async function bareInsert(env: BenchEnv, ctx: ExecutionContext): Promise<Response> {
  const pool: Pool = createPool(env, 'webhooks bench bare-insert');
  try {
    const id = crypto.randomUUID();
    const now = new Date().toISOString();
    await pool.query(
      `insert into webhooks (id, account_id, api_key_id, company_id, url, events, name, description, header_names,
         header_values_sealed, signing_secret_sealed, max_retries, timeout_ms, created_at, updated_at)
       values ($1, $2, $3, null, $4, $5, $6, null, $7, $8, $9, 3, 30000, $10, $10)`,
      [
        id,
        env.BENCH_ACCOUNT_ID,
        env.BENCH_API_KEY_ID,
        'https://hooks.example.com/instaview',
        EVENTS,
        'bench',
        HEADER_NAMES,
        SEALED,
        SEALED,
        now,
      ],
    );
    return new Response(`{"id":"${id}"}`, { status: 201, headers: { 'Content-Type': 'application/json' } });
  } finally {
    ctx.waitUntil(pool.end());
  }
}

/**
 * One platform operation a create performs, alone: what it costs in local workerd (where Miniflare
 * simulates KV and the rate limiter in-process, and wrangler forwards console output) is measured
 * against `noop` and reported beside the create.
 */
let probeCalls = 0;
const PROBES: Record<string, (env: BenchEnv) => Promise<unknown>> = {
  noop: async () => undefined,
  'kv-get': (env) => env.TOKEN_CACHE.get(env.BENCH_KV_KEY ?? '', 'text'),
  // Existing buckets, each kept under the limit, as the creates' keys are.
  'rate-limit': (env) => env.CREATE_WEBHOOK_RATE_LIMITER.limit({ key: `probe-${probeCalls++ % 500}` }),
  'log-line': async () =>
    logInfo('request', {
      requestId: crypto.randomUUID(),
      method: 'POST',
      path: '/webhooks',
      status: 201,
      durationMs: 12,
      apiKeyId: '00000000-0000-4000-8000-000000000000',
      accountId: '00000000-0000-4000-8000-000000000000',
      tokenCache: 'hit',
      rateLimiter: 'binding',
    }),
};

export default {
  async fetch(request, env, ctx) {
    const at = request.url.indexOf(BENCH_PREFIX);
    if (env.BENCH_ROUTES === 'enabled' && request.method === 'POST' && at !== -1) {
      const name = request.url.slice(at + BENCH_PREFIX.length);
      if (name === 'bare-insert') return bareInsert(env, ctx);
      const probe = PROBES[name];
      if (probe) {
        await probe(env);
        return new Response(null, { status: 201 });
      }
    }
    return service.fetch(request, env, ctx);
  },
  scheduled: service.scheduled,
} satisfies ExportedHandler<BenchEnv>;
