import { createMiddleware } from 'hono/factory';
import { ApiError } from '../errors.ts';

/**
 * A request that carries this service's own delivery headers is one of its deliveries come back, by
 * whatever road (a redirector, a customer's proxy): acting on it would let a webhook call the API for
 * ever (a redeliver that redelivers itself). Refused before anything is read or written, on every route.
 * Receivers never need to call the API with these headers: they are ours, set on the way out.
 */
export const refuseDeliveryLoops = () =>
  createMiddleware(async (c, next) => {
    if (c.req.header('webhook-id') !== undefined && c.req.header('webhook-signature') !== undefined) {
      throw new ApiError(
        'DELIVERY_LOOP_REFUSED',
        'This request carries webhook-id and webhook-signature: it is a webhook delivery from this service, ' +
          'which is never acted on; point the webhook at your own endpoint',
      );
    }
    await next();
  });
