// A stand-in for Neon's WebSocket proxy: the service's driver (@neondatabase/serverless) speaks the
// Postgres wire protocol over a WebSocket, and this relays it to a local Postgres over TCP. Dev and test
// tooling only; production talks to Neon directly.
//
// It also watches the client side of the protocol, which tests and the benchmark read over HTTP:
//   GET  /statements?application_name=…   statements seen on connections started with that name
//   POST /faults {"mode": …}              inject a fault into new connections (see FaultMode)
//   POST /distance {"oneWayDelayMs": n}   simulate distance: every message waits n ms each way, and
//                                          the TCP and WebSocket handshakes one round trip each
//   GET  /round-trips                      round trips so far: exchanges in which the client waited
//                                          for the server (handshakes, startup, auth, statements)
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { connect, type Socket } from 'node:net';
import type { WebSocket, WebSocketServer } from 'ws';
import { readBody } from './read-body.ts';

// `import 'ws'` resolves to its browser stub under vitest's Node runner; require always gets the server.
const { WebSocketServer: WebSocketServerClass } = createRequire(import.meta.url)('ws') as typeof import('ws');

export type FaultMode =
  /** Close every new WebSocket at once: the database is unreachable. */
  | { mode: 'refuse' }
  /** Accept WebSockets and never answer: the database hangs. */
  | { mode: 'hang' }
  /** Drop the connection when a statement containing `match` arrives, before or after Postgres gets it. */
  | { mode: 'cut'; match: string; when: 'before' | 'after' }
  /** Hold statements containing `match` for `ms` before forwarding them. */
  | { mode: 'delay'; match: string; ms: number }
  /** Answer the next `times` statements containing `match` with this Postgres error instead of running them. */
  | { mode: 'error'; match: string; times: number; code: string; constraint?: string }
  | { mode: 'none' };

export interface NeonRelay {
  /** host:port/v1, the form `neonConfig.wsProxy` takes. */
  readonly wsProxy: string;
  /** http://host:port, for /statements and /faults. */
  readonly controlUrl: string;
  close(): Promise<void>;
}

interface RelayOptions {
  /** The Postgres it relays to; its host:port is the only address the relay will connect to. */
  databaseUrl: string;
  port?: number;
}

const STARTUP_PROTOCOL_V3 = 196608;
const MAX_STATEMENTS_KEPT = 20_000;
const TERMINATE = 0x58; // 'X'
const QUERY = 0x51; // 'Q'
const PARSE = 0x50; // 'P'
const SYNC = 0x53; // 'S'

/** Incrementally splits the client→server byte stream into Postgres frontend messages. */
class FrontendMessageReader {
  private buffer: Buffer = Buffer.alloc(0);
  private startupSeen = false;
  private readonly onStartup: (frame: Buffer, parameters: Map<string, string> | undefined) => void;
  private readonly onMessage: (frame: Buffer, type: number, body: Buffer) => void;

  constructor(
    onStartup: (frame: Buffer, parameters: Map<string, string> | undefined) => void,
    onMessage: (frame: Buffer, type: number, body: Buffer) => void,
  ) {
    this.onStartup = onStartup;
    this.onMessage = onMessage;
  }

  push(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    for (;;) {
      if (!this.startupSeen) {
        if (this.buffer.length < 8) return;
        const length = this.buffer.readInt32BE(0);
        if (this.buffer.length < length) return;
        const frame = this.buffer.subarray(0, length);
        this.buffer = this.buffer.subarray(length);
        // An SSLRequest or GSSENCRequest may come before the real startup message.
        const isStartup = frame.readInt32BE(4) === STARTUP_PROTOCOL_V3;
        this.startupSeen = isStartup;
        this.onStartup(frame, isStartup ? parseStartupParameters(frame.subarray(8)) : undefined);
        continue;
      }
      if (this.buffer.length < 5) return;
      const length = this.buffer.readInt32BE(1);
      if (this.buffer.length < length + 1) return;
      const frame = this.buffer.subarray(0, length + 1);
      this.buffer = this.buffer.subarray(length + 1);
      this.onMessage(frame, frame[0] as number, frame.subarray(5));
    }
  }
}

