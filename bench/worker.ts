// The Worker `npm run bench` runs: the service unchanged, plus (only with BENCH_ROUTES=enabled) the
// baseline it is measured against. This file is never the deployed entry (wrangler.toml's main is
// src/index.ts), so the baseline route cannot reach production.
import type { Pool } from '@neondatabase/serverless';
import { createPool } from '../src/db/client.ts';
import service from '../src/index.ts';

interface BenchEnv extends Env {
  BENCH_ROUTES?: string;
  BENCH_ACCOUNT_ID?: string;
  BENCH_API_KEY_ID?: string;
}

const BARE_INSERT_PATH = '/__bench/bare-insert';

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

export default {
  fetch(request, env, ctx) {
    if (env.BENCH_ROUTES === 'enabled' && request.method === 'POST' && request.url.endsWith(BARE_INSERT_PATH)) {
      return bareInsert(env, ctx);
    }
    return service.fetch(request, env, ctx);
  },
  scheduled: service.scheduled,
} satisfies ExportedHandler<BenchEnv>;
