// A webhook's deliveries: send a test now, read the log, send again. Same admission, 404 and 403 rules
// as the webhook itself (webhooks/routes.ts); each route is one statement for the access check and its
// work, plus the queue for what it sends again.
import { sql } from 'drizzle-orm';
import type { Context } from 'hono';
import { Hono } from 'hono/tiny';
import * as z from 'zod/mini';
import { readConfig } from '../config.ts';
import type { Database } from '../db/client.ts';
import { violatedConstraint } from '../db/errors.ts';
import { WEBHOOK_EVENTS } from '../events/event-types.ts';
import { cursorScope, openCursor, sealCursor } from '../http/cursor.ts';
import type { AppEnv } from '../http/env.ts';
import { successEnvelope } from '../http/envelope.ts';
import { ApiError, rateLimited, serviceUnavailable } from '../http/errors.ts';
import { httpStatusCode, storedCount } from '../http/integers.ts';
import { admit } from '../http/middleware/admit.ts';
import { jsonBody } from '../http/middleware/json-body.ts';
import { validateBody, validateQuery } from '../http/middleware/validate.ts';
import { pageSize } from '../http/query.ts';
import { isoDateTime } from '../lib/date-time.ts';
import { excerpt } from '../lib/excerpt.ts';
import { takeRateLimit } from '../lib/rate-limit.ts';
import { secretBox } from '../lib/secret-box.ts';
import { describe } from '../openapi/describe.ts';
import { refusalOf, webhookIdFrom } from '../webhooks/refusals.ts';
import { UUID_PATTERN } from '../webhooks/schema.ts';
import { openHeaders } from '../webhooks/secrets.ts';
import { reachable } from '../webhooks/store.ts';
import { signingSecrets } from './deliver.ts';
import { type DeliveryMessage, MAX_BATCH } from './messages.ts';
import { deliveryBody, deliveryPayload } from './payload.ts';
import { sendDelivery } from './send.ts';
import { markNotEnqueued } from './store/events.ts';
import {
  type DeliveryDetail,
  type DeliveryRow,
  findDelivery,
  findTestTarget,
  type LogTarget,
  listDeliveries,
  recordTestDelivery,
  restartDeliveries,
} from './store/log.ts';
import type { DeliveryStatus } from './store/shared.ts';

const TAGS = ['Deliveries'];
const ID_PARAM = { id: 'The webhook id (a UUID)' };
const STATUSES = ['pending', 'succeeded', 'failed', 'skipped', 'cancelled'] as const;
const MAX_PAGE_SIZE = 100;
const DEFAULT_PAGE_SIZE = 50;
/** Deliveries one recover call sends again at most; call again for the rest. */
const MAX_RECOVER = 1000;

const timestamp = z.string().check(z.meta({ format: 'date-time' }));
const deliveryResource = z
  .object({
    id: z.string().check(z.meta({ format: 'uuid' })),
    eventId: z.string(),
    event: z.enum(WEBHOOK_EVENTS),
    status: z.enum(STATUSES),
    attempts: storedCount(),
    lastAttemptAt: z.nullable(timestamp),
    nextAttemptAt: z.nullable(timestamp),
    lastHttpStatus: z.nullable(httpStatusCode()),
    lastError: z.nullable(z.string()),
    isTest: z.boolean(),
    createdAt: timestamp,
  })
  .check(z.meta({ id: 'Delivery' }));
const deliveryDetail = z
  .object({
    ...deliveryResource.def.shape,
    payload: deliveryPayload,
    attemptCount: storedCount(),
    attemptsBefore: z.nullable(storedCount().check(z.minimum(2))),
    attemptLog: z.array(
      z.object({
        number: storedCount().check(z.minimum(1)),
        startedAt: timestamp,
        httpStatus: z.nullable(httpStatusCode()),
        durationMs: storedCount(),
        error: z.nullable(z.string()),
        responseExcerpt: z.nullable(z.string()),
      }),
    ),
  })
  .check(z.meta({ id: 'DeliveryDetail' }));

