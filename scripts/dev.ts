// npm run dev: the whole service on this machine. Embedded Postgres (or DATABASE_URL), migrations, the
// stand-in for Neon's SQL-over-HTTP endpoint the Worker's driver talks to, wrangler dev on
// 127.0.0.1:8787 (--port or PORT to change it), and a dev API key with a curl example to try it.
//
// Stops everything it started on SIGINT (Ctrl-C), SIGTERM or SIGHUP, whichever process of the
// `npm run dev` chain receives it (scripts/with-node.mjs passes them on). Fires the Worker's crons on
// their schedule (local/dev-cron.ts). After a SIGKILL, nothing it started keeps running (one process
// group), and the next start stops whatever was left if that group was not the one killed.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { migrateDatabase } from './db/migrate.ts';
import { ensureDevCredentials } from './local/dev-credentials.ts';
import { configuredCrons, runCrons } from './local/dev-cron.ts';
import {
  assertNoDevServer,
  dataDir,
  projectRoot,
  recordDevServer,
  serveEmbeddedDatabase,
  stopLeftovers,
} from './local/dev-database.ts';
import { routeDevLog } from './local/dev-log.ts';
import { processTree, stopProcesses } from './local/dev-processes.ts';
import { ensureDevSecrets } from './local/dev-secrets.ts';
import { startNeonHttpEndpoint } from './local/neon-http-endpoint.ts';
import { openPortalLink } from './local/portal-link.ts';
import { UserError } from './local/user-error.ts';
import { waitUntilServing, wranglerBin } from './local/wrangler.ts';

const HOST = '127.0.0.1';
const USAGE = 'Usage: npm run dev [-- --port N] [-- --logs]   (or PORT=N npm run dev)';
/** wrangler's and the Worker's output, without colours; on the terminal too with --logs. */
const LOG_FILE = join(dataDir, 'dev.log');

function chosenOptions(): { port: number; logs: boolean } {
  let values: { port?: string; help?: boolean; logs?: boolean };
  try {
    ({ values } = parseArgs({
      options: { port: { type: 'string' }, help: { type: 'boolean', short: 'h' }, logs: { type: 'boolean' } },
      strict: true,
    }));
  } catch (error) {
    throw new UserError(`${(error as Error).message}\n${USAGE}`);
  }
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const text = values.port ?? process.env.PORT ?? '8787';
  const port = Number(text);
  if (!/^\d+$/.test(text) || port < 1 || port > 65535)
    throw new UserError(`port must be 1–65535, not ${JSON.stringify(text)}`);
  return { port, logs: values.logs ?? false };
}

function ensurePortFree(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', () =>
      reject(new UserError(`port ${port} on ${HOST} is in use (another npm run dev?); pick another with --port`)),
    );
    probe.listen(port, HOST, () => probe.close(() => resolve()));
  });
}

const cleanups: (() => Promise<void> | void)[] = [];
let wrangler: ChildProcess | undefined;
/** wrangler and the processes under it, as last seen: once wrangler has gone, its children cannot be found from it. */
let wranglerProcesses: number[] = [];
let stopping: Promise<never> | undefined;

/**
 * Stops everything, once: however many signals arrive, and when wrangler's own exit asks again while
 * a stop is under way, every caller waits for the same clean-ups (the state file, the SQL endpoint,
 * PGlite's clean close) before the process exits.
 */
function stop(exitCode: number): Promise<never> {
  stopping ??= stopEverything(exitCode);
  return stopping;
}

async function stopEverything(exitCode: number): Promise<never> {
  if (wrangler?.pid !== undefined) {
    const tree = new Set([...wranglerProcesses, ...processTree(wrangler.pid)]);
    await stopProcesses([...tree], projectRoot, 5000);
  }
  for (const cleanup of cleanups.reverse()) {
    try {
      await cleanup();
    } catch (error) {
      console.error(`[dev] clean-up failed: ${(error as Error).message}`);
    }
  }
  process.exit(exitCode);
}
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => void stop(0));

const DEV_DELIVERY_VARS = [
  'DELIVERY_ALLOW_PRIVATE_TARGETS:true',
  'DELIVERY_RETRY_SCHEDULE:2,10,30',
  'CIRCUIT_COOL_DOWN_SECONDS:60',
  'STRANDED_AFTER_SECONDS:10',
  // A webhook failing for a minute is disabled at its next failed attempt (README "When a webhook fails").
  'AUTO_DISABLE_AFTER_SECONDS:60',
];

