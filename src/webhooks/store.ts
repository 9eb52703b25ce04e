// The webhooks table, one statement per operation.
import { type SQL, sql } from 'drizzle-orm';
import type { Database } from '../db/client.ts';
import { fromJson } from '../db/json.ts';
import { retryingConflicts } from '../db/retry.ts';
import { accounts, companies, webhooks } from '../db/schema.ts';
import { cancelPendingCte } from '../deliveries/store/attempts.ts';
import * as health from '../deliveries/store/state-changes.ts';
import type { DisabledReason, WebhookRow } from './representation.ts';

export interface NewWebhook extends WebhookRow {
  accountId: string;
  headersSealed: string | null;
  signingSecretSealed: string;
}

export type InsertOutcome =
  | { kind: 'created' }
  | { kind: 'company-inaccessible' }
  | { kind: 'limit-reached'; limit: number }
  | { kind: 'account-missing' };

/**
 * Creates the webhook in one statement: it takes a slot from the account's webhook count (the row lock
 * makes concurrent creates queue, so the limit holds under any interleaving), checks the company
 * belongs to the account, inserts, and runs `remember` (an Idempotency-Key record, written only if the
 * webhook is). Nothing is written unless all of it succeeds.
 */
export async function insertWebhook(
  db: Database,
  row: NewWebhook,
  defaultLimit: number,
  remember?: SQL,
): Promise<InsertOutcome> {
  const account = sql`${row.accountId}::uuid`;
  const company = sql`${row.companyId}::uuid`;
  const createdAt = sql`${row.createdAt.toISOString()}::timestamptz`;
  const companyAccessible = sql`(${company} is null or exists (
    select 1 from ${companies} where ${companies.id} = ${company} and ${companies.accountId} = ${account}))`;
  const result = await db.execute<{
    created: number;
    account_exists: boolean;
    company_accessible: boolean;
    webhook_limit: number;
  }>(sql`
    with slot as (
      update ${accounts} set webhook_count = webhook_count + 1
      where ${accounts.id} = ${account}
        and webhook_count < coalesce(max_webhooks, ${defaultLimit}::int)
        and ${companyAccessible}
      returning ${accounts.id}
    ), done as (
      insert into ${webhooks} (id, account_id, api_key_id, company_id, url, events, name, description,
        header_names, headers_sealed, signing_secret_sealed, max_retries, timeout_ms, rate_limit_per_second,
        created_at, updated_at)
      select ${row.id}::uuid, slot.id, ${row.apiKeyId}::uuid, ${company}, ${row.url},
        ${sql.param(row.events)}::webhook_event[], ${row.name}, ${row.description}, ${sql.param(row.headerNames)}::text[],
        ${row.headersSealed}, ${row.signingSecretSealed}, ${row.maxRetries}::int, ${row.timeoutMs}::int,
        ${row.rateLimitPerSecond}::int, ${createdAt}, ${createdAt}
      from slot
      returning 1
    )${remember ? sql`, ${remember}` : sql``}
    select (select count(*) from done)::int as created,
      exists (select 1 from ${accounts} where ${accounts.id} = ${account}) as account_exists,
      ${companyAccessible} as company_accessible,
      (select coalesce(max_webhooks, ${defaultLimit}::int) from ${accounts} where ${accounts.id} = ${account}) as webhook_limit`);
  const [outcome] = result.rows;
  if (outcome?.created === 1) return { kind: 'created' };
  if (!outcome?.account_exists) return { kind: 'account-missing' };
  if (!outcome.company_accessible) return { kind: 'company-inaccessible' };
  return { kind: 'limit-reached', limit: outcome.webhook_limit };
}

/** What a webhook read or update sees: the resource's columns, and its revision (the ETag). */
export interface StoredWebhook extends WebhookRow {
  revision: number;
}

/** Who is asking: a key reaches its own account's webhooks, and a restricted key only some of them. */
export interface Reader {
  accountId: string;
  apiKeyId: string;
  /** null: every company of the account (webhooks/access.ts). */
  companyIds: string[] | null;
}

/** The resource's columns of the webhook `alias`, as fromRaw reads them. */
const resourceColumns = (alias: string) =>
  sql.raw(
    [
      'id',
      'api_key_id',
      'company_id',
      'url',
      'events::text[] as events',
      'name',
      'description',
      'header_names',
      'is_active',
      'max_retries',
      'timeout_ms',
      'rate_limit_per_second',
      'consecutive_failures',
      'circuit_opened_at',
      'failing_since',
      'last_success_at',
      'disabled_reason',
      'disabled_at',
      'created_at',
      'updated_at',
      'revision',
    ]
      .map((column) => `${alias}.${column}`)
      .join(', '),
  );

type Timestamp = Date | string;
const toDate = (value: Timestamp) => (value instanceof Date ? value : new Date(value));