function parseStartupParameters(bytes: Buffer): Map<string, string> {
  const parts = bytes.toString('utf8').split('\0');
  const parameters = new Map<string, string>();
  for (let i = 0; i + 1 < parts.length && parts[i] !== ''; i += 2)
    parameters.set(parts[i] as string, parts[i + 1] as string);
  return parameters;
}

/** ErrorResponse then ReadyForQuery(idle): what Postgres sends when a statement fails outside a transaction. */
function errorResponse(code: string, constraint: string | undefined): Buffer {
  const fields: [string, string][] = [
    ['S', 'ERROR'],
    ['V', 'ERROR'],
    ['C', code],
    ['M', `injected by the test relay (${code})`],
    ...(constraint ? ([['n', constraint]] as [string, string][]) : []),
  ];
  const body = Buffer.concat([...fields.map(([type, value]) => Buffer.from(`${type}${value}\0`)), Buffer.from([0])]);
  const header = Buffer.alloc(5);
  header[0] = 0x45; // 'E'
  header.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([header, body, Buffer.from([0x5a, 0, 0, 0, 5, 0x49])]); // 'Z', length 5, 'I'
}

function statementText(type: number, body: Buffer): string | undefined {
  if (type === QUERY) return body.toString('utf8', 0, body.indexOf(0));
  if (type === PARSE) {
    const nameEnd = body.indexOf(0);
    return body.toString('utf8', nameEnd + 1, body.indexOf(0, nameEnd + 1));
  }
  return undefined;
}

