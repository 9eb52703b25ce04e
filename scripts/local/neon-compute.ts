// The Postgres behind the SQL endpoint stand-in, used the way Neon's proxy uses a compute
// (neondatabase/neon proxy/src/serverless/: conn_pool_lib.rs, sql_over_http.rs; libs/proxy/tokio-postgres2):
// - pooled sessions: a connection goes back to the pool after Neon's own reset (RESET_SESSION), so
//   nothing one request sets (a set_config, an advisory lock, a temp table) reaches the next;
// - the extended protocol only: one statement per query, as Postgres refuses more in a prepared one;
// - a client that hangs up has its statement cancelled, then after 100 ms its connection dropped;
// - a compute scaled to zero wakes on the first request after it has been idle (coldStartMs).
// PGlite (the embedded default) is one session in this very process with no statement_timeout, no
// cancel and no new sessions: for it the stand-in applies the role's settings after each reset as a new
// session would (so `show statement_timeout` says what Neon's would), enforces statement_timeout itself
// by dropping the connection (pglite-socket then drops its queued statements and rolls back its
// transaction), and keeps one connection, so a reset always runs before the next request's statements.
import pg from 'pg';
import { postgresErrorBody } from './neon-errors.ts';

/** What Neon runs on a connection before another request may have it (tokio-postgres2 client.rs). */
const RESET_SESSION = `ROLLBACK; CLOSE ALL; SET SESSION AUTHORIZATION DEFAULT; RESET ALL; DEALLOCATE ALL;
UNLISTEN *; SELECT pg_advisory_unlock_all(); DISCARD TEMP; DISCARD SEQUENCES;`;

/**
 * ALTER ROLE … SET / ALTER DATABASE … SET as a new session applies them, most general first (database,
 * role, role in database), then the statement bound they leave, in ms.
 */
const APPLY_ROLE_SETTINGS = `
select set_config(split_part(c.setting, '=', 1), substr(c.setting, strpos(c.setting, '=') + 1), false)
  from pg_db_role_setting s cross join lateral unnest(s.setconfig) as c(setting)
 where s.setdatabase in (0, (select oid from pg_database where datname = current_database()))
   and s.setrole in (0, (select oid from pg_roles where rolname = current_user))
 order by case when s.setrole = 0 then 0 when s.setdatabase = 0 then 1 else 2 end`;
const STATEMENT_TIMEOUT_MS = `select setting::int as ms from pg_settings where name = 'statement_timeout'`;

/** How long Neon waits for a cancelled statement to end before it drops the connection. */
const CANCEL_GRACE_MS = 100;

export interface ComputeConditions {
  /** How long a compute scaled to zero takes to answer its first request; 0: always awake. */
  coldStartMs: number;
  /** Idle time after which the compute is scaled to zero again (Neon's default is 5 minutes). */
  idleMs: number;
}

export const DEFAULT_IDLE_MS = 5 * 60_000;

/** A Postgres error the stand-in raises itself (a statement bound it enforces for PGlite). */
export class StandInPostgresError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
  body() {
    return postgresErrorBody({ message: this.message, code: this.code, severity: 'ERROR' });
  }
}

/** The client went away: nothing is answered. */
export class ClientGone extends Error {}

interface Session {
  client: pg.PoolClient;
  /** The backend's process id, for a cancel (real Postgres only). */
  pid: number;
  broken: boolean;
}

interface ExtendedQuery extends pg.QueryArrayConfig {
  queryMode: 'extended';
}

