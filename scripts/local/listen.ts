// `npm run cli -- listen`: a webhook endpoint on this machine for trying deliveries out. It verifies each
// one as an integrator would (the standardwebhooks library, webhook-receiver.ts's verify), prints it,
// and answers with the status it was told to, so retries, 410 and the circuit can be watched too.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readBody } from './read-body.ts';
import { UserError } from './user-error.ts';
import { verify } from './webhook-receiver.ts';

export interface ListenOptions {
  port: number;
  /** The webhook's signing secret (and, during a rotation, the previous one). */
  secrets: string[];
  /** What to answer every delivery with. */
  status: number;
}

const time = () => new Date().toISOString().slice(11, 19);

/** What the service makes of a failing answer (src/deliveries/send.ts, deliver.ts). */
function consequence(status: number): string {
  if (status === 410) return 'the service stops, deactivates the webhook and cancels what is pending';
  if (status >= 300 && status < 400) return 'a failed attempt (redirects are not followed), which the service retries';
  return 'a failed attempt, which the service retries (and counts toward the circuit breaker)';
}

/** One line per delivery: what arrived, that it verified, what was answered and, when failing, what that means. */
function answerLine(status: number, event: string, id: string): string {
  if (status < 300) return `✓ ${event} webhook-id ${id}: signature verified, answered ${status}`;
  return `✗ ${event} webhook-id ${id}: signature verified, answered ${status} as told: ${consequence(status)}`;
}

export async function listen({ port, secrets, status }: ListenOptions): Promise<void> {
  const servers: Server[] = [];
  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const body = await readBody(request);
    const headers = Object.fromEntries(
      Object.entries(request.headers).map(([name, value]) => [
        name,
        Array.isArray(value) ? value.join(', ') : `${value}`,
      ]),
    );
    const verified = verify(secrets, body, headers);
    const id = headers['webhook-id'] ?? '(no webhook-id)';
    if (verified.with.length === 0) {
      // What a receiver must do with a delivery it cannot verify: refuse it.
      console.log(`[${time()}] ✗ ${request.method} ${request.url} ${id}: not verified (${verified.error}) → 401`);
      response.writeHead(401, { 'content-type': 'text/plain' }).end('signature not verified');
      return;
    }
    let event = '(not JSON)';
    try {
      event = (JSON.parse(body) as { event?: string }).event ?? '(no event)';
    } catch {}
    console.log(`[${time()}] ${answerLine(status, event, id)}\n  ${body}`);
    response.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'ok' : 'failing on purpose');
  }
  // On 127.0.0.1 and on ::1, so that a webhook to http://localhost:PORT arrives whichever one localhost
  // resolves to first; a machine without IPv6 has 127.0.0.1 alone.
  const bind = (host: string) =>
    new Promise<void>((resolve, reject) => {
      const server = createServer(handle);
      servers.push(server);
      server.once('error', (error: NodeJS.ErrnoException) => {
        if (host === '::1' && error.code === 'EADDRNOTAVAIL') return resolve();
        reject(error.code === 'EADDRINUSE' ? new UserError(`port ${port} is in use; pick another with --port`) : error);
      });
      server.listen(port, host, resolve);
    });
  await bind('127.0.0.1');
  await bind('::1');
  console.log(
    `Listening on http://localhost:${port}/ (any path), answering ${status}, verifying with ${secrets.length} secret(s). Ctrl-C stops.`,
  );
  await new Promise<void>((resolve) => {
    const stop = () =>
      Promise.all(servers.map((server) => new Promise((done) => server.close(done)))).then(() => resolve());
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void stop());
  });
}
