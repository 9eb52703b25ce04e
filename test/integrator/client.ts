// Every operation of the API through a client generated from GET /openapi.json by openapi-typescript
// (generated/api.ts, never committed: scripts/ci/integrator.ts makes it) and openapi-fetch, as an
// integrator would write it. `tsc --strict` compiling this file is the check that the document gives a
// client what it needs: typed bodies, typed query parameters (limit: 2, isActive: true) and typed error
// details per code, read here without a cast for 400, 404, 409, 412, 422 and 429.
//
// Run against a running service it also exercises each operation once:
//   node test/integrator/client.ts http://127.0.0.1:8787 <API key> <publish token>
import createClient from 'openapi-fetch';
import type { components, paths } from './generated/api.ts';

type ApiError = components['schemas']['ApiError'];
type Client = ReturnType<typeof createClient<paths>>;

/** What to do about an error, decided from its code and typed details alone. */
export function advice(error: ApiError): string {
  switch (error.code) {
    case 'VALIDATION_ERROR':
      return error.details.issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ');
    case 'RATE_LIMITED':
      return `retry in ${error.details.retryAfter} s (${error.details.limit} per ${error.details.periodSeconds} s)`;
    case 'SERVICE_UNAVAILABLE':
      return `retry in ${error.details.retryAfter} s`;
    case 'CONFLICT':
      return 'retry now: a concurrent change collided';
    case 'PRECONDITION_FAILED':
      return `read it again: it is now at ${error.details.currentETag}`;
    case 'RESOURCE_NOT_FOUND':
      return `no ${error.details.resourceType} ${error.details.resourceId}`;
    case 'RESOURCE_ACCESS_DENIED':
      return 'companyId' in error.details ? `company ${error.details.companyId}` : error.details.resourceId;
    case 'INSUFFICIENT_PERMISSIONS':
      return `needs ${error.details.requiredScope}`;
    case 'WEBHOOK_LIMIT_REACHED':
      return `at most ${error.details.limit} webhooks`;
    case 'IDEMPOTENCY_KEY_REUSED':
      return `use another key than ${error.details.idempotencyKey}`;
    case 'PING_NOT_SUBSCRIBED':
      return `subscribed to ${error.details.events.join(', ')}`;
    case 'PAYLOAD_TOO_LARGE':
      return `at most ${error.details.maxBytes} bytes`;
    case 'UNSUPPORTED_MEDIA_TYPE':
      return error.details.supportedMediaTypes.join(', ');
    case 'METHOD_NOT_ALLOWED':
      return error.details.allowedMethods.join(', ');
    case 'NOT_FOUND':
      return error.details.didYouMean ?? 'no such route';
    case 'CIRCUIT_OPEN':
      return `next probe at ${error.details.nextProbeAt}`;
    case 'INVALID_JSON':
    case 'UNAUTHORIZED':
    case 'API_KEY_REQUIRED':
    case 'DELIVERY_LOOP_REFUSED':
    case 'INTERNAL_ERROR':
      return error.message;
    default: {
      // A code the client was generated without: the generated union must name every code.
      const unknown: never = error;
      return String(unknown);
    }
  }
}

function check(condition: boolean, what: string): asserts condition {
  if (!condition) throw new Error(`integrator client: ${what}`);
}

