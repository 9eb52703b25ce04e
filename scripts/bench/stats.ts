// The stats workload of `npm run bench` (issue 17): GET /webhooks/{id}/stats of a webhook with 100,000
// deliveries in its 24-hour window and 30 days of attempt rollups (8,640 five-minute rows), one request
// at a time. The rows are inserted in bulk, as they would have accumulated, then vacuumed and analysed as
// autovacuum would have left them (the status counts are an index-only scan, which needs the visibility map).
import pg from 'pg';
import type { LoadPlan, LoadResult } from './load.ts';

export interface StatsFigures {
  deliveriesInWindow: number;
  rollupRows: number;
  requests: number;
  /** End to end: the Worker, its statement through the local SQL endpoint, Postgres. */
  window24hP50Ms: number;
  window24hP99Ms: number;
  window30dP50Ms: number;
  window30dP99Ms: number;
  statementsPerRequest: number;
  errors: number;
}

export interface StatsWorkload {
  base: string;
  databaseUrl: string;
  account: { accountId: string; token: string };
  deliveries: number;
  requests: number;
  sqlControlUrl: string;
  runLoad: (plan: LoadPlan) => Promise<LoadResult>;
  log: (message: string) => void;
}

const BUCKETS_30_DAYS = 30 * 288;
const LATENCY_COLUMNS = Array.from({ length: 16 }, (_, index) => `latency_${index}`).join(', ');

async function seedWebhookHistory(databaseUrl: string, accountId: string, webhookId: string, deliveries: number) {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    // Spread over the last 22 hours, one status in twenty failed, pending or skipped.
    const spacing = (22 * 3600) / deliveries;
    await client.query(
      `insert into events (account_id, id, type, occurred_at, data, created_at)
       select $1::uuid, 'bench-stats-' || n, 'INTERVIEW_COMPLETED', t, '{}', t
       from generate_series(1, $2::int) n, lateral (select now() - n * $3::float8 * interval '1 second' as t) x`,
      [accountId, deliveries, spacing],
    );
    await client.query(
      `insert into deliveries (id, account_id, webhook_id, event_id, event_type, status, attempts, created_at)
       select gen_random_uuid(), $1::uuid, $2::uuid, 'bench-stats-' || n, 'INTERVIEW_COMPLETED',
         (case n % 20 when 0 then 'failed' when 1 then 'pending' when 2 then 'skipped' else 'succeeded' end)::delivery_status,
         1, now() - n * $4::float8 * interval '1 second'
       from generate_series(1, $3::int) n`,
      [accountId, webhookId, deliveries, spacing],
    );
    await client.query(
      `insert into webhook_attempt_stats (webhook_id, bucket_start, attempts, succeeded, failed, ${LATENCY_COLUMNS})
       select $1::uuid, to_timestamp(floor(extract(epoch from now()) / 300) * 300) - n * interval '5 minutes',
         400, 380, 20, 10, 40, 120, 90, 50, 30, 20, 15, 10, 6, 4, 2, 1, 1, 1, 0
       from generate_series(0, $2::int - 1) n`,
      [webhookId, BUCKETS_30_DAYS],
    );
    await client.query('vacuum analyze events, deliveries, webhook_attempt_stats');
  } finally {
    await client.end();
  }
}

async function statementCount(controlUrl: string): Promise<number> {
  return ((await (await fetch(`${controlUrl}/round-trips`)).json()) as { statementCount: number }).statementCount;
}

export async function measureStats(workload: StatsWorkload): Promise<StatsFigures> {
  const { base, account, log } = workload;
  const created = await fetch(`${base}/webhooks`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${account.token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ url: 'https://hooks.example.com/stats', events: ['INTERVIEW_COMPLETED'] }),
  });
  if (created.status !== 201) throw new Error(`creating the stats webhook answered ${created.status}`);
  const webhookId = ((await created.json()) as { data: { id: string } }).data.id;
  log(`stats: seeding ${workload.deliveries} deliveries and ${BUCKETS_30_DAYS} rollup rows`);
  await seedWebhookHistory(workload.databaseUrl, account.accountId, webhookId, workload.deliveries);

  const plan = (window: string): LoadPlan => ({
    url: `${base}/webhooks/${webhookId}/stats?window=${window}`,
    method: 'GET',
    body: '',
    concurrency: 1,
    tokens: Array(workload.requests).fill(account.token),
  });
  // Warm-up: the key into KV, the plans into Postgres's caches.
  await workload.runLoad({ ...plan('24h'), tokens: Array(20).fill(account.token) });
  const before = await statementCount(workload.sqlControlUrl);
  const day = await workload.runLoad(plan('24h'));
  const month = await workload.runLoad(plan('30d'));
  const statements = (await statementCount(workload.sqlControlUrl)) - before;
  const check = await fetch(`${base}/webhooks/${webhookId}/stats?window=24h`, {
    headers: { Authorization: `Bearer ${account.token}` },
  });
  const counted = ((await check.json()) as { data: { deliveries: Record<string, number> } }).data.deliveries;
  const inWindow = Object.values(counted).reduce((sum, count) => sum + count, 0);
  return {
    deliveriesInWindow: inWindow,
    rollupRows: BUCKETS_30_DAYS,
    requests: day.requests + month.requests,
    window24hP50Ms: day.latenciesMs.p50,
    window24hP99Ms: day.latenciesMs.p99,
    window30dP50Ms: month.latenciesMs.p50,
    window30dP99Ms: month.latenciesMs.p99,
    statementsPerRequest: statements / (day.requests + month.requests),
    errors: day.requests + month.requests - (day.statuses['200'] ?? 0) - (month.statuses['200'] ?? 0),
  };
}