const listQuery = z.strictObject({
  status: z.optional(z.enum(STATUSES, { error: `Must be one of ${STATUSES.join(', ')}` })),
  event: z.optional(z.enum(WEBHOOK_EVENTS, { error: `Must be one of ${WEBHOOK_EVENTS.join(', ')}` })),
  limit: z.optional(pageSize(MAX_PAGE_SIZE, DEFAULT_PAGE_SIZE)),
  cursor: z.optional(
    z.string('Expected a cursor from nextCursor').check(z.maxLength(1024, 'Is not a cursor this API issued')),
  ),
});

/** Attempts a delivery's detail shows at once; attemptsBefore pages back through the rest. */
const MAX_ATTEMPTS_SHOWN = 50;

const attemptNumberError = 'Must be an attempt number from 2 to 2147483647 (a previous attemptsBefore)';
const detailQuery = z.strictObject({
  attemptsBefore: z.optional(
    z.pipe(
      z.pipe(
        z.string('Expected an integer').check(z.regex(/^\d{1,10}$/, attemptNumberError)),
        z.transform((text) => Number(text)),
      ),
      z
        .int()
        .check(
          z.minimum(2, attemptNumberError),
          z.maximum(2_147_483_647, attemptNumberError),
          z.meta({ description: 'Only attempts numbered below this: the previous page’s attemptsBefore' }),
        ),
    ),
  ),
});

const recoverBody = z.strictObject({
  since: isoDateTime('Must be an ISO 8601 date-time'),
  limit: z.optional(
    z
      .int('Expected an integer')
      .check(z.minimum(1, 'Must be at least 1'), z.maximum(MAX_RECOVER, `Must be at most ${MAX_RECOVER}`)),
  ),
  cursor: z.optional(
    z.string('Expected a cursor from nextCursor').check(z.maxLength(1024, 'Is not a cursor this API issued')),
  ),
  statuses: z.optional(
    z
      // cancelled: what deactivating the webhook (by hand, a 410, auto-disable) left unsent.
      .array(z.enum(['failed', 'skipped', 'cancelled'], { error: 'Must be failed, skipped or cancelled' }))
      .check(z.minLength(1, 'Must name at least one status'), z.maxLength(3, 'Must name at most 3 statuses')),
  ),
});

function logTarget(c: Context<AppEnv>, webhookId: string): LogTarget {
  const apiKey = c.get('apiKey');
  return {
    webhookId,
    accountId: apiKey.accountId,
    // `w`: the webhook's alias in the log queries' `target` CTE.
    reachable: reachable({ accountId: apiKey.accountId, apiKeyId: apiKey.id, companyIds: apiKey.companyIds }, sql`w`),
  };
}

/** The webhook's 404 or 403, when the statement found it missing or out of the key's reach. */
function located(result: { found: boolean; reachable: boolean }, webhookId: string): void {
  if (!result.found) throw refusalOf({ kind: 'not-found' }, webhookId);
  if (!result.reachable) throw refusalOf({ kind: 'forbidden' }, webhookId);
}

/**
 * 429 past the replay limit: sending one delivery again, or testing one webhook, at most so many times a
 * minute whatever keys ask (each adds a request to the receiver and a row to the log). Counted per
 * resource within the account, so another account can never spend it.
 */
async function limitReplays(c: Context<AppEnv>, what: 'redeliver' | 'test', id: string): Promise<void> {
  const rule = readConfig(c.env).delivery.replays;
  const verdict = await takeRateLimit(c.env.REPLAY_RATE_LIMITER, `${what}:${c.get('apiKey').accountId}:${id}`, rule);
  if (verdict.allowed) return;
  const noun = what === 'redeliver' ? 'redelivers of this delivery' : 'tests of this webhook';
  throw rateLimited(
    `Too many ${noun} (${rule.limit} a minute); retry in ${verdict.retryAfterSeconds} s`,
    verdict.retryAfterSeconds,
    rule,
  );
}

/** 409: recover into an open circuit would have every delivery skipped again at its claim. */
function circuitOpen(c: Context<AppEnv>, openedAt: string): ApiError {
  const coolDown = readConfig(c.env).delivery.circuitCoolDownSeconds;
  const nextProbeAt = new Date(Math.max(Date.now(), Date.parse(openedAt) + coolDown * 1000)).toISOString();
  return new ApiError(
    'CIRCUIT_OPEN',
    `The webhook’s circuit is open since ${openedAt}; recover would only skip its deliveries again. ` +
      'Fix the endpoint, then POST /webhooks/{id}/reset-circuit and recover',
    { details: { openedAt, nextProbeAt } },
  );
}

