// POST /events: how InstaView's systems that are not Workers publish an event (Workers send to the
// webhook-events queue through a producer binding). Authenticated with the operator's publish token,
// never a customer key. The event goes onto the queue as is; fanning it out is the consumer's work.
import { createMiddleware } from 'hono/factory';
import { Hono } from 'hono/tiny';
import * as z from 'zod/mini';
import { isPublishToken } from '../auth/publish-token.ts';
import type { AppEnv } from '../http/env.ts';
import { successEnvelope } from '../http/envelope.ts';
import { serviceUnavailable, unauthorized } from '../http/errors.ts';
import { jsonBody } from '../http/middleware/json-body.ts';
import { validateBody } from '../http/middleware/validate.ts';
import { describe, documented } from '../openapi/describe.ts';
import { type EventMessage, toEventMessage } from './message.ts';
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
    responses: { 202: { description: 'Queued for delivery', data: z.object({ eventId: z.string() }) } },
    errors: ['SERVICE_UNAVAILABLE'],
  }),
  publisher(),
  jsonBody(MAX_BODY_BYTES),
  validateBody(publishedEventSchema),
  async (c) => {
    const body = c.req.valid('json');
    const message: EventMessage = toEventMessage(body, crypto.randomUUID(), new Date());
    try {
      await (c.env.WEBHOOK_EVENTS as Queue<EventMessage>).send(message);
    } catch {
      throw serviceUnavailable(5);
    }
    return c.json(successEnvelope({ eventId: message.id }), 202);
  },
);