/** A row as db.execute (or json_agg) returns it. */
type RawWebhook = {
  id: string;
  api_key_id: string;
  company_id: string | null;
  url: string;
  events: string[];
  name: string | null;
  description: string | null;
  header_names: string[];
  is_active: boolean;
  max_retries: number;
  timeout_ms: number;
  rate_limit_per_second: number | null;
  consecutive_failures: number;
  circuit_opened_at: Timestamp | null;
  failing_since: Timestamp | null;
  last_success_at: Timestamp | null;
  disabled_reason: DisabledReason | null;
  disabled_at: Timestamp | null;
  created_at: Timestamp;
  updated_at: Timestamp;
  revision: number;
};

function fromRaw(raw: RawWebhook): StoredWebhook {
  return {
    id: raw.id,
    apiKeyId: raw.api_key_id,
    companyId: raw.company_id,
    url: raw.url,
    events: raw.events as StoredWebhook['events'],
    name: raw.name,
    description: raw.description,
    headerNames: raw.header_names,
    isActive: raw.is_active,
    maxRetries: raw.max_retries,
    timeoutMs: raw.timeout_ms,
    rateLimitPerSecond: raw.rate_limit_per_second,
    consecutiveFailures: raw.consecutive_failures,
    circuitOpenedAt: raw.circuit_opened_at === null ? null : toDate(raw.circuit_opened_at),
    failingSince: raw.failing_since === null ? null : toDate(raw.failing_since),
    lastSuccessAt: raw.last_success_at === null ? null : toDate(raw.last_success_at),
    disabledReason: raw.disabled_reason,
    disabledAt: raw.disabled_at === null ? null : toDate(raw.disabled_at),
    createdAt: toDate(raw.created_at),
    updatedAt: toDate(raw.updated_at),
    revision: raw.revision,
  };
}

/**
 * True where the reader may see the webhook `alias`: its own account (every query filters on that
 * first), then for a restricted key only its companies' webhooks and the account-wide ones it created.
 */
export function reachable(reader: Reader, alias: SQL): SQL {
  if (reader.companyIds === null) return sql`true`;
  return sql`(${alias}.company_id = any(${sql.param(reader.companyIds)}::uuid[])
    or (${alias}.company_id is null and ${alias}.api_key_id = ${reader.apiKeyId}::uuid))`;
}

/** Why a statement aimed at one webhook did not act on it; otherwise what it returned. */
export type Targeted<T> =
  | { kind: 'done'; value: T }
  | { kind: 'not-found' }
  | { kind: 'forbidden' }
  | { kind: 'precondition-failed'; revision: number }
  /** A PATCH moving the URL to another origin without sending `headers`: the stored values stay behind. */
  | { kind: 'headers-required'; headerNames: string[] };

export async function findWebhook(db: Database, reader: Reader, id: string): Promise<Targeted<StoredWebhook>> {
  const result = await db.execute<RawWebhook & { reachable: boolean }>(sql`
    select ${resourceColumns('w')}, ${reachable(reader, sql`w`)} as reachable
    from ${webhooks} w where w.id = ${id}::uuid and w.account_id = ${reader.accountId}::uuid`);
  const [row] = result.rows;
  if (!row) return { kind: 'not-found' };
  if (!row.reachable) return { kind: 'forbidden' };
  return { kind: 'done', value: fromRaw(row) };
}

export interface ListFilters {
  companyId?: string;
  isActive?: boolean;
  event?: string;
}

export interface ListPosition {
  createdAt: string;
  id: string;
}

export interface WebhookPage {
  total: number;
  webhooks: StoredWebhook[];
  /** Where the next page starts, when there is one. */
  next: ListPosition | undefined;
}

/**
 * One page of the reader's webhooks, newest first, and how many there are in all: one statement. The
 * page reads one row more than it returns, to know whether another page follows.
 */
export async function listWebhooks(
  db: Database,
  reader: Reader,
  filters: ListFilters,
  limit: number,
  after: ListPosition | undefined,
): Promise<WebhookPage> {
  const conditions: SQL[] = [sql`w.account_id = ${reader.accountId}::uuid`, reachable(reader, sql`w`)];
  if (filters.companyId !== undefined) conditions.push(sql`w.company_id = ${filters.companyId}::uuid`);
  if (filters.isActive !== undefined) conditions.push(sql`w.is_active = ${filters.isActive}`);
  if (filters.event !== undefined) conditions.push(sql`${filters.event}::webhook_event = any(w.events)`);
  const resume = after ? sql`where (created_at, id) < (${after.createdAt}::timestamptz, ${after.id}::uuid)` : sql``;
  const result = await db.execute<{ total: number; items: (RawWebhook & { created_at_exact: string })[] }>(sql`
    with matching as (
      select ${resourceColumns('w')}, w.created_at::text as created_at_exact
      from ${webhooks} w where ${sql.join(conditions, sql` and `)}
    ), page as (
      select * from matching ${resume} order by created_at desc, id desc limit ${limit + 1}::int
    )
    select (select count(*) from matching)::int as total,
      coalesce((select json_agg(page order by created_at desc, id desc) from page), '[]'::json) as items`);
  const row = result.rows[0] ?? { total: 0, items: [] };
  const items = fromJson(row.items);
  const page = items.slice(0, limit);
  const last = page.at(-1);
  return {
    total: row.total,
    webhooks: page.map(fromRaw),
    next: items.length > limit && last ? { createdAt: last.created_at_exact, id: last.id } : undefined,
  };
}

