// POST /events: how InstaView's systems that are not Workers publish an event (Workers send to the
// webhook-events queue through a producer binding). Authenticated with the operator's publish token,
// never a customer key. The event is stored in Postgres (one statement) before the 202, so an accepted
// event survives whatever happens to the queue; the message then carries only its key, and fanning it
// out is the consumer's work (or the sweep's, if the message is lost: src/jobs/scheduled.ts).
import { createMiddleware } from 'hono/factory';
import { Hono } from 'hono/tiny';
import * as z from 'zod/mini';
import { isPublishToken } from '../auth/publish-token.ts';
import { storeEvent } from '../deliveries/store/events.ts';
import type { AppEnv } from '../http/env.ts';
import { successEnvelope } from '../http/envelope.ts';
import { unauthorized } from '../http/errors.ts';
import { jsonBody } from '../http/middleware/json-body.ts';
import { validateBody } from '../http/middleware/validate.ts';
import { describeError, logError } from '../lib/log.ts';
import { describe, documented } from '../openapi/describe.ts';
import { type StoredEventMessage, toEventMessage } from './message.ts';
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
    const stored = await storeEvent(c.get('db')(), { ...event, data: JSON.stringify(event.data) });
    if (stored) {
      // Not awaited: the event is durable already. A send that fails leaves it to the sweep, a minute or two later.
      const message: StoredEventMessage = { storedEventId: event.id, accountId: event.accountId };
      c.executionCtx.waitUntil(
        (c.env.WEBHOOK_EVENTS as Queue<StoredEventMessage>).send(message).catch((error: unknown) =>
          logError('stored event not queued: the sweep fans it out', {
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
