import { sql } from 'drizzle-orm';
import {
  boolean,
  check,
  foreignKey,
  index,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  primaryKey,
  text,
  timestamp,
  unique,
  uuid,
} from 'drizzle-orm/pg-core';
import { WEBHOOK_EVENTS } from '../events/event-types.ts';

const createdAt = () => timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow();

export const accounts = pgTable(
  'accounts',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    name: text('name').notNull(),
    /** Per-account override of the MAX_WEBHOOKS_PER_ACCOUNT default. */
    maxWebhooks: integer('max_webhooks'),
    /** Webhooks the account holds; kept by the statement that creates one so the limit is race-free. */
    webhookCount: integer('webhook_count').notNull().default(0),
    createdAt: createdAt(),
  },
  (t) => [
    check('accounts_webhook_count_non_negative', sql`${t.webhookCount} >= 0`),
    check('accounts_max_webhooks_non_negative', sql`${t.maxWebhooks} >= 0`),
  ],
);

export const companies = pgTable(
  'companies',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    accountId: uuid('account_id')
      .notNull()
      .references(() => accounts.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    subdomain: text('subdomain').unique(),
    createdAt: createdAt(),
  },
  // Target of the webhooks (account_id, company_id) foreign key.
  (t) => [unique('companies_account_id_id_unique').on(t.accountId, t.id)],
);

export const apiKeys = pgTable(
  'api_keys',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    accountId: uuid('account_id')
      .notNull()
      .references(() => accounts.id, { onDelete: 'cascade' }),
    name: text('name'),
    /** Lowercase hex SHA-256 of the token; the token itself is never stored. */
    tokenHash: text('token_hash').notNull().unique(),
    scopes: text('scopes').array().notNull(),
    /** False: the key reaches only the companies listed in api_key_companies. */
    allCompanies: boolean('all_companies').notNull().default(true),
    expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date' }),
    revokedAt: timestamp('revoked_at', { withTimezone: true, mode: 'date' }),
    createdAt: createdAt(),
  },
  (t) => [index('api_keys_account_id_idx').on(t.accountId)],
);

export const apiKeyCompanies = pgTable(
  'api_key_companies',
  {
    apiKeyId: uuid('api_key_id')
      .notNull()
      .references(() => apiKeys.id, { onDelete: 'cascade' }),
    companyId: uuid('company_id')
      .notNull()
      .references(() => companies.id, { onDelete: 'cascade' }),
  },
  (t) => [primaryKey({ columns: [t.apiKeyId, t.companyId] })],
);

export const webhookEvent = pgEnum('webhook_event', WEBHOOK_EVENTS);

export const disabledReason = pgEnum('webhook_disabled_reason', ['FAILING', 'GONE', 'MANUAL']);