interface TargetedWrite {
  reader: Reader;
  id: string;
  /** Revisions the client accepts (If-Match); the write happens only if the webhook is still at one. */
  ifMatch?: number[] | undefined;
}

/**
 * Wraps a write aimed at one webhook so that one statement also says why it did not happen: the
 * webhook `target` is looked up (own account only), the `write` CTE (named `done`, acting on `w`
 * joined to `target`) runs only if it is reachable and still at the expected revision, and `extra`
 * CTEs may follow (an Idempotency-Key record, cancelled deliveries).
 */
async function targetedWrite<T>(
  db: Database,
  { reader, id, ifMatch }: TargetedWrite,
  write: (guard: SQL) => SQL,
  map: (done: Record<string, unknown>, also: unknown) => T,
  extra: SQL[] = [],
  { retryConflicts = true, blocked, also }: { retryConflicts?: boolean; blocked?: SQL; also?: SQL } = {},
): Promise<Targeted<T>> {
  const guard = sql`${reachable(reader, sql`target`)}${
    ifMatch === undefined ? sql`` : sql` and w.revision = any(${sql.param(ifMatch)}::int[])`
  }`;
  const statement = sql`
    with target as (
      -- Locked first: a concurrent write is waited for, and this one then sees the webhook as it is now
      -- (or gone), so a lost race is a 404 or a true 412, never a 412 about a stale revision.
      select id, company_id, api_key_id, revision, url, header_names from ${webhooks}
      where id = ${id}::uuid and account_id = ${reader.accountId}::uuid
      for update
    ), done as (${write(blocked ? sql`${guard} and not (${blocked})` : guard)})${
      extra.length > 0 ? sql`, ${sql.join(extra, sql`, `)}` : sql``
    }
    select exists (select 1 from target) as found,
      coalesce((select ${reachable(reader, sql`target`)} from target), false) as reachable,
      (select revision from target) as revision,
      ${blocked ? sql`(select header_names from target where ${blocked})` : sql`null::text[]`} as blocked_by,
      (select row_to_json(done) from done) as done${also ? sql`, ${also} as also` : sql``}`;
  const run = () =>
    db.execute<{
      found: boolean;
      reachable: boolean;
      revision: number | null;
      blocked_by: string[] | null;
      done: Record<string, unknown> | string | null;
      also?: unknown;
    }>(statement);
  const result = retryConflicts ? await retryingConflicts(run) : await run();
  const row = result.rows[0];
  if (!row?.found) return { kind: 'not-found' };
  if (!row.reachable) return { kind: 'forbidden' };
  if (row.done === null && row.blocked_by !== null) return { kind: 'headers-required', headerNames: row.blocked_by };
  if (row.done === null) return { kind: 'precondition-failed', revision: row.revision ?? 0 };
  return { kind: 'done', value: map(fromJson(row.done), row.also) };
}

const returnResource = sql`returning ${resourceColumns('w')}`;

/** Column assignments for an update; `undefined` fields are left alone. */
export interface WebhookChanges {
  url?: string;
  events?: string[];
  name?: string | null;
  description?: string | null;
  headers?: { names: string[]; sealed: string | null };
  isActive?: boolean;
  rateLimitPerSecond?: number | null;
}

function assignments(changes: WebhookChanges, updatedAt: Date): SQL {
  const set: SQL[] = [sql`revision = w.revision + 1`, sql`updated_at = ${updatedAt.toISOString()}::timestamptz`];
  if (changes.url !== undefined) set.push(sql`url = ${changes.url}`);
  if (changes.events !== undefined) set.push(sql`events = ${sql.param(changes.events)}::webhook_event[]`);
  if (changes.name !== undefined) set.push(sql`name = ${changes.name}`);
  if (changes.description !== undefined) set.push(sql`description = ${changes.description}`);
  if (changes.headers !== undefined) {
    set.push(
      sql`header_names = ${sql.param(changes.headers.names)}::text[]`,
      sql`headers_sealed = ${changes.headers.sealed}`,
      sql`header_values_sealed = null`,
    );
  }
  if (changes.isActive !== undefined) {
    set.push(sql`is_active = ${changes.isActive}`, health.activeAssignments(changes.isActive));
  }
  if (changes.rateLimitPerSecond !== undefined) {
    // A new limit starts afresh: no slot reserved under the old one holds anyone back.
    set.push(sql`rate_limit_per_second = ${changes.rateLimitPerSecond}::int`, sql`rate_next_at = null`);
  }
  return sql.join(set, sql`, `);
}

