import { FixedWindowLimiter } from './fixed-window-limiter.ts';

export interface RateLimitRule {
  limit: number;
  periodSeconds: number;
}

export type LimiterSource = 'binding' | 'fallback';

export type LimitVerdict =
  | { allowed: true; source: LimiterSource }
  | { allowed: false; source: LimiterSource; retryAfterSeconds: number };

// One per isolate, shared by every rule: keys are prefixed with the rule's name by the callers.
const fallback = new FixedWindowLimiter();

/**
 * Counts one event against `key` with a Workers rate-limiting binding (configured in wrangler.toml),
 * or, when the binding is missing or throws, with a per-isolate fixed window of the same numbers:
 * weaker (each isolate counts alone) but a real limit, never a no-op.
 */
export async function takeRateLimit(
  binding: RateLimit | undefined,
  key: string,
  rule: RateLimitRule,
): Promise<LimitVerdict> {
  try {
    if (!binding) throw new Error('rate limiter is not bound');
    const { success } = await binding.limit({ key });
    // The binding does not say when its window resets; a full period is the wait that always suffices.
    return success
      ? { allowed: true, source: 'binding' }
      : { allowed: false, source: 'binding', retryAfterSeconds: rule.periodSeconds };
  } catch {
    const verdict = fallback.take(key, rule.limit, rule.periodSeconds * 1000, Date.now());
    return verdict.allowed
      ? { allowed: true, source: 'fallback' }
      : { allowed: false, source: 'fallback', retryAfterSeconds: verdict.retryAfterSeconds };
  }
}
