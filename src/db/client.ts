import { Client, type ClientConfig, Pool } from '@neondatabase/serverless';
import { drizzle, type NeonDatabase } from 'drizzle-orm/neon-serverless';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
export type Database = NeonDatabase;

/** Bounds so that an unreachable or stuck database yields a 503 quickly instead of a hung request. */
const CONNECT_TIMEOUT_MS = 5_000;
const STATEMENT_TIMEOUT_MS = 5_000;
const QUERY_TIMEOUT_MS = 8_000;

export interface DatabaseEnv {
  DATABASE_URL: string;
  /** Local development only: host:port/v1 of a WebSocket→TCP relay standing in for Neon's proxy. */
  NEON_WS_PROXY?: string;
}

const relayClients = new Map<string, typeof Client>();

/** A setting that makes the database unusable; the request log line names it (never its value). */
export class DatabaseConfigurationError extends Error {
  override name = 'DatabaseConfigurationError';
  readonly setting: string;

  constructor(setting: string, message: string) {
    super(message);
    this.setting = setting;
  }
}

/** Hostnames, as URL#hostname gives them, of this very machine. */
const LOOPBACK_HOST = /^(127(?:\.\d{1,3}){3}|localhost|\[::1\])$/;

/**
 * The relay speaks plain WebSocket and turns Postgres TLS off: acceptable only to a relay on this very
 * machine. Anywhere else the setting would send credentials and data in clear, so it is refused.
 */
function loopbackRelay(wsProxy: string): string {
  let hostname = '';
  try {
    hostname = new URL(`ws://${wsProxy.replace(/^[a-z]+:\/\//i, '')}`).hostname;
  } catch {}
  if (!LOOPBACK_HOST.test(hostname)) {
    throw new DatabaseConfigurationError(
      'NEON_WS_PROXY',
      'NEON_WS_PROXY points at a host other than loopback; it is for a local relay only and turns TLS off',
    );
  }
  return wsProxy;
}

/**
 * A Client class that reaches Postgres through a plain-WebSocket relay. Set per client rather than on the
 * global neonConfig, so two pools in one isolate can point at different relays.
 */
function relayClient(wsProxy: string): typeof Client {
  let RelayClient = relayClients.get(wsProxy);
  if (!RelayClient) {
    RelayClient = class extends Client {
      constructor(config?: string | ClientConfig) {
        super(config);
        this.neonConfig.wsProxy = wsProxy;
        this.neonConfig.useSecureWebSocket = false;
        this.neonConfig.pipelineTLS = false;
        this.neonConfig.pipelineConnect = false;
      }
    };
    relayClients.set(wsProxy, RelayClient);
  }
  return RelayClient;
}

/**
 * A Pool for one request: Workers cannot share sockets between requests, so each request opens its own
 * and ends it through waitUntil. `applicationName` shows up in pg_stat_activity and in the local relay.
 */
export function createPool(env: DatabaseEnv, applicationName: string): Pool {
  const pool = new Pool({
    connectionString: env.DATABASE_URL,
    // A request's statements run one after another; one connection lets a pre-opened one be reused.
    max: 1,
    application_name: applicationName,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    statement_timeout: STATEMENT_TIMEOUT_MS,
    query_timeout: QUERY_TIMEOUT_MS,
  });
  if (env.NEON_WS_PROXY) pool.Client = relayClient(loopbackRelay(env.NEON_WS_PROXY));
  // Without a listener, a socket dropped after the response (workerd tears it down) is an unhandled error.
  pool.on('error', () => {});
  return pool;
}

/**
 * No `schema` option: the service uses no relational queries, and with one drizzle would rebuild the
 * relations map on every request (it showed in the profile).
 */
export function createDatabase(pool: Pool): Database {
  return drizzle({ client: pool });
}

/** Any drizzle Postgres database: the Worker's (Neon) or the operator CLI's (node-postgres). */
export type AnyDatabase = PgDatabase<PgQueryResultHKT>;