function deliveryNotFound(id: string): ApiError {
  return new ApiError('RESOURCE_NOT_FOUND', 'Delivery not found', {
    details: { resourceType: 'Delivery', resourceId: excerpt(id) },
  });
}

function toDeliveryDetail(delivery: DeliveryDetail) {
  const { payloadEvent, attemptLog, attemptCount, ...rest } = delivery;
  // Attempts are numbered from 1 with no gaps: older ones remain when the page's oldest is above 1.
  const oldest = attemptLog[0]?.number;
  return {
    ...rest,
    payload: JSON.parse(deliveryBody(delivery.id, payloadEvent)) as unknown,
    attemptCount,
    attemptsBefore: oldest !== undefined && oldest > 1 ? oldest : null,
    attemptLog,
  };
}

/** Puts restarted deliveries on the queue; what could not be queued is marked so (recover takes it again). */
async function enqueue(c: Context<AppEnv>, db: Database, restarted: { id: string; series: number }[]): Promise<void> {
  const queue = c.env.WEBHOOK_DELIVERIES as Queue<DeliveryMessage>;
  let start = 0;
  try {
    for (; start < restarted.length; start += MAX_BATCH) {
      const batch = restarted.slice(start, start + MAX_BATCH);
      await queue.sendBatch(batch.map(({ id, series }) => ({ body: { deliveryId: id, series } })));
    }
  } catch {
    // Marked pending and queued, but not on the queue. Unmarked, the same request again sends them; if
    // even that fails, the minute sweep finds them (store/events.ts takeStranded).
    await markNotEnqueued(
      db,
      restarted.slice(start).map(({ id }) => id),
    ).catch(() => {});
    throw serviceUnavailable(5);
  }
}

export const deliveries = new Hono<AppEnv>();

const testResult = z.object({
  success: z.boolean(),
  deliveryId: z.string().check(z.meta({ format: 'uuid' })),
  httpStatus: z.nullable(httpStatusCode()),
  durationMs: storedCount(),
  message: z.string(),
});

deliveries.post(
  '/:id/test',
  describe({
    operationId: 'testWebhook',
    summary: 'Send a test event (PING) now',
    description:
      'Sent synchronously, bypassing the queue and the circuit, and not counted in consecutiveFailures; recorded in ' +
      'the delivery log. A failing endpoint is success: false with a message saying why. The webhook must be ' +
      'subscribed to PING. At most 10 tests of one webhook a minute (429 with Retry-After). The log keeps a ' +
      'webhook’s newest 100 test deliveries, none older than 24 hours.',
    tags: TAGS,
    params: ID_PARAM,
    responses: { 200: { description: 'What the endpoint answered', data: testResult } },
    errors: ['RESOURCE_NOT_FOUND', 'RESOURCE_ACCESS_DENIED', 'PING_NOT_SUBSCRIBED'],
  }),
  admit({ scope: 'write:webhooks', rateLimit: 'write' }),
  async (c) => {
    const webhookId = webhookIdFrom(c.req.param('id'));
    await limitReplays(c, 'test', webhookId);
    const db = c.get('db')();
    const found = await findTestTarget(db, logTarget(c, webhookId));
    located(found, webhookId);
    const webhook = found.webhook;
    if (!webhook) throw refusalOf({ kind: 'not-found' }, webhookId);
    if (!webhook.events.includes('PING')) {
      throw new ApiError('PING_NOT_SUBSCRIBED', 'The webhook is not subscribed to PING; add it to events to test it', {
        details: { events: webhook.events },
      });
    }
    const secrets = secretBox(c.env.ENCRYPTION_KEYS);
    const deliveryId = crypto.randomUUID();
    const startedAt = new Date();
    const event = {
      type: 'PING' as const,
      occurredAt: startedAt.toISOString(),
      companyId: webhook.companyId,
      data: JSON.stringify({ message: 'A test delivery from InstaView' }),
    };
    const outcome = await sendDelivery({
      deliveryId,
      url: webhook.url,
      body: deliveryBody(deliveryId, event),
      secrets: await signingSecrets(secrets, webhook),
      headers: await openHeaders(secrets, webhook.headers),
      timeoutMs: webhook.timeoutMs,
      allowPrivateTargets: readConfig(c.env).delivery.allowPrivateTargets,
      serviceHostnames: readConfig(c.env).delivery.serviceHostnames,
    });
    const accountId = c.get('apiKey').accountId;
    try {
      await recordTestDelivery(db, { deliveryId, webhookId, accountId, event, startedAt }, outcome);
    } catch (error) {
      // Deleted while the test was in flight: it was sent, there is just no log left to keep it in.
      if (violatedConstraint(error, 'foreign-key') === undefined) throw error;
    }
    return c.json(
      successEnvelope({
        success: outcome.success,
        deliveryId,
        httpStatus: outcome.httpStatus,
        durationMs: outcome.durationMs,
        message: outcome.success
          ? `Delivered: the endpoint answered HTTP ${outcome.httpStatus}`
          : (outcome.error ?? 'Failed'),
      }),
    );
  },
);