export const webhooks = pgTable(
  'webhooks',
  {
    id: uuid('id').primaryKey(),
    accountId: uuid('account_id')
      .notNull()
      .references(() => accounts.id, { onDelete: 'cascade' }),
    apiKeyId: uuid('api_key_id')
      .notNull()
      .references(() => apiKeys.id),
    /** Null: every company the creating key can access. */
    companyId: uuid('company_id'),
    url: text('url').notNull(),
    events: webhookEvent('events').array().notNull(),
    name: text('name'),
    description: text('description'),
    /** The custom headers' names, in order, for the API (values are never returned). */
    headerNames: text('header_names').array().notNull().default(sql`'{}'::text[]`),
    /** AES-256-GCM sealed JSON array of [name, value] pairs; null without headers. */
    headersSealed: text('headers_sealed'),
    /**
     * Legacy: rows written before headers_sealed hold a sealed JSON array of values only, in header_names
     * order. Still opened for delivery; cleared when the headers are next written.
     */
    headerValuesSealed: text('header_values_sealed'),
    /** AES-256-GCM sealed signing secret. */
    signingSecretSealed: text('signing_secret_sealed').notNull(),
    /** The secret before the last rotation, still signing deliveries until previous_secret_expires_at. */
    previousSigningSecretSealed: text('previous_signing_secret_sealed'),
    previousSecretExpiresAt: timestamp('previous_secret_expires_at', { withTimezone: true, mode: 'date' }),
    /** Bumped by every change to the row: the ETag, and what If-Match compares. */
    revision: integer('revision').notNull().default(1),
    isActive: boolean('is_active').notNull().default(true),
    maxRetries: integer('max_retries').notNull().default(3),
    timeoutMs: integer('timeout_ms').notNull().default(30_000),
    consecutiveFailures: integer('consecutive_failures').notNull().default(0),
    circuitOpenedAt: timestamp('circuit_opened_at', { withTimezone: true, mode: 'date' }),
    /** Deliveries a second at most (1–1000); null: no limit. */
    rateLimitPerSecond: integer('rate_limit_per_second'),
    /** The rate limit's next free slot: each attempt takes one, 1/rate apart (deliveries/store/attempts.ts). */
    rateNextAt: timestamp('rate_next_at', { withTimezone: true, mode: 'date' }),
    /** Attempts in flight: delivery id → lease end. The claim admits a few at once per webhook (fair lanes). */
    lanes: jsonb('lanes').notNull().default(sql`'{}'::jsonb`),
    /**
     * Until then its deliveries go through the slow lane (the webhook-deliveries-slow queue): set by an
     * attempt that timed out or took long (deliveries/store/attempts.ts SLOW_ATTEMPT_MS).
     */
    slowUntil: timestamp('slow_until', { withTimezone: true, mode: 'date' }),
    // Health (issue 17), kept by the statement that records an attempt (deliveries/store/state-changes.ts).
    lastSuccessAt: timestamp('last_success_at', { withTimezone: true, mode: 'date' }),
    lastFailureAt: timestamp('last_failure_at', { withTimezone: true, mode: 'date' }),
    /** The first failed attempt since the last success: null while healthy. */
    failingSince: timestamp('failing_since', { withTimezone: true, mode: 'date' }),
    /** Why is_active went false; null while active. */
    disabledReason: disabledReason('disabled_reason'),
    disabledAt: timestamp('disabled_at', { withTimezone: true, mode: 'date' }),
    /** Deliveries that failed their last retry since the last DELIVERY_EXHAUSTED event (at most one an hour). */
    exhaustedPending: integer('exhausted_pending').notNull().default(0),
    exhaustedNotifiedAt: timestamp('exhausted_notified_at', { withTimezone: true, mode: 'date' }),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull(),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull(),
  },
  (t) => [
    // Listing, newest first, resumes from a (created_at, id) cursor.
    index('webhooks_account_created_idx').on(t.accountId, t.createdAt.desc(), t.id.desc()),
    // A webhook can only ever point at a company of its own account. No cascade: deleting a company
    // must go through the webhooks first, so accounts.webhook_count stays true.
    foreignKey({
      name: 'webhooks_account_company_fk',
      columns: [t.accountId, t.companyId],
      foreignColumns: [companies.accountId, companies.id],
    }),
  ],
);

export const idempotencyKeys = pgTable(
  'idempotency_keys',
  {
    accountId: uuid('account_id')
      .notNull()
      .references(() => accounts.id, { onDelete: 'cascade' }),
    /** Records are per API key: a replay only ever returns what that same key was answered. */
    apiKeyId: uuid('api_key_id')
      .notNull()
      .references(() => apiKeys.id, { onDelete: 'cascade' }),
    key: text('key').notNull(),
    /** SHA-256 of method, path and canonical JSON body: a reused key with another body is refused. */
    requestFingerprint: text('request_fingerprint').notNull(),
    responseStatus: integer('response_status').notNull(),
    /** The first response's body, sealed: it holds the signing secret. */
    responseBodySealed: text('response_body_sealed').notNull(),
    originalRequestId: text('original_request_id').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull(),
  },
  (t) => [
    primaryKey({ name: 'idempotency_keys_pkey', columns: [t.accountId, t.apiKeyId, t.key] }),
    index('idempotency_keys_created_at_idx').on(t.createdAt),
  ],
);

