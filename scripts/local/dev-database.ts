// Where local tooling finds its database: DATABASE_URL when set, otherwise the embedded PGlite in
// .data/pglite, reached through the running `npm run dev` (PGlite allows one process per data directory)
// or opened here when dev is not running. A running `npm run dev` records its database in
// .data/dev-server.json, so the CLI knows which database (and so which TOKEN_CACHE) is the local one.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
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
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function runningDevServer(): DevServerState | undefined {
  if (!existsSync(stateFile)) return undefined;
  const state = JSON.parse(readFileSync(stateFile, 'utf8')) as DevServerState;
  return isRunning(state.pid) ? state : undefined;
}

/** Refuses to start a second `npm run dev` against the same project. */
export function assertNoDevServer(): void {
  const other = runningDevServer();
  if (other) throw new UserError(`npm run dev is already running (pid ${other.pid}); stop it first`);
}

/** Tells other tools which database this `npm run dev` serves; the returned function forgets it. */
export function recordDevServer(databaseUrl: string, apiUrl: string): () => void {
  const state: DevServerState = { pid: process.pid, databaseUrl, apiUrl };
  writeFileSync(stateFile, JSON.stringify(state));
  return () => rmSync(stateFile, { force: true });
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