const deliveryList = z.object({ data: z.array(deliveryResource), nextCursor: z.nullable(z.string()) });

deliveries.get(
  '/:id/deliveries',
  describe({
    operationId: 'listDeliveries',
    summary: 'List a webhook’s deliveries',
    description:
      'Newest first; kept 30 days (test deliveries 24 hours, the newest 100 of them). Follow nextCursor for the next page.',
    tags: TAGS,
    params: ID_PARAM,
    responses: { 200: { description: 'One page of deliveries', data: deliveryList } },
    errors: ['RESOURCE_NOT_FOUND', 'RESOURCE_ACCESS_DENIED'],
  }),
  admit({ scope: 'read:webhooks', rateLimit: 'read' }),
  validateQuery(listQuery),
  async (c) => {
    const webhookId = webhookIdFrom(c.req.param('id'));
    const query = c.req.valid('query');
    const secrets = secretBox(c.env.ENCRYPTION_KEYS);
    const filters = {
      ...(query.status ? { status: query.status } : {}),
      ...(query.event ? { event: query.event } : {}),
    };
    const scope = cursorScope('deliveries', c.get('apiKey').id, [webhookId, query.status, query.event]);
    const after = query.cursor === undefined ? undefined : await openCursor(secrets, scope, query.cursor);
    const limit = query.limit ?? DEFAULT_PAGE_SIZE;
    const page = await listDeliveries(c.get('db')(), logTarget(c, webhookId), filters, limit, after);
    located(page, webhookId);
    const items = page.items.slice(0, limit);
    const last = items.at(-1);
    const nextCursor =
      page.items.length > limit && last
        ? await sealCursor(secrets, scope, { createdAt: last.position, id: last.id })
        : null;
    return c.json(successEnvelope({ data: items.map(({ position: _, ...row }): DeliveryRow => row), nextCursor }));
  },
);

deliveries.get(
  '/:id/deliveries/:deliveryId',
  describe({
    operationId: 'getDelivery',
    summary: 'Get a delivery, its payload and its newest attempts',
    description:
      `The newest ${MAX_ATTEMPTS_SHOWN} attempts at most, oldest of them first, and \`attemptCount\` (all of them). ` +
      'When older ones remain, `attemptsBefore` is set: send it back as the `attemptsBefore` query parameter for ' +
      'the page before.',
    tags: TAGS,
    params: { ...ID_PARAM, deliveryId: 'The delivery id, the webhook-id header it was sent with' },
    responses: { 200: { description: 'The delivery', data: deliveryDetail } },
    errors: ['RESOURCE_NOT_FOUND', 'RESOURCE_ACCESS_DENIED'],
  }),
  admit({ scope: 'read:webhooks', rateLimit: 'read' }),
  validateQuery(detailQuery),
  async (c) => {
    const webhookId = webhookIdFrom(c.req.param('id'));
    const deliveryId = c.req.param('deliveryId');
    if (!UUID_PATTERN.test(deliveryId)) throw deliveryNotFound(deliveryId);
    const { attemptsBefore } = c.req.valid('query');
    const found = await findDelivery(c.get('db')(), logTarget(c, webhookId), deliveryId.toLowerCase(), {
      limit: MAX_ATTEMPTS_SHOWN,
      ...(attemptsBefore !== undefined ? { before: attemptsBefore } : {}),
    });
    located(found, webhookId);
    if (!found.delivery) throw deliveryNotFound(deliveryId);
    return c.json(successEnvelope(toDeliveryDetail(found.delivery)));
  },
);