async function main(): Promise<void> {
  const { port, logs } = chosenOptions();
  assertNoDevServer();
  const leftovers = await stopLeftovers();
  if (leftovers.length > 0)
    console.log(
      `[dev] stopped ${leftovers.length} processes a killed npm run dev left running (pids ${leftovers.join(', ')})`,
    );
  await ensurePortFree(port);
  mkdirSync(dataDir, { recursive: true });
  ensureDevSecrets();

  const external = process.env.DATABASE_URL;
  const embedded = external ? undefined : await serveEmbeddedDatabase();
  if (embedded) cleanups.push(() => embedded.close());
  const databaseUrl = external ?? (embedded as { url: string }).url;
  const record = recordDevServer(databaseUrl, `http://${HOST}:${port}`);
  cleanups.push(() => record.forget());
  console.log(`[dev] database: ${external ? 'DATABASE_URL' : 'embedded PGlite in .data/pglite'}`);

  await migrateDatabase(databaseUrl);
  const endpoint = await startNeonHttpEndpoint({ databaseUrl });
  cleanups.push(() => endpoint.close());
  const credentials = await ensureDevCredentials(databaseUrl, !external);

  wrangler = spawn(
    wranglerBin,
    [
      'dev',
      '--ip',
      HOST,
      '--port',
      String(port),
      // With --env-file, wrangler takes secrets from that file and from the environment (DATABASE_URL).
      '--env-file',
      '.data/dev.env',
      // Deliveries on a laptop: receivers on localhost, retries within a minute, a circuit that cools
      // down in one, what a crash stranded taken 10 s past due (production: no private targets,
      // retries over a day, an hour's cool-down, 60 s).
      ...DEV_DELIVERY_VARS.flatMap((binding) => ['--var', binding]),
    ],
    // In npm's process group, not one of its own: a SIGKILL to the group (a crash, a closed terminal)
    // then takes wrangler, workerd and esbuild down with everything else, and nothing goes on serving
    // without its database. The Worker's DATABASE_URL names the local endpoint, which
    // src/db/client.ts reaches over plain http.
    {
      cwd: projectRoot,
      // Into .data/dev.log (dev-log.ts): the terminal shows the banner, not wrangler's start-up output.
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, DATABASE_URL: endpoint.databaseUrl },
    },
  );
  const devLog = routeDevLog(
    LOG_FILE,
    [wrangler.stdout, wrangler.stderr].filter((stream) => stream !== null),
    {
      echo: logs,
    },
  );
  wrangler.on('exit', (code) => void stop(code ?? 0));
  wrangler.on('error', (error) => {
    console.error(`[dev] could not start wrangler: ${error.message}`);
    void stop(1);
  });

  const base = `http://${HOST}:${port}`;
  try {
    await waitUntilServing(`${base}/health`, wrangler);
  } catch (error) {
    if (!logs) console.error(`[dev] wrangler said:\n${devLog.tail(20).join('\n')}`);
    throw error;
  }
  // Noted in the state file too: if this process is killed outright, the next start stops them.
  const noteProcesses = () => {
    if (wrangler?.pid === undefined || stopping) return;
    wranglerProcesses = processTree(wrangler.pid);
    record.recordProcesses(wranglerProcesses);
  };
  noteProcesses();
  setInterval(noteProcesses, 10_000).unref();
  const crons = runCrons(base, configuredCrons(projectRoot), (message) => console.error(`[dev] ${message}`));
  cleanups.push(() => crons.stop());

  const example = JSON.stringify({
    url: 'https://example.com/webhooks/instaview',
    events: ['INTERVIEW_COMPLETED', 'PING'],
  });
  const portal = await openPortalLink(base, credentials.token, { expiresInSeconds: 3600 });
  console.log(`
InstaView webhooks API is running on ${base}
${credentials.created ? 'Created' : 'Using'} the dev account ${credentials.accountId} (company ${credentials.companyId})
API key (write:webhooks, read:webhooks): ${credentials.token}
Webhook portal (until ${portal.expiresAt}; then npm run -s cli -- portal open --account ${credentials.accountId}): ${portal.url}

Try it:
  curl -sS -X POST ${base}/webhooks \\
    -H 'Authorization: Bearer ${credentials.token}' \\
    -H 'Content-Type: application/json' \\
    -d '${example}'

Operator CLI (in another terminal, in this folder): npm run -s cli -- --help
Reference: ${base}/docs
Logs: .data/dev.log (one JSON line per request; npm run dev -- --logs shows them here)
Stop with Ctrl-C (or kill -TERM ${process.pid}).
`);
}

try {
  await main();
} catch (error) {
  // A known problem is one line; anything else keeps its stack for whoever has to fix it.
  console.error(error instanceof UserError ? `[dev] ${error.message}` : error);
  await stop(1);
}
