import { drizzle } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import type { AnyDatabase } from '../../src/db/client.ts';

/** Runs `work` with a drizzle database over node-postgres (TCP), for tooling that runs in Node. */
export async function withNodeDatabase<T>(url: string, work: (db: AnyDatabase) => Promise<T>): Promise<T> {
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  try {
    return await work(drizzle({ client: pool }));
  } finally {
    await pool.end();
  }
}
