// Applies the drizzle-kit migrations in migrations/ to a database over TCP.
//   npm run db:migrate            # DATABASE_URL: Neon's direct connection string (not the -pooler one)
import { fileURLToPath } from 'node:url';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';

const migrationsFolder = fileURLToPath(new URL('../../migrations', import.meta.url));

export async function migrateDatabase(databaseUrl: string): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    // The database's own 5 s statement_timeout (migrations/0004) is for the service, not for schema changes.
    await client.query('set statement_timeout = 0');
    try {
      await migrate(drizzle({ client }), { migrationsFolder });
    } finally {
      // PGlite has a single session that every later connection shares: the 0 must not outlive the migrations.
      await client.query('reset statement_timeout');
    }
  } finally {
    await client.end();
  }
}

/**
 * Neon's pooled host (`-pooler` in its first label) is PgBouncer in transaction mode: a session's SET
 * may land on another server connection, and `ALTER ROLE … SET statement_timeout` (migrations/0004)
 * should be run over the direct connection. The migrations still run; the operator is told.
 */
export function pooledHostWarning(databaseUrl: string): string | undefined {
  const host = URL.canParse(databaseUrl) ? new URL(databaseUrl).hostname : '';
  if (!/^[^.]+-pooler\./.test(host)) return undefined;
  return `warning: ${host} is Neon's pooled (-pooler) host; run migrations over the direct connection string (the same host without -pooler)`;
}

if (import.meta.main) {
  const url = process.env.DATABASE_URL;
  if (!url) {
    console.error('DATABASE_URL is not set');
    process.exit(1);
  }
  const warning = pooledHostWarning(url);
  if (warning) console.warn(warning);
  await migrateDatabase(url);
  console.log('migrations applied');
}
