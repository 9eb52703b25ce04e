// One attempt: the request a receiver gets, and what came of it. Never throws: every way an attempt can
// go wrong ends as a failed outcome with a message that says why, for the log and the test endpoint.
import type { CustomHeader } from '../webhooks/schema.ts';
import { checkWebhookUrl, selfTargetProblem } from '../webhooks/url-policy.ts';
import { redactHeaderValues } from './redact.ts';
import { parseRetryAfter } from './retry-schedule.ts';
import { signatureHeader } from './signature.ts';

export const USER_AGENT = 'InstaView-Webhooks/1.0';
/** The most of a response body an attempt reads, and keeps for the log. */
const EXCERPT_BYTES = 1024;

export interface DeliveryRequest {
  deliveryId: string;
  url: string;
  body: string;
  /** The current signing secret first, then the previous one while its grace period lasts. */
  secrets: string[];
  headers: CustomHeader[];
  timeoutMs: number;
  /** Dev and tests only (DELIVERY_ALLOW_PRIVATE_TARGETS): loopback receivers. */
  allowPrivateTargets: boolean;
  /** This service's own hostnames (config SERVICE_HOSTNAMES): a delivery to itself would loop. */
  serviceHostnames: readonly string[];
}

export type FailureKind = 'status' | 'redirect' | 'gone' | 'timeout' | 'network' | 'target' | 'header';

export interface AttemptOutcome {
  success: boolean;
  httpStatus: number | null;
  durationMs: number;
  /** Why it failed, in a sentence; null on success. Never a header value or a secret. */
  error: string | null;
  failure: FailureKind | null;
  responseExcerpt: string | null;
  /** From a 429 or 503's Retry-After. */
  retryAfterSeconds?: number;
}

/** Why the webhook's URL may not be sent to now, or undefined when it may. */
export function targetProblem(
  url: string,
  allowPrivateTargets: boolean,
  serviceHostnames: readonly string[],
): string | undefined {
  const check = checkWebhookUrl(url);
  if (!check.ok) return `target not allowed: ${check.problem}`;
  if (check.loopback && !allowPrivateTargets) return 'target not allowed: loopback addresses are never sent to';
  const self = selfTargetProblem(check.url, serviceHostnames);
  return self === undefined ? undefined : `target not allowed: ${self}`;
}

/**
 * At most EXCERPT_BYTES of the body, then the rest is left unread; the webhook's custom header values
 * redacted from it (redact.ts).
 */
async function excerptOf(response: Response, headers: readonly CustomHeader[]): Promise<string | null> {
  if (!response.body) return null;
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < EXCERPT_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } catch {
    // A body cut short still has its first bytes.
  } finally {
    reader.cancel().catch(() => {});
  }
  const bytes = new Uint8Array(Math.min(size, EXCERPT_BYTES));
  let offset = 0;
  for (const chunk of chunks) {
    const part = chunk.subarray(0, bytes.length - offset);
    bytes.set(part, offset);
    offset += part.length;
    if (offset >= bytes.length) break;
  }
  // Postgres text cannot hold U+0000: a receiver answering with one must not make the attempt unrecordable.
  const text = new TextDecoder().decode(bytes).replaceAll('\u0000', '\uFFFD');
  return redactHeaderValues(
    text,
    headers.map((header) => header.value),
    size >= EXCERPT_BYTES,
  );
}

function failed(
  failure: FailureKind,
  error: string,
  started: number,
  extra: Partial<AttemptOutcome> = {},
): AttemptOutcome {
  return {
    success: false,
    httpStatus: null,
    durationMs: Date.now() - started,
    error,
    failure,
    responseExcerpt: null,
    ...extra,
  };
}

export async function sendDelivery(request: DeliveryRequest): Promise<AttemptOutcome> {
  const started = Date.now();
  const refused = targetProblem(request.url, request.allowPrivateTargets, request.serviceHostnames);
  if (refused) return failed('target', refused, started);

  const headers = new Headers();
  for (const { name, value } of request.headers) {
    try {
      headers.set(name, value);
    } catch {
      return failed('header', `custom header ${name} has a value that cannot be sent`, started);
    }
  }
  // Signed now, not when the event was published: a late retry still passes a 5-minute tolerance.
  const timestamp = Math.floor(Date.now() / 1000);
  headers.set('Content-Type', 'application/json');
  headers.set('User-Agent', USER_AGENT);
  headers.set('webhook-id', request.deliveryId);
  headers.set('webhook-timestamp', String(timestamp));
  headers.set('webhook-signature', await signatureHeader(request.secrets, request.deliveryId, timestamp, request.body));

  const signal = AbortSignal.timeout(request.timeoutMs);
  let response: Response;
  try {
    response = await fetch(request.url, { method: 'POST', headers, body: request.body, redirect: 'manual', signal });
  } catch (error) {
    if (signal.aborted) return failed('timeout', `timed out after ${request.timeoutMs} ms`, started);
    if (error instanceof TypeError && /header/i.test(error.message)) {
      return failed('header', 'a custom header cannot be sent', started);
    }
    return failed('network', 'could not connect (refused, unreachable or reset)', started);
  }
  const responseExcerpt = await excerptOf(response, request.headers);
  const httpStatus = response.status;
  const durationMs = Date.now() - started;
  if (httpStatus >= 200 && httpStatus < 300) {
    return { success: true, httpStatus, durationMs, error: null, failure: null, responseExcerpt };
  }
  const base = { httpStatus, durationMs, responseExcerpt };
  if (httpStatus >= 300 && httpStatus < 400) {
    return { ...failed('redirect', `redirect (HTTP ${httpStatus}) not followed`, started), ...base };
  }
  if (httpStatus === 410) {
    return { ...failed('gone', 'HTTP 410 Gone: the webhook was deactivated', started), ...base };
  }
  const retryAfterSeconds =
    httpStatus === 429 || httpStatus === 503 ? parseRetryAfter(response.headers.get('Retry-After')) : undefined;
  return {
    ...failed('status', `HTTP ${httpStatus} from the endpoint`, started),
    ...base,
    ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}),
  };
}