export async function startNeonRelay({ databaseUrl, port = 0 }: RelayOptions): Promise<NeonRelay> {
  const { hostname, port: databasePort } = new URL(databaseUrl);
  const target = `${hostname}:${databasePort || 5432}`;
  let fault: FaultMode = { mode: 'none' };
  let oneWayDelayMs = 0;
  let roundTrips = 0;
  let statementCount = 0;
  const later = (action: () => void) => (oneWayDelayMs > 0 ? void setTimeout(action, oneWayDelayMs) : action());
  const statements: { applicationName: string; sql: string }[] = [];
  const open = new Set<{ ws: WebSocket; tcp?: Socket }>();

  function relay(ws: WebSocket, address: string): void {
    const connection: { ws: WebSocket; tcp?: Socket } = { ws };
    open.add(connection);
    ws.on('close', () => {
      connection.tcp?.destroy();
      open.delete(connection);
    });
    ws.on('error', () => connection.tcp?.destroy());
    const activeFault = fault;
    if (activeFault.mode === 'refuse') {
      ws.close(1011, 'database unavailable');
      return;
    }
    if (activeFault.mode === 'hang') return;

    const [host, portText] = splitHostPort(address);
    const tcp = connect({ host, port: Number(portText) });
    connection.tcp = tcp;
    tcp.setNoDelay(true);
    // Round trips: the TCP and WebSocket handshakes, then each time the client speaks after hearing back.
    roundTrips += 2;
    let clientTurn = true;
    tcp.on('data', (data) => {
      clientTurn = true;
      later(() => ws.readyState === ws.OPEN && ws.send(data));
    });
    tcp.on('close', () => ws.readyState === ws.OPEN && ws.close());
    tcp.on('error', () => ws.terminate());

    let applicationName = '';
    // Messages are forwarded in order; a delayed statement holds back everything behind it.
    let forwarding = Promise.resolve();
    const forward = (bytes: Buffer) => {
      // Each message arrives one delay after it was sent, in order, whatever came before it.
      const due = Date.now() + oneWayDelayMs;
      forwarding = forwarding
        .then(() => (due > Date.now() ? new Promise((resolve) => setTimeout(resolve, due - Date.now())) : undefined))
        .then(() => {
          if (!tcp.destroyed) tcp.write(bytes);
        });
    };
    let cutAtSync = false;
    let failAtSync: Buffer | undefined;
    const reader = new FrontendMessageReader(
      (frame, parameters) => {
        if (parameters) applicationName = parameters.get('application_name') ?? '';
        forward(frame);
      },
      (frame, type, body) => {
        const sql = statementText(type, body);
        if (sql !== undefined) {
          statementCount++;
          statements.push({ applicationName, sql });
          if (statements.length > MAX_STATEMENTS_KEPT) statements.splice(0, statements.length - MAX_STATEMENTS_KEPT);
          const current = fault;
          if (current.mode === 'cut' && sql.includes(current.match)) {
            if (current.when === 'before') {
              ws.terminate();
              tcp.destroy();
              return;
            }
            cutAtSync = true;
          }
          if (current.mode === 'delay' && sql.includes(current.match)) {
            forwarding = forwarding.then(() => new Promise((resolve) => setTimeout(resolve, current.ms).unref()));
          }
          if (current.mode === 'error' && current.times > 0 && sql.includes(current.match)) {
            current.times--;
            failAtSync = errorResponse(current.code, current.constraint);
          }
        }
        if (failAtSync) {
          // Swallow the statement's messages; at its Sync, answer as Postgres would have.
          if (type === SYNC) {
            const reply = failAtSync;
            failAtSync = undefined;
            forwarding = forwarding.then(() => void ws.send(reply));
          }
          return;
        }
        forward(frame);
        if (type === SYNC && cutAtSync) {
          // Postgres has the whole statement; let it run and commit, but the client never hears back.
          connection.tcp = undefined;
          forwarding = forwarding.then(() => {
            tcp.end();
            ws.terminate();
          });
        }
        // The driver never closes its WebSocket after Terminate; a real server hangs up, PGlite does not.
        if (type === TERMINATE) forwarding = forwarding.then(() => void tcp.end());
      },
    );
    ws.on('message', (data: Buffer) => {
      if (clientTurn) {
        roundTrips++;
        clientTurn = false;
      }
      reader.push(data);
    });
  }

  const server = createServer((request, response) => void control(request, response));
  const wss: WebSocketServer = new WebSocketServerClass({ noServer: true });
  server.on('upgrade', (request, socket, head) => {
    const url = new URL(request.url ?? '/', 'http://relay');
    const address = url.searchParams.get('address') ?? '';
    if (url.pathname !== '/v1' || address !== target) {
      socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
      return;
    }
    // The TCP handshake and the upgrade itself: two round trips before the first Postgres message.
    const upgrade = () => wss.handleUpgrade(request, socket, head, (ws) => relay(ws, address));
    if (oneWayDelayMs > 0) setTimeout(upgrade, 4 * oneWayDelayMs);
    else upgrade();
  });

  async function control(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://relay');
    const reply = (status: number, body: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(body));
    };
    if (request.method === 'GET' && url.pathname === '/statements') {
      const name = url.searchParams.get('application_name');
      return reply(200, { statements: statements.filter((s) => s.applicationName === name).map((s) => s.sql) });
    }
    if (request.method === 'GET' && url.pathname === '/round-trips') return reply(200, { roundTrips, statementCount });
    if (request.method === 'POST' && url.pathname === '/distance') {
      const body = await readBody(request);
      oneWayDelayMs = (JSON.parse(body) as { oneWayDelayMs: number }).oneWayDelayMs;
      return reply(200, { oneWayDelayMs });
    }
    if (request.method === 'POST' && url.pathname === '/faults') {
      const body = await readBody(request);
      fault = JSON.parse(body) as FaultMode;
      return reply(200, { fault });
    }
    reply(404, { error: 'not found' });
  }

  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('relay did not bind a TCP port');
  return {
    wsProxy: `127.0.0.1:${address.port}/v1`,
    controlUrl: `http://127.0.0.1:${address.port}`,
    close: async () => {
      for (const { ws, tcp } of open) {
        ws.terminate();
        tcp?.destroy();
      }
      wss.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function splitHostPort(address: string): [string, string] {
  const colon = address.lastIndexOf(':');
  return [address.slice(0, colon).replace(/^\[|\]$/g, ''), address.slice(colon + 1)];
}
