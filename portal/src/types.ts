// What the API answers with, as far as the page reads it. Fields from later issues (health, stats,
// rateLimitPerSecond) are optional: the page shows them when the service sends them.

export interface Health {
  status: 'healthy' | 'failing' | 'circuit_open' | 'disabled';
  failingSince: string | null;
  lastSuccessAt: string | null;
}

export interface Webhook {
  id: string;
  url: string;
  events: string[];
  name: string | null;
  description: string | null;
  companyId: string | null;
  headers: { name: string; isMasked: true }[];
  isActive: boolean;
  consecutiveFailures: number;
  circuitOpenedAt: string | null;
  createdAt: string;
  updatedAt: string;
  health?: Health;
  disabledReason?: string | null;
  disabledAt?: string | null;
  rateLimitPerSecond?: number | null;
}

export interface Delivery {
  id: string;
  eventId: string;
  event: string;
  status: 'pending' | 'succeeded' | 'failed' | 'skipped' | 'cancelled';
  attempts: number;
  lastAttemptAt: string | null;
  nextAttemptAt: string | null;
  lastHttpStatus: number | null;
  lastError: string | null;
  isTest: boolean;
  createdAt: string;
}

export interface Attempt {
  number: number;
  startedAt: string;
  httpStatus: number | null;
  durationMs: number | null;
  error: string | null;
  responseExcerpt: string | null;
}

export interface DeliveryDetail extends Delivery {
  payload: unknown;
  attemptLog: Attempt[];
}

export interface TestAnswer {
  success: boolean;
  deliveryId: string;
  httpStatus: number | null;
  durationMs: number;
  message: string;
}

export interface StatsBucket {
  start: string;
  attempts: number;
  succeeded: number;
  failed: number;
  p50: number | null;
  p95: number | null;
}

export interface Stats {
  window: string;
  deliveries: { succeeded: number; failed: number; pending: number; skipped: number };
  attempts: number;
  successRate: number | null;
  latencyMs: { p50: number | null; p95: number | null };
  series: StatsBucket[];
}

export interface Page<T> {
  data: T[];
  nextCursor: string | null;
  total?: number;
}
