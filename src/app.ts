import { methodNotAllowed } from 'hono/method-not-allowed';
import { requestId } from 'hono/request-id';
import { Hono } from 'hono/tiny';
import { deliveries } from './deliveries/routes.ts';
import { stats } from './deliveries/stats-routes.ts';
import { events } from './events/routes.ts';
import type { AppEnv } from './http/env.ts';
import { ApiError } from './http/errors.ts';
import { handleError, respond } from './http/handle-error.ts';
import { database } from './http/middleware/database.ts';
import { refuseDeliveryLoops } from './http/middleware/loop-guard.ts';
import { requestLog } from './http/middleware/request-log.ts';
import { closestRoute } from './http/route-suggestion.ts';
import { documentationRoutes } from './openapi/routes.ts';
import { portal } from './portal/routes.ts';
import { webhooks } from './webhooks/routes.ts';

export const app = new Hono<AppEnv>();

// limitLength 0: always mint our own id; a client-chosen X-Request-Id would make logs ambiguous.
app.use(requestId({ limitLength: 0 }));
app.use(requestLog());
// Answers to a request with credentials hold an account's data: no browser or shared cache may keep them
// (the portal page reads them with a session token; test/portal-sessions.test.ts).
app.use(async (c, next) => {
  await next();
  if (c.req.header('Authorization') !== undefined && !c.res.headers.has('Cache-Control'))
    c.res.headers.set('Cache-Control', 'no-store');
});
app.use(
  methodNotAllowed({
    app,
    onMethodNotAllowed: (_c, methods) => {
      throw new ApiError('METHOD_NOT_ALLOWED', `Method not allowed; use ${methods.join(', ')}`, {
        details: { allowedMethods: methods },
        headers: { Allow: methods.join(', ') },
      });
    },
  }),
);
// Before the database and every route: a delivery that came back changes nothing.
app.use(refuseDeliveryLoops());
app.use(database());

app.route('/webhooks', webhooks);
app.route('/webhooks', deliveries);
app.route('/webhooks', stats);
app.route('/events', events);
app.route('/portal', portal);
// Unauthenticated: the health probe, the OpenAPI document of every route above, the reference page.
app.route('/', documentationRoutes());

// Returned, not thrown: methodNotAllowed turns a 404 into a 405 only when no error was thrown.
app.notFound((c) => {
  const suggestion = closestRoute(
    c.req.path,
    app.routes.filter((route) => route.method !== 'ALL').map((route) => route.path),
  );
  return respond(
    c,
    suggestion
      ? new ApiError('NOT_FOUND', `No such endpoint; did you mean ${suggestion}?`, {
          details: { didYouMean: suggestion },
        })
      : new ApiError('NOT_FOUND', 'No such endpoint'),
  );
});
app.onError(handleError);
