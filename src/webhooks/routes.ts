// The webhook resource's routes. Each chain reads top to bottom in the order its checks answer:
// admission (401 → 403 scope → 429), then the body (415/413/400) or query (400), then the operation
// (404 → 403 company → 412 → 422). `describe` is the operation's entry in GET /openapi.json.
import type { Context } from 'hono';
import { Hono } from 'hono/tiny';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import * as z from 'zod/mini';
import { readConfig } from '../config.ts';
import { publishStateEvents, type StateChangeMessage } from '../deliveries/state-events.ts';
import { acceptedRevisions, entityTag } from '../http/conditional.ts';
import { cursorScope, openCursor, sealCursor } from '../http/cursor.ts';
import type { AppEnv } from '../http/env.ts';
import { successEnvelope } from '../http/envelope.ts';
import { ApiError } from '../http/errors.ts';
import { storedCount } from '../http/integers.ts';
import { admit } from '../http/middleware/admit.ts';
import { idempotencyKey } from '../http/middleware/idempotency-key.ts';
import { jsonBody } from '../http/middleware/json-body.ts';
import { validateBody, validateQuery } from '../http/middleware/validate.ts';
import type { IdempotentResult } from '../idempotency/replay.ts';
import { secretBox } from '../lib/secret-box.ts';
import { describe } from '../openapi/describe.ts';
import { canReachCompany } from './access.ts';
import { createWebhook } from './create.ts';
import { acted, webhookIdFrom } from './refusals.ts';
import { createdWebhookResource, toWebhook, webhookResource } from './representation.ts';
import { rotateSecret } from './rotate.ts';
import {
  createWebhookSchema,
  DEFAULT_GRACE_PERIOD_SECONDS,
  listWebhooksQuery,
  MAX_PAGE_SIZE,
  rotateSecretSchema,
  updateWebhookSchema,
} from './schema.ts';
import { refuseSelfTarget } from './self-target.ts';
import {
  deleteWebhook,
  findWebhook,
  type ListFilters,
  listWebhooks,
  type Reader,
  resetCircuit,
  type StoredWebhook,
  updateWebhook,
} from './store.ts';
import { changesFrom } from './update.ts';

/**
 * The largest valid create body is about 425 KiB: 50 header values of 4096 characters in U+0080–U+00FF
 * (two UTF-8 bytes each) with every other field at its maximum (test/validation.test.ts builds it).
 */
export const MAX_BODY_BYTES = 512 * 1024;
/** A rotation's body is one optional number. */
const MAX_ROTATE_BODY_BYTES = 1024;

const TAGS = ['Webhooks'];
const ID_PARAM = { id: 'The webhook id (a UUID)' };
const ETAG = { ETag: 'The webhook revision, for If-Match' };
const IF_MATCH = {
  'If-Match': {
    description:
      'An ETag from an earlier response, with its quotes, such as "3" (or a comma-separated list of them, or *): ' +
      'the change is made only if the webhook is still at it (412 if not; 400 if the header is not ETags)',
  },
};

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

/** The webhook, with its revision as the ETag. */
function webhookResponse(c: Context<AppEnv>, webhook: StoredWebhook): Response {
  return c.json(successEnvelope(toWebhook(webhook)), 200, { ETag: entityTag(webhook.revision) });
}

function readerOf(c: Context<AppEnv>): Reader {
  const apiKey = c.get('apiKey');
  return { accountId: apiKey.accountId, apiKeyId: apiKey.id, companyIds: apiKey.companyIds };
}

const secretsOf = (c: Context<AppEnv>) => secretBox(c.env.ENCRYPTION_KEYS);

export const webhooks = new Hono<AppEnv>();