deliveries.post(
  '/:id/deliveries/:deliveryId/redeliver',
  describe({
    operationId: 'redeliver',
    summary: 'Send a delivery again',
    description:
      'The same delivery id (receivers deduplicate on it), a new series of attempts, starting now. At most 10 ' +
      'redelivers of one delivery a minute (429 with Retry-After).',
    tags: TAGS,
    params: { ...ID_PARAM, deliveryId: 'The delivery id' },
    responses: {
      202: { description: 'Queued', data: z.object({ deliveryId: z.string(), status: z.literal('pending') }) },
    },
    errors: ['RESOURCE_NOT_FOUND', 'RESOURCE_ACCESS_DENIED', 'SERVICE_UNAVAILABLE'],
  }),
  admit({ scope: 'write:webhooks', rateLimit: 'write' }),
  async (c) => {
    const webhookId = webhookIdFrom(c.req.param('id'));
    const deliveryId = c.req.param('deliveryId');
    if (!UUID_PATTERN.test(deliveryId)) throw deliveryNotFound(deliveryId);
    await limitReplays(c, 'redeliver', deliveryId.toLowerCase());
    const db = c.get('db')();
    const result = await restartDeliveries(db, logTarget(c, webhookId), { deliveryId: deliveryId.toLowerCase() });
    located(result, webhookId);
    if (result.restarted.length === 0) throw deliveryNotFound(deliveryId);
    await enqueue(c, db, result.restarted);
    return c.json(successEnvelope({ deliveryId: deliveryId.toLowerCase(), status: 'pending' as const }), 202);
  },
);

deliveries.post(
  '/:id/recover',
  describe({
    operationId: 'recoverDeliveries',
    summary: 'Send again every failed or skipped delivery since a time',
    description:
      `Each as a new series of attempts, oldest first; at most \`limit\` (default and most ${MAX_RECOVER}) per call: ` +
      'send `nextCursor` back as `cursor` (with the same since and statuses) for the ones after them. Test ' +
      'deliveries are left out; redeliver one by its id. Refused (409) while the circuit is open. `statuses` ' +
      'defaults to failed and skipped; add cancelled for what deactivating the webhook left unsent (after ' +
      're-enabling it).',
    tags: TAGS,
    params: ID_PARAM,
    responses: {
      202: {
        description: 'Queued',
        data: z.object({
          count: z.int().check(z.minimum(0), z.maximum(MAX_RECOVER)),
          nextCursor: z.nullable(z.string()),
        }),
      },
    },
    errors: ['RESOURCE_NOT_FOUND', 'RESOURCE_ACCESS_DENIED', 'CIRCUIT_OPEN', 'SERVICE_UNAVAILABLE'],
  }),
  admit({ scope: 'write:webhooks', rateLimit: 'write' }),
  jsonBody(1024),
  validateBody(recoverBody),
  async (c) => {
    const webhookId = webhookIdFrom(c.req.param('id'));
    const body = c.req.valid('json');
    const statuses: DeliveryStatus[] = body.statuses ?? ['failed', 'skipped'];
    const since = new Date(body.since).toISOString();
    const limit = body.limit ?? MAX_RECOVER;
    const secrets = secretBox(c.env.ENCRYPTION_KEYS);
    const scope = cursorScope('recover', c.get('apiKey').id, [webhookId, since, [...statuses].sort()]);
    const after = body.cursor === undefined ? undefined : await openCursor(secrets, scope, body.cursor, 'body');
    const db = c.get('db')();
    const result = await restartDeliveries(db, logTarget(c, webhookId), {
      since,
      statuses,
      limit,
      ...(after ? { after } : {}),
    });
    located(result, webhookId);
    if (result.circuitOpenedAt !== null) throw circuitOpen(c, result.circuitOpenedAt);
    await enqueue(c, db, result.restarted);
    const last = result.restarted.at(-1);
    const nextCursor =
      result.restarted.length === limit && last
        ? await sealCursor(secrets, scope, { createdAt: last.position, id: last.id })
        : null;
    return c.json(successEnvelope({ count: result.restarted.length, nextCursor }), 202);
  },
);