/**
 * PATCH: one statement; `updated_at` advances and the revision with it. Deactivating cancels what was
 * pending and stores a WEBHOOK_DISABLED event (MANUAL), returned for the fan-out queue.
 */
export function updateWebhook(
  db: Database,
  target: TargetedWrite,
  changes: WebhookChanges,
  updatedAt: Date,
): Promise<Targeted<StoredWebhook & { stateEvents: health.StateEvent[] }>> {
  // Custom headers often carry the receiver's credentials: they follow the URL to another origin only
  // when the PATCH sends them again (or [] to drop them), never by default.
  const blocked =
    changes.url !== undefined && changes.headers === undefined
      ? sql`(cardinality(target.header_names) > 0
          and substring(target.url from '^[a-z]+://[^/?#]+') is distinct from ${new URL(changes.url).origin})`
      : undefined;
  const deactivating = changes.isActive === false;
  return targetedWrite(
    db,
    target,
    (guard) => sql`update ${webhooks} w set ${assignments(changes, updatedAt)} from target
      where w.id = target.id and ${guard} ${returnResource}`,
    (done, also) => ({
      ...fromRaw(done as unknown as RawWebhook),
      stateEvents: also === undefined || also === null ? [] : fromJson(also as string | health.StateEvent[]),
    }),
    deactivating
      ? [
          cancelPendingCte(target.id, sql`select 1 from done`),
          health.manualChangesCte(target.reader.accountId),
          health.insertStateEvents(),
        ]
      : [],
    { ...(blocked ? { blocked } : {}), ...(deactivating ? { also: health.STATE_EVENTS_COLUMN } : {}) },
  );
}

/** Closes the circuit at once. Operational state, not configuration: `updated_at` stays. */
export function resetCircuit(db: Database, target: TargetedWrite): Promise<Targeted<StoredWebhook>> {
  return targetedWrite(
    db,
    target,
    (guard) => sql`update ${webhooks} w set consecutive_failures = 0, circuit_opened_at = null,
      revision = w.revision + 1 from target where w.id = target.id and ${guard} ${returnResource}`,
    (done) => fromRaw(done as unknown as RawWebhook),
  );
}

/**
 * Deletes the webhook and frees its slot in the account's count in the same statement: the delete
 * takes the webhook's row, then the account's, as a create takes the account's (store.insertWebhook),
 * so the count and the rows agree whatever the interleaving.
 */
export function deleteWebhook(db: Database, target: TargetedWrite): Promise<Targeted<true>> {
  return targetedWrite(
    db,
    target,
    (guard) => sql`delete from ${webhooks} w using target where w.id = target.id and ${guard} returning w.id`,
    () => true as const,
    [
      sql`slot as (
        update ${accounts} set webhook_count = webhook_count - 1
        where ${accounts.id} = ${target.reader.accountId}::uuid and exists (select 1 from done)
      )`,
    ],
  );
}

export interface Rotation {
  signingSecretSealed: string;
  /** When the secret being replaced stops signing; null ends it now. */
  previousSecretExpiresAt: Date | null;
  updatedAt: Date;
}

/**
 * Rotates the signing secret in one statement: the current one becomes the previous one (the one before
 * it ends at once) and the new one is stored, sealed under the same context: both are this webhook's
 * signing secrets. `remember` is the Idempotency-Key record, written only if the rotation is.
 */
export function rotateSigningSecret(
  db: Database,
  target: TargetedWrite,
  rotation: Rotation,
  remember: SQL | undefined,
): Promise<Targeted<true>> {
  const expiresAt = rotation.previousSecretExpiresAt?.toISOString() ?? null;
  return targetedWrite(
    db,
    target,
    (guard) => sql`update ${webhooks} w set
        previous_signing_secret_sealed = case when ${expiresAt}::timestamptz is null then null else w.signing_secret_sealed end,
        previous_secret_expires_at = ${expiresAt}::timestamptz,
        signing_secret_sealed = ${rotation.signingSecretSealed},
        updated_at = ${rotation.updatedAt.toISOString()}::timestamptz,
        revision = w.revision + 1
      from target where w.id = target.id and ${guard} returning w.id`,
    () => true as const,
    remember ? [remember] : [],
    // writeIdempotently (rotate.ts) runs a conflicting rotation again itself.
    { retryConflicts: false },
  );
}