webhooks.post(
  '/',
  describe({
    operationId: 'createWebhook',
    summary: 'Create a webhook',
    description:
      'Registers an endpoint for event notifications. The response is the only one that carries the signing secret.',
    tags: TAGS,
    responses: { 201: { description: 'The webhook, with its signing secret', data: createdWebhookResource } },
    errors: ['RESOURCE_ACCESS_DENIED', 'WEBHOOK_LIMIT_REACHED', 'CONFLICT'],
  }),
  admit({ scope: 'write:webhooks', rateLimit: 'create' }),
  jsonBody(MAX_BODY_BYTES),
  validateBody(createWebhookSchema),
  idempotencyKey(),
  async (c) => {
    refuseSelfTarget(c, c.req.valid('json').url);
    return idempotentResponse(
      c,
      await createWebhook({
        db: c.get('db')(),
        secrets: secretsOf(c),
        apiKey: c.get('apiKey'),
        body: c.req.valid('json'),
        maxWebhooksPerAccount: readConfig(c.env).maxWebhooksPerAccount,
        requestId: c.get('requestId'),
        idempotency: c.get('idempotency'),
      }),
    );
  },
);

const webhookList = z.object({
  data: z.array(webhookResource),
  total: storedCount(),
  nextCursor: z.nullable(z.string()),
});

webhooks.get(
  '/',
  describe({
    operationId: 'listWebhooks',
    summary: 'List webhooks',
    description:
      'Newest first. A key limited to some companies sees their webhooks and the account-wide ones it created. ' +
      '`total` counts every webhook the filters match; follow `nextCursor` for the next page.',
    tags: TAGS,
    responses: { 200: { description: 'One page of webhooks', data: webhookList } },
    errors: ['RESOURCE_ACCESS_DENIED'],
  }),
  admit({ scope: 'read:webhooks', rateLimit: 'read' }),
  validateQuery(listWebhooksQuery),
  async (c) => {
    const query = c.req.valid('query');
    const reader = readerOf(c);
    const secrets = secretsOf(c);
    if (query.companyId !== undefined && !canReachCompany(c.get('apiKey'), query.companyId.toLowerCase())) {
      throw new ApiError('RESOURCE_ACCESS_DENIED', 'This API key cannot access the given company', {
        details: { companyId: query.companyId.toLowerCase() },
      });
    }
    const filters: ListFilters = {
      ...(query.companyId !== undefined ? { companyId: query.companyId.toLowerCase() } : {}),
      ...(query.isActive !== undefined ? { isActive: query.isActive } : {}),
      ...(query.event !== undefined ? { event: query.event } : {}),
    };
    const scope = cursorScope('webhooks', reader.apiKeyId, [filters.companyId, filters.isActive, filters.event]);
    const after = query.cursor === undefined ? undefined : await openCursor(secrets, scope, query.cursor);
    const limit = query.limit ?? MAX_PAGE_SIZE;
    const page = await listWebhooks(c.get('db')(), reader, filters, limit, after);
    return c.json(
      successEnvelope({
        data: page.webhooks.map(toWebhook),
        total: page.total,
        nextCursor: page.next ? await sealCursor(secrets, scope, page.next) : null,
      }),
    );
  },
);

webhooks.get(
  '/:id',
  describe({
    operationId: 'getWebhook',
    summary: 'Get a webhook',
    tags: TAGS,
    params: ID_PARAM,
    responses: { 200: { description: 'The webhook', data: webhookResource, headers: ETAG } },
    errors: ['RESOURCE_NOT_FOUND', 'RESOURCE_ACCESS_DENIED'],
  }),
  admit({ scope: 'read:webhooks', rateLimit: 'read' }),
  async (c) => {
    const id = webhookIdFrom(c.req.param('id'));
    return webhookResponse(c, acted(await findWebhook(c.get('db')(), readerOf(c), id), id));
  },
);

