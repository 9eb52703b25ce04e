import { Hono } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { readConfig } from '../config.ts';
import type { AppEnv } from '../env.ts';
import { secretBox } from '../lib/secret-box.ts';
import { authenticate } from '../middleware/authenticate.ts';
import { preconnect } from '../middleware/database.ts';
import { idempotencyKey } from '../middleware/idempotency-key.ts';
import { jsonBody } from '../middleware/json-body.ts';
import { rateLimitCreates } from '../middleware/rate-limit.ts';
import { requireScope } from '../middleware/require-scope.ts';
import { validateJson } from '../middleware/validate-json.ts';
import { createWebhook } from '../webhooks/create-webhook.ts';
import { createWebhookSchema } from '../webhooks/create-webhook-schema.ts';

/** The largest valid body is about 220 KiB (50 headers of 4096 characters); this leaves room for JSON escapes. */
export const MAX_BODY_BYTES = 512 * 1024;

export const webhooks = new Hono<AppEnv>();

// Checks run in the contract's order: 401 → 403 scope → 429 → 415/413 → 400 → 403 company / 422.
webhooks.post(
  '/',
  authenticate(),
  requireScope('write:webhooks'),
  rateLimitCreates(),
  // From here on the request will almost surely reach the insert: overlap the connection's round
  // trips with reading, validating and sealing the body.
  preconnect(),
  jsonBody(MAX_BODY_BYTES),
  validateJson(createWebhookSchema),
  idempotencyKey(),
  async (c) => {
    const result = await createWebhook({
      db: c.var.db(),
      secrets: secretBox(c.env.ENCRYPTION_KEYS),
      apiKey: c.var.apiKey,
      body: c.req.valid('json'),
      maxWebhooksPerAccount: readConfig(c.env).maxWebhooksPerAccount,
      requestId: c.var.requestId,
      idempotency: c.var.idempotency,
    });
    const replayHeaders =
      result.kind === 'replayed'
        ? { 'Idempotent-Replayed': 'true', 'Original-Request-Id': result.originalRequestId }
        : {};
    // The body is sent as first serialised, so a replay is byte for byte the original response.
    return c.body(result.body, result.status as ContentfulStatusCode, {
      'Content-Type': 'application/json',
      ...replayHeaders,
    });
  },
);