/** Each operation once, the way its documentation says. */
export async function exercise(client: Client, publisher: Client, accountId: string): Promise<string[]> {
  const done: string[] = [];

  const created = await client.POST('/webhooks', {
    params: { header: { 'Idempotency-Key': `integrator-${crypto.randomUUID()}` } },
    body: { url: 'http://localhost:4002/integrator', events: ['PING', 'INTERVIEW_COMPLETED'], name: 'Integrator' },
  });
  check(created.response.status === 201 && created.data !== undefined, `create answered ${created.response.status}`);
  const id = created.data.data.id;
  const secret: string = created.data.data.signingSecret;
  check(/^[0-9a-f]{64}$/.test(secret), 'a signing secret');
  done.push('createWebhook 201');

  const invalid = await client.POST('/webhooks', { body: { url: 'http://10.0.0.7/hook', events: [] } });
  check(invalid.error?.error.code === 'VALIDATION_ERROR', 'an invalid create is a VALIDATION_ERROR');
  if (invalid.error?.error.code === 'VALIDATION_ERROR') {
    const paths = invalid.error.error.details.issues.map((issue) => issue.path);
    check(paths.includes('url') && paths.includes('events'), `issues at url and events, not ${paths}`);
  }
  done.push('createWebhook 400 (details.issues)');

  const list = await client.GET('/webhooks', { params: { query: { limit: 2, isActive: true, event: 'PING' } } });
  check(list.data?.data.data[0]?.id === id, 'the new webhook is listed first');
  done.push('listWebhooks 200 (limit: 2, isActive: true)');

  const got = await client.GET('/webhooks/{id}', { params: { path: { id } } });
  const etag = got.response.headers.get('ETag');
  check(got.data?.data.id === id && etag === '"1"', `get answered ${got.response.status} with ETag ${etag}`);
  done.push('getWebhook 200');

  const updated = await client.PATCH('/webhooks/{id}', {
    params: { path: { id }, header: { 'If-Match': etag } },
    body: { description: 'Changed by the generated client' },
  });
  check(updated.data?.data.description === 'Changed by the generated client', 'update');
  const stale = await client.PATCH('/webhooks/{id}', {
    params: { path: { id }, header: { 'If-Match': etag } },
    body: { name: 'stale' },
  });
  check(stale.error?.error.code === 'PRECONDITION_FAILED', 'a stale If-Match is PRECONDITION_FAILED');
  if (stale.error?.error.code === 'PRECONDITION_FAILED') {
    check(stale.error.error.details.currentETag === '"2"', 'details.currentETag names the current revision');
  }
  done.push('updateWebhook 200, 412 (details.currentETag)');

  const rotated = await client.POST('/webhooks/{id}/rotate-secret', {
    params: { path: { id } },
    body: { gracePeriodSeconds: 60 },
  });
  check(rotated.data?.data.signingSecret !== secret, 'rotate');
  done.push('rotateWebhookSecret 200');

  const reset = await client.POST('/webhooks/{id}/reset-circuit', { params: { path: { id } } });
  check(reset.data?.data.consecutiveFailures === 0, 'reset-circuit');
  done.push('resetWebhookCircuit 200');

  // Nothing listens on port 4002: the test answers 200 with success false and says why.
  const tested = await client.POST('/webhooks/{id}/test', { params: { path: { id } } });
  check(tested.data?.data.success === false, 'a test to a closed port is success: false');
  done.push('testWebhook 200');

  const deliveries = await client.GET('/webhooks/{id}/deliveries', {
    params: { path: { id }, query: { limit: 1, status: 'failed' } },
  });
  const deliveryId = deliveries.data?.data.data[0]?.id;
  check(deliveryId !== undefined && deliveryId === tested.data?.data.deliveryId, 'the test is in the log');
  done.push('listDeliveries 200');

  const delivery = await client.GET('/webhooks/{id}/deliveries/{deliveryId}', {
    params: { path: { id, deliveryId } },
  });
  check(delivery.data?.data.payload.event === 'PING', 'the delivery’s payload');
  done.push('getDelivery 200');

  const redelivered = await client.POST('/webhooks/{id}/deliveries/{deliveryId}/redeliver', {
    params: { path: { id, deliveryId } },
  });
  check(redelivered.data?.data.status === 'pending', 'redeliver');
  done.push('redeliver 202');

  const recovered = await client.POST('/webhooks/{id}/recover', {
    params: { path: { id } },
    body: { since: new Date(Date.now() - 3_600_000).toISOString(), statuses: ['failed'] },
  });
  check(recovered.response.status === 202 && typeof recovered.data?.data.count === 'number', 'recover');
  done.push('recoverDeliveries 202');

  const session = await client.POST('/portal/sessions', { body: { readOnly: true, expiresInSeconds: 60 } });
  check(session.response.status === 201 && /#token=ps_/.test(session.data?.data.url ?? ''), 'portal session');
  done.push('createPortalSession 201');

  const published = await publisher.POST('/events', {
    body: { type: 'INTERVIEW_COMPLETED', accountId, data: { interviewId: 'integrator-1' } },
  });
  check(published.response.status === 202 && published.data?.data.eventId !== undefined, 'publish');
  done.push('publishEvent 202');

  const deleted = await client.DELETE('/webhooks/{id}', { params: { path: { id } } });
  check(deleted.response.status === 204, 'delete');
  const gone = await client.GET('/webhooks/{id}', { params: { path: { id } } });
  if (gone.error?.error.code === 'RESOURCE_NOT_FOUND') {
    check(gone.error.error.details.resourceId === id, 'details.resourceId');
  } else {
    check(false, `a deleted webhook answered ${gone.response.status}`);
  }
  done.push('deleteWebhook 204, getWebhook 404 (details.resourceId)');

  // An error this run may or may not meet (409, 429, 503) is read the same way, typed.
  for (const result of [created, invalid, list, stale, gone]) if (result.error) advice(result.error.error);
  return done;
}

if (import.meta.main) {
  const [baseUrl, apiKey, publishToken] = process.argv.slice(2);
  if (!baseUrl || !apiKey || !publishToken) {
    console.error('usage: node test/integrator/client.ts BASE_URL API_KEY PUBLISH_TOKEN ACCOUNT_ID');
    process.exit(2);
  }
  const accountId = process.argv[5] ?? '';
  const client = createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${apiKey}` } });
  const publisher = createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${publishToken}` } });
  for (const line of await exercise(client, publisher, accountId)) console.log(`integrator client: ${line}`);
}
