/**
 * A per-isolate fixed-window counter: the stand-in when the Workers rate-limiting binding is missing or
 * failing. Weaker than the binding (each isolate counts on its own) but a real limit, never a no-op.
 */
export class FixedWindowLimiter {
  private readonly windows = new Map<string, { start: number; count: number }>();
  private readonly maxKeys: number;

  constructor(maxKeys = 10_000) {
    this.maxKeys = maxKeys;
  }

  /** Counts one request for `key`; refused ones report the seconds until the window resets. */
  take(
    key: string,
    limit: number,
    periodMs: number,
    now: number,
  ): { allowed: true } | { allowed: false; retryAfterSeconds: number } {
    const start = now - (now % periodMs);
    let window = this.windows.get(key);
    if (!window || window.start !== start) {
      if (this.windows.size >= this.maxKeys) this.evictBefore(start);
      window = { start, count: 0 };
      this.windows.set(key, window);
    }
    if (window.count >= limit)
      return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((start + periodMs - now) / 1000)) };
    window.count++;
    return { allowed: true };
  }

  private evictBefore(start: number): void {
    for (const [key, window] of this.windows) if (window.start < start) this.windows.delete(key);
    // Still full within one window: forget the oldest keys rather than grow without bound.
    for (const key of this.windows.keys()) {
      if (this.windows.size < this.maxKeys) break;
      this.windows.delete(key);
    }
  }
}
