// Where local tooling finds its database: DATABASE_URL when set, otherwise the embedded PGlite in
// .data/pglite, reached through the running `npm run dev` (PGlite allows one process per data directory)
// or opened here when dev is not running.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type EmbeddedPostgres, startEmbeddedPostgres } from './embedded-postgres.ts';

export const projectRoot = fileURLToPath(new URL('../..', import.meta.url));
export const dataDir = join(projectRoot, '.data');
const pgliteDir = join(dataDir, 'pglite');
const stateFile = join(dataDir, 'dev-server.json');

export interface DevDatabase {
  readonly url: string;
  readonly embedded: boolean;
  close(): Promise<void>;
}

interface DevServerState {
  pid: number;
  databaseUrl: string;
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

/** Serves the embedded database for the lifetime of `npm run dev` and tells other tools where it is. */
export async function serveEmbeddedDatabase(): Promise<EmbeddedPostgres> {
  const other = runningDevServer();
  if (other) throw new Error(`npm run dev is already running (pid ${other.pid}); stop it first`);
  const server = await startEmbeddedPostgres({ dataDir: pgliteDir });
  const state: DevServerState = { pid: process.pid, databaseUrl: server.url };
  writeFileSync(stateFile, JSON.stringify(state));
  return {
    ...server,
    close: async () => {
      rmSync(stateFile, { force: true });
      await server.close();
    },
  };
}

/** The database the operator CLI should use. */
export async function openDevDatabase(): Promise<DevDatabase> {
  const configured = process.env.DATABASE_URL;
  if (configured) return { url: configured, embedded: false, close: async () => {} };
  const running = runningDevServer();
  if (running) return { url: running.databaseUrl, embedded: true, close: async () => {} };
  const server = await startEmbeddedPostgres({ dataDir: pgliteDir });
  return { url: server.url, embedded: true, close: () => server.close() };
}
