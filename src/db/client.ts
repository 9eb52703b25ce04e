// The Worker's Postgres: Neon's SQL-over-HTTP transport. Every statement the service sends is a single
// statement, which is exactly one HTTPS request to Neon: one round trip, with no connection to open,
// authenticate or close per request (the WebSocket pool took four round trips before a create was
// stored; README "Performance"). Interactive transactions are not possible here, and not needed.
import { neon, neonConfig } from '@neondatabase/serverless';
import { drizzle, type NeonHttpDatabase } from 'drizzle-orm/neon-http';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';

export type Database = NeonHttpDatabase;

/** Any drizzle Postgres database: the Worker's (Neon) or the operator CLI's (node-postgres). */
export type AnyDatabase = PgDatabase<PgQueryResultHKT>;

/**
 * How long one statement may take, round trip included, before the request gives up with a 503 (fetch
 * has no timeout of its own). Postgres itself stops a statement after 5 s: statement_timeout, set by
 * migrations/0004 for the role that ran the migrations, in this database, so the Worker's DATABASE_URL
 * must use that role (README "Deploying"). Neon's proxy has no time limit of its own, and a cold
 * compute's wake can take a few seconds of this bound. Neon also cancels the statement when this fetch
 * is abandoned (a batch rolls back), so the server never works on for a request that has gone.
 */
export const QUERY_TIMEOUT_MS = 8_000;

/** Hostnames of this very machine, as URL#hostname gives them. */
const LOOPBACK_HOST = /^(127(?:\.\d{1,3}){3}|localhost|\[::1\])$/;

export function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK_HOST.test(hostname);
}

/** A setting that makes the database unusable; the request's log line names it (never its value). */
export class DatabaseConfigurationError extends Error {
  override name = 'DatabaseConfigurationError';
  readonly setting = 'DATABASE_URL';
}

const NEON_HOST = /\.neon\.tech$/;

/**
 * Where the driver sends a connection string's statements. For a Neon host, Neon's own rule
 * (https://api.<host minus its first label>/sql), so production always uses TLS; plain http only to a
 * stand-in on this very machine (scripts/local/neon-http-endpoint.ts), which a deployed Worker could
 * not reach anyway. Decided by the connection string alone: no setting can turn TLS off. Any other
 * host is refused: its derived endpoint would be someone else's server, handed the password.
 */
export function sqlEndpoint(hostname: string, port: string | number | undefined): string {
  if (isLoopbackHost(hostname)) return `http://${hostname}${port ? `:${port}` : ''}/sql`;
  if (NEON_HOST.test(hostname)) return `https://${hostname.replace(/^[^.]+\./, 'api.')}/sql`;
  throw new DatabaseConfigurationError('DATABASE_URL must be a Neon connection string (a host under neon.tech)');
}

// The driver reads these two on every query. Both are pure functions of their arguments, so one
// isolate-wide setting serves every request and every database.
neonConfig.fetchEndpoint = sqlEndpoint;
neonConfig.fetchFunction = (input: Request | string | URL, init?: RequestInit) =>
  fetch(input, { ...init, signal: AbortSignal.timeout(QUERY_TIMEOUT_MS) });

/**
 * The database for one request (or job). Locally, the connection string carries `application_name`
 * so the stand-in can tell requests apart (tests count each request's statements). In production the
 * service adds nothing, but the driver (1.2.0) appends `application_name=pkg:npm/@neondatabase/
 * serverless@1.2.0` to the Neon-Connection-String header whenever the string has none; Neon's proxy
 * keeps only `options` of a connection string's parameters, so Postgres never sees either name. No
 * `schema` option: the service uses no relational queries, and with one drizzle rebuilds the relations
 * map for every instance.
 */
export function createDatabase(env: { DATABASE_URL: string }, applicationName: string): Database {
  let connectionString = env.DATABASE_URL;
  const url = URL.canParse(connectionString) ? new URL(connectionString) : undefined;
  // Checked here, before any statement, so a wrong setting is named as such rather than a network error.
  sqlEndpoint(url?.hostname ?? '', url?.port);
  if (url && isLoopbackHost(url.hostname)) {
    url.searchParams.set('application_name', applicationName);
    connectionString = url.toString();
  }
  return drizzle({ client: neon(connectionString) });
}
