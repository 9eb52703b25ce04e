import { Hono } from 'hono';
import { readConfig } from '../config.ts';
import type { AppEnv } from '../env.ts';
import { successEnvelope } from '../lib/envelope.ts';
import { secretBox } from '../lib/secret-box.ts';
import { authenticate } from '../middleware/authenticate.ts';
import { jsonBody } from '../middleware/json-body.ts';
import { requireScope } from '../middleware/require-scope.ts';
import { validateJson } from '../middleware/validate-json.ts';
import { createWebhook } from '../webhooks/create-webhook.ts';
import { createWebhookSchema } from '../webhooks/create-webhook-schema.ts';

/** The largest valid body is about 220 KiB (50 headers of 4096 characters); this leaves room for JSON escapes. */
export const MAX_BODY_BYTES = 512 * 1024;

export const webhooks = new Hono<AppEnv>();

// Checks run in the contract's order: 401 → 403 scope → 415/413 → 400 → 403 company.
webhooks.post(
  '/',
  authenticate(),
  requireScope('write:webhooks'),
  jsonBody(MAX_BODY_BYTES),
  validateJson(createWebhookSchema),
  async (c) => {
    const webhook = await createWebhook({
      db: c.var.db(),
      secrets: secretBox(c.env.ENCRYPTION_KEYS),
      apiKey: c.var.apiKey,
      body: c.req.valid('json'),
      maxWebhooksPerAccount: readConfig(c.env).maxWebhooksPerAccount,
    });
    return c.json(successEnvelope(webhook), 201);
  },
);
