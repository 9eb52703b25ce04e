// GET /webhooks/{id}/stats: how a webhook's deliveries are going. The same admission, 404 and 403 rules
// as the delivery log (routes.ts); one statement (store/stats.ts).
import { sql } from 'drizzle-orm';
import { Hono } from 'hono/tiny';
import * as z from 'zod/mini';
import { readConfig } from '../config.ts';
import type { AppEnv } from '../http/env.ts';
import { successEnvelope } from '../http/envelope.ts';
import { storedCount } from '../http/integers.ts';
import { admit } from '../http/middleware/admit.ts';
import { validateQuery } from '../http/middleware/validate.ts';
import { describe } from '../openapi/describe.ts';
import { refusalOf, webhookIdFrom } from '../webhooks/refusals.ts';
import { reachable } from '../webhooks/store.ts';
import { SERIES, STATS_WINDOWS, toStats, windowStart } from './stats.ts';
import { webhookStats } from './store/stats.ts';

const timestamp = z.string().check(z.meta({ format: 'date-time' }));
/** A latency in ms, interpolated from the rollup's buckets (the slowest bucket starts at 10 s). */
const latency = z.nullable(z.int().check(z.minimum(0), z.maximum(60_000)));

const statsResource = z
  .object({
    window: z.enum(STATS_WINDOWS),
    from: timestamp.check(z.meta({ description: 'Start of the first series bucket: the window, in whole buckets' })),
    to: timestamp,
    deliveries: z
      .object({ succeeded: storedCount(), failed: storedCount(), pending: storedCount(), skipped: storedCount() })
      .check(z.meta({ description: 'Deliveries created in the window, by status now (test deliveries left out)' })),
    attempts: storedCount(),
    successRate: z
      .nullable(z.number().check(z.minimum(0), z.maximum(1)))
      .check(z.meta({ description: 'Share of the window’s attempts that succeeded; null without attempts' })),
    latencyMs: z.object({ p50: latency, p95: latency }),
    lastSuccessAt: z.nullable(timestamp),
    lastFailureAt: z.nullable(timestamp),
    failingSince: z.nullable(timestamp).check(z.meta({ description: 'Start of the current failure streak' })),
    circuit: z.object({
      state: z.enum(['closed', 'open', 'half_open']),
      nextProbeAt: z
        .nullable(timestamp)
        .check(z.meta({ description: 'When the cool-down ends and the next delivery goes through as a probe' })),
    }),
    series: z
      .array(
        z.object({
          start: timestamp,
          attempts: storedCount(),
          succeeded: storedCount(),
          failed: storedCount(),
          p50: latency,
          p95: latency,
        }),
      )
      .check(z.meta({ description: 'Attempts per bucket: 5 min (1h), 1 h (24h), 6 h (7d), 1 day (30d)' })),
  })
  .check(z.meta({ id: 'WebhookStats' }));

const statsQuery = z.strictObject({
  window: z.optional(
    z
      .enum(STATS_WINDOWS, { error: `Must be one of ${STATS_WINDOWS.join(', ')}` })
      .check(z.meta({ default: '24h', description: 'How far back: 1h, 24h, 7d or 30d' })),
  ),
});

export const stats = new Hono<AppEnv>();

stats.get(
  '/:id/stats',
  describe({
    operationId: 'getWebhookStats',
    summary: 'A webhook’s delivery stats',
    description:
      'Deliveries by status, attempts, success rate and latency over a window, with a series for a chart, and ' +
      'the circuit’s state. Attempts are counted in 5-minute buckets.',
    tags: ['Deliveries'],
    params: { id: 'The webhook id (a UUID)' },
    responses: { 200: { description: 'The stats', data: statsResource } },
    errors: ['RESOURCE_NOT_FOUND', 'RESOURCE_ACCESS_DENIED'],
  }),
  admit({ scope: 'read:webhooks', rateLimit: 'read' }),
  validateQuery(statsQuery),
  async (c) => {
    const webhookId = webhookIdFrom(c.req.param('id'));
    const window = c.req.valid('query').window ?? '24h';
    const apiKey = c.get('apiKey');
    const now = Date.now();
    const from = windowStart(window, now);
    const row = await webhookStats(
      c.get('db')(),
      {
        webhookId,
        accountId: apiKey.accountId,
        reachable: reachable(
          { accountId: apiKey.accountId, apiKeyId: apiKey.id, companyIds: apiKey.companyIds },
          sql`w`,
        ),
      },
      from.toISOString(),
      SERIES[window].stepSeconds,
    );
    if (!row.found) throw refusalOf({ kind: 'not-found' }, webhookId);
    if (!row.reachable) throw refusalOf({ kind: 'forbidden' }, webhookId);
    return c.json(successEnvelope(toStats(row, window, from, now, readConfig(c.env).delivery.circuitCoolDownSeconds)));
  },
);
