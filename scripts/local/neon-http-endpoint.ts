// A stand-in for Neon's SQL-over-HTTP endpoint, in front of a local Postgres: what the Worker's
// `neon()` client (and drizzle's neon-http) talks to in dev, tests and the benchmark. Production talks
// to Neon itself, over TLS. Request and response formats are the driver's own (@neondatabase/serverless
// 1.2.0): POST /sql with Neon-Connection-String, Neon-Raw-Text-Output, Neon-Array-Mode and, for a
// batch, Neon-Batch-Isolation-Level / -Read-Only / -Deferrable; a body {query, params} or {queries};
// 200 {fields, rows, command, rowCount} or {results}.
//
// It refuses and fails where Neon's proxy does (neondatabase/neon proxy/src/serverless/sql_over_http.rs,
// http_util.rs, conn_pool_lib.rs), with Neon's statuses and bodies (every error body has all 17 fields,
// scripts/local/neon-errors.ts):
//   - the connection string is authenticated: a wrong user or password is 400 "password authentication
//     failed" with code ""; a database that does not exist is 400 with SQLSTATE 3D000;
//   - an unknown Neon-Batch-Isolation-Level is 400; a request body over 10 MiB is 413, a response over
//     10 MiB is 507 (neither with a SQLSTATE);
//   - one statement per query (extended protocol), sessions reset between requests, a client that hangs
//     up has its statement cancelled and its batch rolled back, the role's statement_timeout holds
//     (PGlite included), and a compute scaled to zero wakes first (coldStartMs): scripts/local/neon-compute.ts.
//
// Tests and the benchmark read and steer it over HTTP on the same port:
//   GET  /statements?application_name=…   statements sent with that application_name
//   GET  /statements?naming=…&naming=…   statements whose application_name has any of these words, each once
//   GET  /statements?kind=…                {count}: statements sent under every application_name whose
//                                          first two of three or more words are kind ("webhooks delivery"
//                                          counts each "webhooks delivery <id>"); kept however many there are
//   POST /faults {"mode": …}              make following requests fail (see FaultMode)
//   POST /conditions {…}                   the platform's conditions (see Conditions); absent keys take
//                                          their defaults; a coldStartMs scales the compute to zero now
//   POST /hold {"sql": …, "ms": n}         runs sql in a transaction of its own and keeps it (and its
//                                          locks) open n ms; answers once the locks are taken
//   POST /distance {"oneWayDelayMs": n}   simulate distance: every request and response waits n ms,
//                                          and a new connection one round trip more (its handshake)
//   GET  /round-trips                      round trips so far: each request, and each new connection,
//                                          and statements run so far (a batch's each count)
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import pg from 'pg';
import { aborted, ClientGone, Compute, DEFAULT_IDLE_MS, StandInPostgresError } from './neon-compute.ts';
import { NeonRefusal, postgresErrorBody, proxyErrorBody } from './neon-errors.ts';
import { readBody } from './read-body.ts';

export type FaultMode =
  /** Drop every connection as its request arrives: the endpoint is unreachable. */
  | { mode: 'refuse' }
  /** Accept requests and never answer: the endpoint hangs. */
  | { mode: 'hang' }
  /** Drop the connection when a statement containing `match` arrives, before or after Postgres ran it. */
  | { mode: 'cut'; match: string; when: 'before' | 'after' }
  /** Hold statements containing `match` for `ms` before running them. */
  | { mode: 'delay'; match: string; ms: number }
  /** Answer the next `times` statements containing `match` with this Postgres error instead of running them. */
  | { mode: 'error'; match: string; times: number; code: string; constraint?: string }
  | { mode: 'none' };

/** What Neon's platform imposes; the defaults are Neon's. */
export interface Conditions {
  /** A request body longer than this is 413. */
  maxRequestBytes: number;
  /** A response longer than this is 507. */
  maxResponseBytes: number;
  /** How long a compute scaled to zero takes to wake; 0: always awake. */
  coldStartMs: number;
  /** Idle time after which the compute scales to zero again. */
  idleMs: number;
}

const TEN_MIB = 10 * 1024 * 1024;
export const NEON_CONDITIONS: Conditions = {
  maxRequestBytes: TEN_MIB,
  maxResponseBytes: TEN_MIB,
  coldStartMs: 0,
  idleMs: DEFAULT_IDLE_MS,
};

export interface NeonHttpEndpoint {
  /** The connection string the Worker uses: the database's, with this endpoint as its host. */
  readonly databaseUrl: string;
  /** http://host:port, for the control routes. */
  readonly controlUrl: string;
  close(): Promise<void>;
}