/** Events published by InstaView's systems (POST /events or the webhook-events queue), kept 30 days. */
export const events = pgTable(
  'events',
  {
    accountId: uuid('account_id')
      .notNull()
      .references(() => accounts.id, { onDelete: 'cascade' }),
    /** The producer's id, or one minted for it: publishing the same id again adds nothing. */
    id: text('id').notNull(),
    companyId: uuid('company_id'),
    type: webhookEvent('type').notNull(),
    occurredAt: timestamp('occurred_at', { withTimezone: true, mode: 'date' }).notNull(),
    /** The event's data, a JSON object serialised once, so every attempt sends the same bytes. */
    data: text('data').notNull(),
    /**
     * When its deliveries were created. Null while a POST /events event waits for the fan-out consumer:
     * the sweep fans out what stays null too long. Every other insert fans out at once (the default).
     */
    fannedOutAt: timestamp('fanned_out_at', { withTimezone: true, mode: 'date' }).defaultNow(),
    /** When the sweep last put the event back on the webhook-events queue: its lease, so it is not sent every minute. */
    requeuedAt: timestamp('requeued_at', { withTimezone: true, mode: 'date' }),
    /** A state-change event's webhook (WEBHOOK_DISABLED, …): the fan-out never delivers it there. */
    subjectWebhookId: uuid('subject_webhook_id'),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ name: 'events_pkey', columns: [t.accountId, t.id] }),
    index('events_created_at_idx').on(t.createdAt),
    // The minute sweep's accepted events not yet fanned out: a handful of rows at most, normally none.
    index('events_not_fanned_out_idx').on(t.createdAt).where(sql`fanned_out_at is null`),
  ],
);

export const deliveryStatus = pgEnum('delivery_status', ['pending', 'succeeded', 'failed', 'skipped', 'cancelled']);

/** One event for one webhook: sent, retried, logged. Deleted with its webhook or its event. */
export const deliveries = pgTable(
  'deliveries',
  {
    id: uuid('id').primaryKey(),
    accountId: uuid('account_id').notNull(),
    webhookId: uuid('webhook_id')
      .notNull()
      .references(() => webhooks.id, { onDelete: 'cascade' }),
    eventId: text('event_id').notNull(),
    eventType: webhookEvent('event_type').notNull(),
    status: deliveryStatus('status').notNull().default('pending'),
    /** A test delivery (POST /webhooks/{id}/test): sent at once, never retried, never counted against the circuit. */
    isTest: boolean('is_test').notNull().default(false),
    /** Attempts in all; the attempt log numbers them. */
    attempts: integer('attempts').notNull().default(0),
    /** Bumped by each redelivery: queue messages of an older series are ignored. */
    series: integer('series').notNull().default(1),
    /** Attempts in the current series: what the retry schedule counts. */
    seriesAttempts: integer('series_attempts').notNull().default(0),
    lastAttemptAt: timestamp('last_attempt_at', { withTimezone: true, mode: 'date' }),
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true, mode: 'date' }),
    lastHttpStatus: integer('last_http_status'),
    lastError: text('last_error'),
    /** Set once its message is on the queue, so a retried fan-out sends only what it had not. */
    enqueuedAt: timestamp('enqueued_at', { withTimezone: true, mode: 'date' }),
    /** While an attempt is in flight: a duplicate message waits until then instead of sending twice. */
    lockedUntil: timestamp('locked_until', { withTimezone: true, mode: 'date' }),
    /** A rate-limit slot this delivery holds: it is sent then, without taking another. */
    rateSlotAt: timestamp('rate_slot_at', { withTimezone: true, mode: 'date' }),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [
    unique('deliveries_event_webhook_unique').on(t.accountId, t.eventId, t.webhookId),
    foreignKey({
      name: 'deliveries_event_fk',
      columns: [t.accountId, t.eventId],
      foreignColumns: [events.accountId, events.id],
    }).onDelete('cascade'),
    // The delivery log: a webhook's deliveries, newest first, resumed from a (created_at, id) cursor.
    index('deliveries_webhook_created_idx').on(t.webhookId, t.createdAt.desc(), t.id.desc()),
    // The hourly sweep for deliveries that lost their message looks at pending ones only.
    index('deliveries_pending_created_idx').on(t.createdAt).where(sql`status = 'pending'`),
    // The minute sweep: pending deliveries by the time they were due (store/events.ts DUE), so a sweep
    // with nothing to take reads one index range and finds it empty.
    index('deliveries_pending_due_by_idx')
      .on(sql`greatest(${t.createdAt}, ${t.enqueuedAt}, ${t.nextAttemptAt}, ${t.lockedUntil}, ${t.rateSlotAt})`)
      .where(sql`status = 'pending'`),
    // The hourly purge of test deliveries (store/test-retention.ts) reads only tests, by age.
    index('deliveries_test_created_idx').on(t.createdAt).where(sql`is_test`),
    // GET /webhooks/{id}/stats counts a window's deliveries by status from this index alone (index-only scan).
    index('deliveries_webhook_stats_idx').on(t.webhookId, t.createdAt, t.status).where(sql`not is_test`),
  ],
);

