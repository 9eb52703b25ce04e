import { MAX_RETRY_DELAY_SECONDS } from '../config.ts';

/**
 * Seconds to wait before the next attempt, after `attempt` attempts of the current series have failed,
 * or undefined when the webhook's `maxRetries` are spent (attempts = maxRetries + 1 in all). A receiver's
 * Retry-After (on 429 or 503) can only lengthen the wait, and nothing waits more than 24 hours.
 */
export function retryDelaySeconds(
  attempt: number,
  maxRetries: number,
  schedule: readonly number[],
  retryAfterSeconds?: number,
): number | undefined {
  if (attempt > maxRetries) return undefined;
  const scheduled = schedule[Math.min(attempt - 1, schedule.length - 1)] ?? 0;
  return Math.min(MAX_RETRY_DELAY_SECONDS, Math.max(scheduled, retryAfterSeconds ?? 0));
}

/** A Retry-After header (RFC 9110 §10.2.3: seconds, or an HTTP date) in whole seconds from `now`. */
export function parseRetryAfter(header: string | null, now = Date.now()): number | undefined {
  if (header === null) return undefined;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Number(value);
  // An HTTP date names its day or month; Date.parse alone would read "-5" or "1.5" as years.
  const date = /[a-z]/i.test(value) ? Date.parse(value) : Number.NaN;
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - now) / 1000));
}
