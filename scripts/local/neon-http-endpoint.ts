// A stand-in for Neon's SQL-over-HTTP endpoint, in front of a local Postgres: what the Worker's
// `neon()` client (and drizzle's neon-http) talks to in dev, tests and the benchmark. Production talks
// to Neon itself, over TLS. Request and response formats are the driver's own (@neondatabase/serverless
// 1.2.0): POST /sql with Neon-Connection-String, Neon-Raw-Text-Output, Neon-Array-Mode and, for a
// batch, Neon-Batch-Isolation-Level / -Read-Only / -Deferrable; a body {query, params} or {queries};
// 200 {fields, rows, command, rowCount} or {results}; a Postgres error as 400 JSON with its SQLSTATE.
//
// Tests and the benchmark read and steer it over HTTP on the same port:
//   GET  /statements?application_name=…   statements sent with that application_name
//   GET  /statements?kind=…                {count}: statements sent under every application_name whose
//                                          first two of three or more words are kind ("webhooks delivery"
//                                          counts each "webhooks delivery <id>"); kept however many there are
//   POST /faults {"mode": …}              make following requests fail (see FaultMode)
//   POST /distance {"oneWayDelayMs": n}   simulate distance: every request and response waits n ms,
//                                          and a new connection one round trip more (its handshake)
//   GET  /round-trips                      round trips so far: each request, and each new connection,
//                                          and statements run so far (a batch's each count)
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import pg from 'pg';
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
/** Every value as Postgres' text output, as Neon-Raw-Text-Output asks; the client parses by type oid. */
const rawText = { getTypeParser: () => (value: string) => value };
const ERROR_FIELDS = [
  'severity',
  'code',
  'detail',
  'hint',
  'position',
  'internalPosition',
  'internalQuery',
  'where',
  'schema',
  'table',
  'column',
  'dataType',
  'constraint',
  'file',
  'line',
  'routine',
] as const;

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

export async function startNeonHttpEndpoint({
  databaseUrl,
  port = 0,
}: {
  databaseUrl: string;
  port?: number;
}): Promise<NeonHttpEndpoint> {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 20 });
  // A connection reset by a test's fault or a restart must not take the process down.
  pool.on('error', () => {});
  let fault: FaultMode = { mode: 'none' };
  let oneWayDelayMs = 0;
  let roundTrips = 0;
  let statementCount = 0;
  const statements: { applicationName: string; sql: string }[] = [];
  const sockets = new Set<Socket>();
  /** Sockets that have not carried a request yet: their first one also pays the handshake. */
  const fresh = new WeakSet<Socket>();

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
  async function beforeRunning(sql: string, socket: Socket): Promise<{ error?: object; cutAfter?: boolean }> {
    const current = fault;
    if (current.mode === 'cut' && sql.includes(current.match)) {
      if (current.when === 'before') {
        socket.destroy();
        throw new Dropped();
      }
      return { cutAfter: true };
    }
    if (current.mode === 'delay' && sql.includes(current.match)) await sleep(current.ms);
    if (current.mode === 'error' && current.times > 0 && sql.includes(current.match)) {
      current.times--;
      return {
        error: {
          message: `injected by the test endpoint (${current.code})`,
          severity: 'ERROR',
          code: current.code,
          ...(current.constraint ? { constraint: current.constraint } : {}),
        },
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

  function postgresError(error: unknown): object {
    const source = error as Record<string, unknown>;
    const body: Record<string, unknown> = { message: String(source.message ?? error) };
    for (const field of ERROR_FIELDS) if (source[field] !== undefined) body[field] = source[field];
    return body;
  }

  async function runSql(request: IncomingMessage, body: string, socket: Socket): Promise<[number, object]> {
    const connectionString = request.headers['neon-connection-string'];
    if (typeof connectionString !== 'string') return [400, { message: 'missing Neon-Connection-String' }];
    const applicationName = new URL(connectionString).searchParams.get('application_name') ?? '';
    const payload = JSON.parse(body) as Query | { queries: Query[] };
    const queries = 'queries' in payload ? payload.queries : [payload];
    for (const { query } of queries) record(applicationName, query);

    const client = await pool.connect();
    let broken = false;
    const cuts: boolean[] = [];
    try {
      const batch = 'queries' in payload;
      if (batch) {
        const isolation = ISOLATION_LEVELS[String(request.headers['neon-batch-isolation-level'])];
        const readOnly = request.headers['neon-batch-read-only'] === 'true';
        const deferrable = request.headers['neon-batch-deferrable'] === 'true';
        await client.query(
          `begin${isolation ? ` isolation level ${isolation}` : ''}${readOnly ? ' read only' : ''}${deferrable ? ' deferrable' : ''}`,
        );
      }
      const results = [];
      try {
        for (const { query, params } of queries) {
          const { error, cutAfter } = await beforeRunning(query, socket);
          if (error) {
            if (batch) await client.query('rollback');
            return [400, error];
          }
          cuts.push(cutAfter === true);
          results.push(
            resultOf(await client.query({ text: query, values: params ?? [], rowMode: 'array', types: rawText })),
          );
        }
        if (batch) await client.query('commit');
      } catch (error) {
        if (error instanceof Dropped) {
          broken = true;
          throw error;
        }
        if (batch) await client.query('rollback').catch(() => {});
        return [400, postgresError(error)];
      }
      // Postgres ran (and committed) it all; the client never hears back.
      if (cuts.includes(true)) {
        socket.destroy();
        throw new Dropped();
      }
      return [200, batch ? { results } : (results[0] as object)];
    } finally {
      client.release(broken);
    }
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://endpoint');
    const reply = (status: number, body: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(body));
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
      // The request's way here (and, on a new connection, the handshake before it), then the reply's way back.
      if (oneWayDelayMs > 0) await until(arrived + oneWayDelayMs * (handshake ? 3 : 1));
      let status: number;
      let result: object;
      try {
        [status, result] = await runSql(request, body, socket);
      } catch (error) {
        if (error instanceof Dropped) return;
        throw error;
      }
      if (oneWayDelayMs > 0) await until(performance.now() + oneWayDelayMs);
      if (!socket.destroyed) reply(status, result);
      return;
    }
    if (request.method === 'GET' && url.pathname === '/statements' && url.searchParams.has('kind')) {
      return reply(200, { count: countsByKind.get(url.searchParams.get('kind') ?? '') ?? 0 });
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
      await pool.end();
    },
  };
}
