// Where local tooling finds its database: DATABASE_URL when set, otherwise the embedded PGlite in
// .data/pglite, reached through the running `npm run dev` (PGlite allows one process per data directory)
// or opened here when dev is not running. A running `npm run dev` records its database in
// .data/dev-server.json, so the CLI knows which database (and so which TOKEN_CACHE) is the local one.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDevServer, stillRunning, stopProcesses } from './dev-processes.ts';
import { startEmbeddedPostgres } from './embedded-postgres.ts';
import { UserError } from './user-error.ts';

export const projectRoot = fileURLToPath(new URL('../..', import.meta.url));
export const dataDir = join(projectRoot, '.data');
const pgliteDir = join(dataDir, 'pglite');
const stateFile = join(dataDir, 'dev-server.json');

export interface DevDatabase {
  readonly url: string;
  /** The embedded database, or the one a running `npm run dev` serves: its cache is wrangler's local state. */
  readonly isDevDatabase: boolean;
  readonly embedded: boolean;
  close(): Promise<void>;
}

interface DevServerState {
  pid: number;
  databaseUrl: string;
  /** Where it serves the API, http://127.0.0.1:<port>. */
  apiUrl: string;
  /** wrangler and the processes under it (workerd, esbuild), once it serves: what a crash may leave running. */
  processes?: number[];
}

function readState(): DevServerState | undefined {
  if (!existsSync(stateFile)) return undefined;
  return JSON.parse(readFileSync(stateFile, 'utf8')) as DevServerState;
}

function runningDevServer(): DevServerState | undefined {
  const state = readState();
  // By its command line, not the pid alone: after a crash the system may have given the pid to another process.
  return state && isDevServer(state.pid) ? state : undefined;
}

/** Refuses to start a second `npm run dev` against the same project. */
export function assertNoDevServer(): void {
  const other = runningDevServer();
  if (other) throw new UserError(`npm run dev is already running (pid ${other.pid}); stop it first`);
}

/**
 * What the last `npm run dev` of this checkout left running when it was killed before it could stop
 * its processes (SIGKILL, a closed terminal): stopped, and their pids returned for the user to be told.
 */
export async function stopLeftovers(): Promise<number[]> {
  const state = readState();
  if (!state || isDevServer(state.pid)) return [];
  const left = stillRunning(state.processes ?? [], projectRoot);
  await stopProcesses(left, projectRoot);
  rmSync(stateFile, { force: true });
  return left;
}

export interface DevServerRecord {
  /** Notes wrangler's processes, so that the next start can stop them if this one cannot. */
  recordProcesses(pids: number[]): void;
  forget(): void;
}

/** Tells other tools which database this `npm run dev` serves, and the next start what it runs. */
export function recordDevServer(databaseUrl: string, apiUrl: string): DevServerRecord {
  const state: DevServerState = { pid: process.pid, databaseUrl, apiUrl };
  writeFileSync(stateFile, JSON.stringify(state));
  return {
    recordProcesses: (processes) => writeFileSync(stateFile, JSON.stringify({ ...state, processes })),
    forget: () => rmSync(stateFile, { force: true }),
  };
}

export function serveEmbeddedDatabase() {
  return startEmbeddedPostgres({ dataDir: pgliteDir });
}

/** The API of the running `npm run dev`, if one is running. */
export function devServerApiUrl(): string | undefined {
  return runningDevServer()?.apiUrl;
}

/** The database the operator CLI should use. */
export async function openDevDatabase(): Promise<DevDatabase> {
  const configured = process.env.DATABASE_URL;
  const running = runningDevServer();
  if (configured) {
    const isDevDatabase = running?.databaseUrl === configured;
    return { url: configured, isDevDatabase, embedded: false, close: async () => {} };
  }
  if (running) return { url: running.databaseUrl, isDevDatabase: true, embedded: true, close: async () => {} };
  const server = await startEmbeddedPostgres({ dataDir: pgliteDir });
  return { url: server.url, isDevDatabase: true, embedded: true, close: () => server.close() };
}
