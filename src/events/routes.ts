// POST /events: how InstaView's systems that are not Workers publish an event (Workers send to the
// webhook-events queue through a producer binding). Authenticated with the operator's publish token,
// never a customer key. One statement stores the event and creates its deliveries (fans it out) before
// the 202, so an accepted event survives whatever happens next; the deliveries' messages then go on the
// queue after the response (or the minute sweep queues them, if that fails: src/jobs/scheduled.ts).
// No hop through the webhook-events queue: an event reaches its receivers one queue trip after the 202.
import { createMiddleware } from 'hono/factory';
import { Hono } from 'hono/tiny';
import * as z from 'zod/mini';
import { isPublishToken } from '../auth/publish-token.ts';
import { createDatabase } from '../db/client.ts';
import { enqueueDeliveries } from '../deliveries/enqueue.ts';
import { fanOut } from '../deliveries/store/events.ts';
import type { AppEnv } from '../http/env.ts';
import { successEnvelope } from '../http/envelope.ts';
import { unauthorized } from '../http/errors.ts';
import { jsonBody } from '../http/middleware/json-body.ts';
import { validateBody } from '../http/middleware/validate.ts';
import { describeError, logError, logInfo } from '../lib/log.ts';
import { describe, documented } from '../openapi/describe.ts';
import { toEventMessage } from './message.ts';
import { MAX_EVENT_DATA_BYTES, publishedEventSchema } from './schema.ts';

/** The data's 64 KiB, and room for the rest of the event and JSON escapes. */
const MAX_BODY_BYTES = 2 * MAX_EVENT_DATA_BYTES;

const publisher = () =>
  documented(
    createMiddleware<AppEnv>(async (c, next) => {
      const header = c.req.header('Authorization');
      if (header === undefined)
        throw unauthorized('Missing publish token; send "Authorization: Bearer <token>"', { credentialsSent: false });
      const token = /^Bearer (.+)$/i.exec(header)?.[1] ?? '';
      if (!(await isPublishToken(token, c.env.EVENTS_PUBLISH_TOKEN))) throw unauthorized('Publish token is not valid');
      await next();
    }),
    { publisher: true, errors: ['UNAUTHORIZED'] },
  );

export const events = new Hono<AppEnv>();

events.post(
  '/',
  describe({
    operationId: 'publishEvent',
    summary: 'Publish an event',
    description:
      'For InstaView’s own systems, with the operator publish token. Delivered to every active webhook of the ' +
      'account subscribed to its type and reaching its company. Publishing the same id again delivers nothing new.',
    tags: ['Events'],
    responses: { 202: { description: 'Stored, and queued for delivery', data: z.object({ eventId: z.string() }) } },
    errors: ['SERVICE_UNAVAILABLE'],
  }),
  publisher(),
  jsonBody(MAX_BODY_BYTES),
  validateBody(publishedEventSchema),
  async (c) => {
    const body = c.req.valid('json');
    const event = toEventMessage(body, crypto.randomUUID(), new Date());
    const pending = await fanOut(c.get('db')(), { ...event, data: JSON.stringify(event.data) });
    if (pending.length > 0) {
      // After the response: the deliveries are durable already. A send that fails leaves them to the
      // sweep, a minute or two later. Named as the fan-out consumer's, for the local statement counts.
      const db = createDatabase(c.env, `webhooks fan-out ${event.accountId}:${event.id}`);
      c.executionCtx.waitUntil(
        enqueueDeliveries(c.env, db, pending).then(
          (queued) =>
            logInfo('event fanned out', { eventId: event.id, accountId: event.accountId, deliveries: queued }),
          (error: unknown) =>
            logError('deliveries not queued: the sweep queues them', {
              eventId: event.id,
              accountId: event.accountId,
              ...describeError(error),
            }),
        ),
      );
    }
    return c.json(successEnvelope({ eventId: event.id }), 202);
  },
);
