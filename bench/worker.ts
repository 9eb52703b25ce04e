// The Worker `npm run bench` runs: the service unchanged, plus (only with BENCH_ROUTES=enabled) the
// baseline it is measured against. This file is never the deployed entry (wrangler.toml's main is
// src/index.ts), so the baseline route cannot reach production.
import { Client, type ClientConfig, neon, Pool } from '@neondatabase/serverless';
import service from '../src/index.ts';
import { logInfo } from '../src/lib/log.ts';

interface BenchEnv extends Env {
  BENCH_ROUTES?: string;
  BENCH_ACCOUNT_ID?: string;
  BENCH_API_KEY_ID?: string;
  /** TOKEN_CACHE entry of a warmed key, so the KV probe reads a hit like a cached-key create. */
  BENCH_KV_KEY?: string;
  /** host:port/v1 of the WebSocket relay, for the transport comparison (the service no longer uses it). */
  BENCH_WS_PROXY?: string;
  /** The database as the relay reaches it (DATABASE_URL points at the HTTP stand-in). */
  BENCH_WS_DATABASE_URL?: string;
}

const BENCH_PREFIX = '/__bench/';

// What a create stores, fixed: the baseline does none of the work of producing it.
const SEALED = `v1.bench.${'A'.repeat(16)}.${'B'.repeat(86)}`;
const EVENTS = '{INTERVIEW_COMPLETED,ANALYSIS_FAILED}';
const HEADER_NAMES = '{Authorization,X-Partner-Id}';
const INSERT = `insert into webhooks (id, account_id, api_key_id, company_id, url, events, name, description,
    header_names, headers_sealed, signing_secret_sealed, max_retries, timeout_ms, created_at, updated_at)
  values ($1, $2, $3, null, $4, $5, $6, null, $7, $8, $9, 3, 30000, $10, $10)`;

function insertParams(env: BenchEnv): (string | undefined)[] {
  const now = new Date().toISOString();
  return [
    crypto.randomUUID(),
    env.BENCH_ACCOUNT_ID,
    env.BENCH_API_KEY_ID,
    'https://hooks.example.com/instaview',
    EVENTS,
    'bench',
    HEADER_NAMES,
    SEALED,
    SEALED,
    now,
  ];
}

const created = (id: string | undefined) =>
  new Response(`{"id":"${id}"}`, { status: 201, headers: { 'Content-Type': 'application/json' } });

/**
 * The least work a create could do on this stack: one INSERT of the same row over the same transport
 * (Neon's HTTP endpoint), with no auth, validation, crypto, Hono or drizzle.
 */
async function bareInsert(env: BenchEnv): Promise<Response> {
  const params = insertParams(env);
  // createDatabase's connection string, so the stand-in tags the statement like the service's.
  const connectionString = new URL(env.DATABASE_URL);
  connectionString.searchParams.set('application_name', 'webhooks bench bare-insert');
  await neon(connectionString.toString()).query(INSERT, params);
  return created(params[0]);
}

/** The same insert over the WebSocket pool the service used before, for the transport comparison. */
async function bareInsertOverWebSocket(env: BenchEnv, ctx: ExecutionContext): Promise<Response> {
  const wsProxy = env.BENCH_WS_PROXY ?? '';
  const pool = new Pool({ connectionString: env.BENCH_WS_DATABASE_URL, max: 1 });
  pool.Client = class extends Client {
    constructor(config?: string | ClientConfig) {
      super(config);
      this.neonConfig.wsProxy = wsProxy;
      this.neonConfig.useSecureWebSocket = false;
      this.neonConfig.pipelineTLS = false;
      this.neonConfig.pipelineConnect = false;
    }
  };
  pool.on('error', () => {});
  try {
    const params = insertParams(env);
    await pool.query(INSERT, params);
    return created(params[0]);
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
      if (name === 'bare-insert') return bareInsert(env);
      if (name === 'bare-insert-websocket') return bareInsertOverWebSocket(env, ctx);
      const probe = PROBES[name];
      if (probe) {
        await probe(env);
        return new Response(null, { status: 201 });
      }
    }
    return service.fetch(request, env, ctx);
  },
  scheduled: service.scheduled,
  queue: service.queue,
} satisfies ExportedHandler<BenchEnv>;