webhooks.patch(
  '/:id',
  describe({
    operationId: 'updateWebhook',
    summary: 'Update a webhook',
    description:
      'Changes only the fields sent, under the create rules. `headers` replaces the whole list; `companyId` cannot ' +
      'change. A `url` on another origin needs `headers` in the same body (the values again, or []): 400 otherwise.',
    tags: TAGS,
    params: ID_PARAM,
    headers: IF_MATCH,
    responses: { 200: { description: 'The updated webhook', data: webhookResource, headers: ETAG } },
    errors: ['RESOURCE_NOT_FOUND', 'RESOURCE_ACCESS_DENIED', 'PRECONDITION_FAILED'],
  }),
  admit({ scope: 'write:webhooks', rateLimit: 'write' }),
  jsonBody(MAX_BODY_BYTES),
  validateBody(updateWebhookSchema),
  async (c) => {
    const id = webhookIdFrom(c.req.param('id'));
    refuseSelfTarget(c, c.req.valid('json').url);
    const changes = await changesFrom(c.req.valid('json'), id, secretsOf(c));
    const target = { reader: readerOf(c), id, ifMatch: acceptedRevisions(c.req.header('If-Match')) };
    const updated = acted(await updateWebhook(c.get('db')(), target, changes, new Date()), id);
    await publishStateEvents(c.env.WEBHOOK_EVENTS as Queue<StateChangeMessage>, updated.stateEvents);
    return webhookResponse(c, updated);
  },
);

webhooks.delete(
  '/:id',
  describe({
    operationId: 'deleteWebhook',
    summary: 'Delete a webhook',
    description: 'Frees the account’s webhook slot. Its deliveries go with it: what was pending is never sent.',
    tags: TAGS,
    params: ID_PARAM,
    headers: IF_MATCH,
    responses: { 204: { description: 'Deleted; no body' } },
    // VALIDATION_ERROR: a malformed If-Match.
    errors: ['VALIDATION_ERROR', 'RESOURCE_NOT_FOUND', 'RESOURCE_ACCESS_DENIED', 'PRECONDITION_FAILED'],
  }),
  admit({ scope: 'write:webhooks', rateLimit: 'write' }),
  async (c) => {
    const id = webhookIdFrom(c.req.param('id'));
    const target = { reader: readerOf(c), id, ifMatch: acceptedRevisions(c.req.header('If-Match')) };
    acted(await deleteWebhook(c.get('db')(), target), id);
    return c.body(null, 204);
  },
);

webhooks.post(
  '/:id/reset-circuit',
  describe({
    operationId: 'resetWebhookCircuit',
    summary: 'Close a webhook’s circuit',
    description: 'Sets consecutiveFailures to 0 and circuitOpenedAt to null: deliveries resume at once.',
    tags: TAGS,
    params: ID_PARAM,
    responses: { 200: { description: 'The webhook', data: webhookResource, headers: ETAG } },
    errors: ['RESOURCE_NOT_FOUND', 'RESOURCE_ACCESS_DENIED'],
  }),
  admit({ scope: 'write:webhooks', rateLimit: 'write' }),
  async (c) => {
    const id = webhookIdFrom(c.req.param('id'));
    return webhookResponse(c, acted(await resetCircuit(c.get('db')(), { reader: readerOf(c), id }), id));
  },
);

const rotatedSecret = z.object({
  signingSecret: z.string(),
  previousSecretExpiresAt: z.nullable(z.string().check(z.meta({ format: 'date-time' }))),
});

webhooks.post(
  '/:id/rotate-secret',
  describe({
    operationId: 'rotateWebhookSecret',
    summary: 'Rotate a webhook’s signing secret',
    description:
      'Returns a new secret, shown once. The previous one keeps signing (deliveries carry both signatures) until ' +
      '`previousSecretExpiresAt`; rotating again during that time ends the older one at once.',
    tags: TAGS,
    params: ID_PARAM,
    responses: { 200: { description: 'The new secret', data: rotatedSecret } },
    errors: ['RESOURCE_NOT_FOUND', 'RESOURCE_ACCESS_DENIED'],
  }),
  admit({ scope: 'write:webhooks', rateLimit: 'write' }),
  jsonBody(MAX_ROTATE_BODY_BYTES, { optional: true }),
  validateBody(rotateSecretSchema),
  idempotencyKey(),
  async (c) => {
    const id = webhookIdFrom(c.req.param('id'));
    const result = await rotateSecret({
      db: c.get('db')(),
      secrets: secretsOf(c),
      reader: readerOf(c),
      webhookId: id,
      gracePeriodSeconds: c.req.valid('json').gracePeriodSeconds ?? DEFAULT_GRACE_PERIOD_SECONDS,
      requestId: c.get('requestId'),
      idempotency: c.get('idempotency'),
    });
    return idempotentResponse(c, result);
  },
);