interface Query {
  query: string;
  params?: (string | null)[];
}

const MAX_STATEMENTS_KEPT = 20_000;
const ISOLATION_LEVELS: Record<string, string> = {
  ReadUncommitted: 'read uncommitted',
  ReadCommitted: 'read committed',
  RepeatableRead: 'repeatable read',
  Serializable: 'serializable',
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Waits until `due` (performance.now() time) to within a few microseconds: timers fire up to a
 * millisecond or two late, which over two one-way delays per request would lengthen a 50 ms round trip
 * noticeably. Sleeps most of the way, then spins the last stretch.
 */
async function until(due: number): Promise<void> {
  const coarse = due - performance.now() - 5;
  if (coarse > 0) await sleep(coarse);
  while (performance.now() < due) await new Promise<void>((resolve) => setImmediate(resolve));
}

class Dropped extends Error {}

/**
 * Neon's checks of the connection string, against the role and database the stand-in serves: the
 * password first (an unknown role fails the same way), then the database, whose absence Postgres
 * itself reports (3D000) when the proxy connects.
 */
function authenticate(connectionString: string | undefined, served: URL): void {
  if (connectionString === undefined || !URL.canParse(connectionString)) {
    throw new NeonRefusal(400, proxyErrorBody('connection string is not a valid postgres URL'));
  }
  const given = new URL(connectionString);
  const user = decodeURIComponent(given.username);
  if (user !== decodeURIComponent(served.username) || given.password !== served.password) {
    throw new NeonRefusal(400, proxyErrorBody(`password authentication failed for user '${user}'`));
  }
  const database = decodeURIComponent(given.pathname.slice(1));
  if (database !== decodeURIComponent(served.pathname.slice(1))) {
    throw new NeonRefusal(
      400,
      postgresErrorBody({
        message: `database "${database}" does not exist`,
        code: '3D000',
        severity: 'FATAL',
        file: 'postinit.c',
        routine: 'InitPostgres',
      }),
    );
  }
}

export async function startNeonHttpEndpoint({
  databaseUrl,
  port = 0,
  conditions: initialConditions = {},
}: {
  databaseUrl: string;
  port?: number;
  conditions?: Partial<Conditions>;
}): Promise<NeonHttpEndpoint> {
  let conditions: Conditions = { ...NEON_CONDITIONS, ...initialConditions };
  const compute = new Compute(databaseUrl, conditions);
  const served = new URL(databaseUrl);
  let fault: FaultMode = { mode: 'none' };
  let oneWayDelayMs = 0;
  let roundTrips = 0;
  let statementCount = 0;
  const statements: { applicationName: string; sql: string }[] = [];
  const sockets = new Set<Socket>();
  /** Sockets that have not carried a request yet: their first one also pays the handshake. */
  const fresh = new WeakSet<Socket>();
  /** Transactions POST /hold keeps open. */
  const holds = new Set<pg.Client>();

  /** Statements per kind of application_name: a bounded map, unlike the names themselves. */
  const countsByKind = new Map<string, number>();

  function record(applicationName: string, sql: string): void {
    statementCount++;
    const words = applicationName.split(' ');
    const kind = words.length >= 3 ? words.slice(0, 2).join(' ') : (words[0] ?? '');
    countsByKind.set(kind, (countsByKind.get(kind) ?? 0) + 1);
    statements.push({ applicationName, sql });
    if (statements.length > MAX_STATEMENTS_KEPT) statements.splice(0, statements.length - MAX_STATEMENTS_KEPT);
  }

  /** Applies the current fault to one statement; throws Dropped when the connection must go. */
  async function beforeRunning(
    sql: string,
    socket: Socket,
    signal: AbortSignal,
  ): Promise<{ error?: object; cutAfter?: boolean }> {
    const current = fault;
    if (current.mode === 'cut' && sql.includes(current.match)) {
      if (current.when === 'before') {
        socket.destroy();
        throw new Dropped();
      }
      return { cutAfter: true };
    }
    // A slow statement: it keeps its connection, unless the client hangs up (then it is cancelled).
    if (current.mode === 'delay' && sql.includes(current.match))
      await Promise.race([sleep(current.ms), aborted(signal)]);
    if (current.mode === 'error' && current.times > 0 && sql.includes(current.match)) {
      current.times--;
      return {
        error: postgresErrorBody({
          message: `injected by the test endpoint (${current.code})`,
          severity: 'ERROR',
          code: current.code,
          constraint: current.constraint,
        }),
      };
    }
    return {};
  }

  function resultOf(result: pg.QueryResult<unknown[]>) {
    return {
      command: result.command,
      rowCount: result.rowCount,
      rows: result.rows,
      rowAsArray: true,
      fields: result.fields.map((field) => ({
        name: field.name,
        tableID: field.tableID,
        columnID: field.columnID,
        dataTypeID: field.dataTypeID,
        dataTypeSize: field.dataTypeSize,
        dataTypeModifier: field.dataTypeModifier,
        format: 'text',
      })),
    };
  }

  /** The request's checks, in Neon's order; throws NeonRefusal with Neon's answer. */
  function admit(request: IncomingMessage, body: string): { queries: Query[]; batch: boolean; begin: string } {
    const isolationHeader = request.headers['neon-batch-isolation-level'];
    const isolation = isolationHeader === undefined ? undefined : ISOLATION_LEVELS[String(isolationHeader)];
    if (isolationHeader !== undefined && isolation === undefined) {
      throw new NeonRefusal(400, proxyErrorBody('invalid isolation level'));
    }
    if (Buffer.byteLength(body) > conditions.maxRequestBytes) {
      throw new NeonRefusal(413, proxyErrorBody(`request is too large (max is ${conditions.maxRequestBytes} bytes)`));
    }
    let payload: Query | { queries: Query[] };
    try {
      payload = JSON.parse(body) as Query | { queries: Query[] };
    } catch (error) {
      throw new NeonRefusal(400, proxyErrorBody(`could not parse the HTTP request body: ${(error as Error).message}`));
    }
    const connectionString = request.headers['neon-connection-string'];
    authenticate(typeof connectionString === 'string' ? connectionString : undefined, served);
    const readOnly = request.headers['neon-batch-read-only'] === 'true';
    const deferrable = request.headers['neon-batch-deferrable'] === 'true';
    const begin = `begin${isolation ? ` isolation level ${isolation}` : ''}${readOnly ? ' read only' : ''}${deferrable ? ' deferrable' : ''}`;
    return 'queries' in payload
      ? { queries: payload.queries, batch: true, begin }
      : { queries: [payload], batch: false, begin };
  }

  async function runSql(
    request: IncomingMessage,
    body: string,
    socket: Socket,
    signal: AbortSignal,
  ): Promise<[number, object]> {
    let admitted: ReturnType<typeof admit>;
    try {
      admitted = admit(request, body);
    } catch (error) {
      if (error instanceof NeonRefusal) return [error.status, error.body];
      throw error;
    }
    const { queries, batch, begin } = admitted;
    const connectionString = String(request.headers['neon-connection-string']);
    const applicationName = new URL(connectionString).searchParams.get('application_name') ?? '';
    for (const { query } of queries) record(applicationName, query);

    const session = await compute.acquire(signal);
    const cuts: boolean[] = [];
    try {
      if (signal.aborted) throw new ClientGone();
      if (batch) await compute.control(session, begin);
      const results = [];
      try {
        for (const { query, params } of queries) {
          const { error, cutAfter } = await beforeRunning(query, socket, signal);
          if (error) {
            if (batch) await compute.control(session, 'rollback');
            return [400, error];
          }
          // A client gone between two statements of a batch: the rest never runs, the batch rolls back.
          if (signal.aborted) throw new ClientGone();
          cuts.push(cutAfter === true);
          results.push(resultOf(await compute.run(session, query, params ?? [], signal)));
        }
        if (signal.aborted) throw new ClientGone();
        if (batch) await compute.control(session, 'commit');
      } catch (error) {
        if (error instanceof Dropped || error instanceof ClientGone) {
          // Postgres rolls back what the dropped connection had open.
          compute.drop(session);
          throw error;
        }
        if (batch && !session.broken) await compute.control(session, 'rollback').catch(() => {});
        if (error instanceof StandInPostgresError) return [400, error.body()];
        return [400, postgresErrorBody(error as Record<string, unknown>)];
      }
      // Postgres ran (and committed) it all; the client never hears back.
      if (cuts.includes(true)) {
        socket.destroy();
        throw new Dropped();
      }
      const answer = batch ? { results } : (results[0] as object);
      return [200, answer];
    } finally {
      void compute.release(session);
    }
  }

  async function hold(sql: string, ms: number): Promise<void> {
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    holds.add(client);
    await client.query('begin');
    await client.query(sql);
    setTimeout(() => {
      void client
        .query('rollback')
        .finally(() => client.end())
        .catch(() => {})
        .finally(() => holds.delete(client));
    }, ms);
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://endpoint');
    const reply = (status: number, body: unknown) => {
      const text = typeof body === 'string' ? body : JSON.stringify(body);
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(text);
    };
    const body = await readBody(request);
    const arrived = performance.now();

    if (request.method === 'POST' && url.pathname === '/sql') {
      const socket = request.socket;
      const current = fault;
      roundTrips += fresh.has(socket) ? 2 : 1;
      const handshake = fresh.has(socket);
      fresh.delete(socket);
      if (current.mode === 'refuse') {
        socket.destroy();
        return;
      }
      if (current.mode === 'hang') return;
      // A client that hangs up before its answer: Neon cancels what it was running for it.
      const gone = new AbortController();
      response.on('close', () => {
        if (!response.writableFinished) gone.abort();
      });
      // The request's way here (and, on a new connection, the handshake before it), then the reply's way back.
      if (oneWayDelayMs > 0) await until(arrived + oneWayDelayMs * (handshake ? 3 : 1));
      let status: number;
      let result: object;
      try {
        [status, result] = await runSql(request, body, socket, gone.signal);
      } catch (error) {
        if (error instanceof Dropped || error instanceof ClientGone) return;
        throw error;
      }
      let text = JSON.stringify(result);
      if (status === 200 && Buffer.byteLength(text) > conditions.maxResponseBytes) {
        status = 507;
        text = JSON.stringify(proxyErrorBody(`response is too large (max is ${conditions.maxResponseBytes} bytes)`));
      }
      if (oneWayDelayMs > 0) await until(performance.now() + oneWayDelayMs);
      if (!socket.destroyed) reply(status, text);
      return;
    }
    if (request.method === 'GET' && url.pathname === '/statements' && url.searchParams.has('kind')) {
      return reply(200, { count: countsByKind.get(url.searchParams.get('kind') ?? '') ?? 0 });
    }
    if (request.method === 'GET' && url.pathname === '/statements' && url.searchParams.has('naming')) {
      // Statements whose application_name names any of these words (a group's statement names each of
      // its deliveries), each once.
      const words = new Set(url.searchParams.getAll('naming'));
      const named = statements.filter((s) => s.applicationName.split(' ').some((word) => words.has(word)));
      return reply(200, { statements: named.map((s) => s.sql) });
    }
    if (request.method === 'GET' && url.pathname === '/statements') {
      const name = url.searchParams.get('application_name');
      return reply(200, { statements: statements.filter((s) => s.applicationName === name).map((s) => s.sql) });
    }
    if (request.method === 'GET' && url.pathname === '/round-trips') return reply(200, { roundTrips, statementCount });
    if (request.method === 'POST' && url.pathname === '/faults') {
      fault = JSON.parse(body) as FaultMode;
      return reply(200, { fault });
    }
    if (request.method === 'POST' && url.pathname === '/conditions') {
      conditions = { ...NEON_CONDITIONS, ...(JSON.parse(body) as Partial<Conditions>) };
      compute.conditions = conditions;
      if (conditions.coldStartMs > 0) compute.suspend();
      return reply(200, { conditions });
    }
    if (request.method === 'POST' && url.pathname === '/hold') {
      const { sql, ms } = JSON.parse(body) as { sql: string; ms: number };
      await hold(sql, ms);
      return reply(200, { held: ms });
    }
    if (request.method === 'POST' && url.pathname === '/distance') {
      oneWayDelayMs = (JSON.parse(body) as { oneWayDelayMs: number }).oneWayDelayMs;
      return reply(200, { oneWayDelayMs });
    }
    reply(404, { message: 'not found' });
  }

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) response.writeHead(500, { 'content-type': 'text/plain' });
      response.end(`stand-in failure: ${(error as Error).message}`);
    });
  });
  // Neon keeps idle connections open far longer than Node's 5 s default.
  server.keepAliveTimeout = 120_000;
  server.on('connection', (socket) => {
    sockets.add(socket);
    fresh.add(socket);
    socket.setNoDelay(true);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the SQL endpoint did not bind a TCP port');

  const workerUrl = new URL(databaseUrl);
  workerUrl.hostname = '127.0.0.1';
  workerUrl.port = String(address.port);
  workerUrl.search = '';
  return {
    databaseUrl: workerUrl.toString(),
    controlUrl: `http://127.0.0.1:${address.port}`,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      for (const client of holds) await client.end().catch(() => {});
      await compute.close();
    },
  };
}
