import { type Context, Hono } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { readConfig } from '../config.ts';
import type { AppEnv } from '../http/env.ts';
import { authenticate } from '../http/middleware/authenticate.ts';
import { idempotencyKey } from '../http/middleware/idempotency-key.ts';
import { jsonBody } from '../http/middleware/json-body.ts';
import { rateLimit } from '../http/middleware/rate-limit.ts';
import { requireScope } from '../http/middleware/require-scope.ts';
import { validateBody } from '../http/middleware/validate.ts';
import type { IdempotentResult } from '../idempotency/replay.ts';
import { secretBox } from '../lib/secret-box.ts';
import { createWebhook } from './create.ts';
import { createWebhookSchema } from './schema.ts';

/**
 * The largest valid create body is about 421 KiB: 50 header values of 4096 characters in U+0080–U+00FF
 * (two UTF-8 bytes each) with every other field at its maximum (test/body-limit.test.ts builds it).
 */
export const MAX_BODY_BYTES = 512 * 1024;

/** A write's response, sent as first serialised, so a replay is byte for byte the original. */
function idempotentResponse(c: Context<AppEnv>, result: IdempotentResult): Response {
  const replayHeaders: Record<string, string> =
    result.kind === 'replayed'
      ? { 'Idempotent-Replayed': 'true', 'Original-Request-Id': result.originalRequestId }
      : {};
  return c.body(result.body, result.status as ContentfulStatusCode, {
    'Content-Type': 'application/json',
    ...replayHeaders,
  });
}

export const webhooks = new Hono<AppEnv>();

// Checks run in the contract's order: 401 → 403 scope → 429 → 415/413 → 400 → 403 company / 422.
webhooks.post(
  '/',
  authenticate(),
  requireScope('write:webhooks'),
  rateLimit('create'),
  jsonBody(MAX_BODY_BYTES),
  validateBody(createWebhookSchema),
  idempotencyKey(),
  async (c) =>
    idempotentResponse(
      c,
      await createWebhook({
        db: c.var.db(),
        secrets: secretBox(c.env.ENCRYPTION_KEYS),
        apiKey: c.var.apiKey,
        body: c.req.valid('json'),
        maxWebhooksPerAccount: readConfig(c.env).maxWebhooksPerAccount,
        requestId: c.var.requestId,
        idempotency: c.var.idempotency,
      }),
    ),
);