/** Every value as Postgres' text output, as Neon-Raw-Text-Output asks; the client parses by type oid. */
const rawText = { getTypeParser: () => (value: string) => value };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class Compute {
  private pool: pg.Pool | undefined;
  private starting: Promise<pg.Pool> | undefined;
  private embedded = false;
  /** PGlite's one session's statement bound, as its role settings set it; 0 is none. */
  private embeddedStatementTimeoutMs = 0;
  private lastActive: number | undefined;
  private waking: Promise<void> | undefined;

  private readonly databaseUrl: string;
  conditions: ComputeConditions;

  constructor(databaseUrl: string, conditions: ComputeConditions) {
    this.databaseUrl = databaseUrl;
    this.conditions = conditions;
  }

  /** Scales the compute to zero: the next request waits for it to wake. */
  suspend(): void {
    this.lastActive = undefined;
  }

  private async start(): Promise<pg.Pool> {
    const probe = new pg.Client({ connectionString: this.databaseUrl });
    await probe.connect();
    try {
      const { rows } = await probe.query<{ version: string }>('select version()');
      this.embedded = rows[0]?.version.includes('PGlite') ?? false;
    } finally {
      await probe.end();
    }
    const pool = new pg.Pool({ connectionString: this.databaseUrl, max: this.embedded ? 1 : 20 });
    // A connection reset by a test's fault, a cancel or a restart must not take the process down.
    pool.on('error', () => {});
    if (this.embedded) await this.applyRoleSettings(pool);
    return pool;
  }

  private async applyRoleSettings(client: pg.Pool | pg.PoolClient): Promise<void> {
    await client.query(APPLY_ROLE_SETTINGS);
    const { rows } = await client.query<{ ms: number }>(STATEMENT_TIMEOUT_MS);
    this.embeddedStatementTimeoutMs = rows[0]?.ms ?? 0;
  }

  private async wake(signal: AbortSignal): Promise<void> {
    const { coldStartMs, idleMs } = this.conditions;
    const now = performance.now();
    if (coldStartMs > 0 && !this.waking && (this.lastActive === undefined || now - this.lastActive >= idleMs)) {
      this.waking = sleep(coldStartMs).then(() => {
        this.waking = undefined;
        this.lastActive = performance.now();
      });
    }
    if (this.waking) await Promise.race([this.waking, aborted(signal)]);
    this.lastActive = performance.now();
  }

  /** A session for one request: the compute woken if it was scaled to zero, a pooled connection. */
  async acquire(signal: AbortSignal): Promise<Session> {
    await this.wake(signal);
    this.starting ??= this.start();
    this.pool ??= await this.starting;
    const client = await this.pool.connect();
    const known = pids.get(client);
    if (known !== undefined) return { client, pid: known, broken: false };
    const { rows } = await client.query<{ pid: number }>('select pg_backend_pid() as pid');
    const pid = rows[0]?.pid ?? 0;
    pids.set(client, pid);
    return { client, pid, broken: false };
  }

  /** Back to the pool after Neon's reset; a connection that cannot be reset is closed instead. */
  async release(session: Session): Promise<void> {
    this.lastActive = performance.now();
    if (!session.broken) {
      try {
        await session.client.query(RESET_SESSION);
        if (this.embedded) await this.applyRoleSettings(session.client);
      } catch {
        session.broken = true;
      }
    }
    session.client.release(session.broken);
  }

  /** A plain statement of the stand-in's own (BEGIN, COMMIT, ROLLBACK). */
  async control(session: Session, text: string): Promise<void> {
    await session.client.query(text);
  }

  /**
   * Runs one of the client's statements over the extended protocol. When `signal` fires (the client
   * hung up) the statement is cancelled and ClientGone thrown; for PGlite, the statement bound is
   * enforced here.
   */
  async run(session: Session, text: string, values: (string | null)[], signal: AbortSignal) {
    const query: ExtendedQuery = { text, values, rowMode: 'array', types: rawText, queryMode: 'extended' };
    const running = session.client.query(query);
    // Settled either way below; a rejection after the stand-in gave up must not surface unhandled.
    running.catch(() => {});
    const bound = this.embedded ? this.embeddedStatementTimeoutMs : 0;
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      running.then(
        (result) => ({ result }),
        (error: unknown) => ({ error }),
      ),
      aborted(signal).then(() => ({ gone: true as const })),
      ...(bound > 0
        ? [new Promise<{ timedOut: true }>((resolve) => (timer = setTimeout(() => resolve({ timedOut: true }), bound)))]
        : []),
    ]);
    clearTimeout(timer);
    if ('result' in outcome) return outcome.result;
    if ('error' in outcome) throw outcome.error;
    if ('timedOut' in outcome) {
      this.drop(session);
      throw new StandInPostgresError('57014', 'canceling statement due to statement timeout');
    }
    await this.cancel(session, running);
    throw new ClientGone();
  }

  /** Neon's cancel: a cancel request to the backend, then after a grace the connection dropped. */
  private async cancel(session: Session, running: Promise<unknown>): Promise<void> {
    if (!this.embedded) {
      const canceller = new pg.Client({ connectionString: this.databaseUrl });
      try {
        await canceller.connect();
        await canceller.query('select pg_cancel_backend($1)', [session.pid]);
      } catch {
        // The drop below still ends it.
      } finally {
        await canceller.end().catch(() => {});
      }
    }
    const settled = await Promise.race([
      running.then(
        () => true,
        () => true,
      ),
      sleep(CANCEL_GRACE_MS).then(() => false),
    ]);
    if (!settled || this.embedded) this.drop(session);
  }

  /** Closes the session's connection under it: Postgres (and pglite-socket) roll back what it had open. */
  drop(session: Session): void {
    session.broken = true;
    session.client.connection.stream.destroy();
  }

  async close(): Promise<void> {
    const pool = this.pool ?? (await this.starting?.catch(() => undefined));
    await pool?.end();
  }
}

const pids = new WeakMap<pg.PoolClient, number>();

/** Settles when the client hangs up. */
export function aborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}