/** Every attempt of a delivery, for its log. */
export const deliveryAttempts = pgTable(
  'delivery_attempts',
  {
    deliveryId: uuid('delivery_id')
      .notNull()
      .references(() => deliveries.id, { onDelete: 'cascade' }),
    number: integer('number').notNull(),
    startedAt: timestamp('started_at', { withTimezone: true, mode: 'date' }).notNull(),
    httpStatus: integer('http_status'),
    durationMs: integer('duration_ms').notNull(),
    error: text('error'),
    /** At most 1 KiB of the response body. */
    responseExcerpt: text('response_excerpt'),
  },
  (t) => [primaryKey({ name: 'delivery_attempts_pkey', columns: [t.deliveryId, t.number] })],
);

/** Latency buckets' upper bounds in ms (the last is open): webhook_attempt_stats.latency counts attempts in each. */
export const LATENCY_BOUNDS_MS = [
  25, 50, 100, 150, 200, 300, 400, 500, 750, 1000, 1500, 2000, 3000, 5000, 10000,
] as const;

const latencyColumns = Object.fromEntries(
  Array.from({ length: LATENCY_BOUNDS_MS.length + 1 }, (_, index) => [
    `latency${index}`,
    integer(`latency_${index}`).notNull().default(0),
  ]),
);

/**
 * Attempts per webhook per 5 minutes, upserted by the statement that records each attempt: what the stats
 * route sums (30 days are at most 8,640 rows a webhook, where the attempts themselves can be millions).
 */
export const webhookAttemptStats = pgTable(
  'webhook_attempt_stats',
  {
    webhookId: uuid('webhook_id')
      .notNull()
      .references(() => webhooks.id, { onDelete: 'cascade' }),
    bucketStart: timestamp('bucket_start', { withTimezone: true, mode: 'date' }).notNull(),
    attempts: integer('attempts').notNull().default(0),
    succeeded: integer('succeeded').notNull().default(0),
    failed: integer('failed').notNull().default(0),
    // Attempts per latency bucket: latency_0 under the first of LATENCY_BOUNDS_MS … latency_15 at or
    // over the last. Columns, not an int[16]: summing 30 days of rows took 2.5× as long with the array.
    ...latencyColumns,
  },
  (t) => [primaryKey({ name: 'webhook_attempt_stats_pkey', columns: [t.webhookId, t.bucketStart] })],
);
