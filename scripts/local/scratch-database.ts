// A throwaway database on an existing Postgres server, so a test run never sees another run's rows and
// always applies the migrations from scratch.
import pg from 'pg';

export interface ScratchDatabase {
  readonly url: string;
  close(): Promise<void>;
}

/** Scratch databases older than this are left over from killed runs, and dropped. */
const STALE_AFTER_MS = 6 * 60 * 60 * 1000;

export async function createScratchDatabase(serverUrl: string, prefix: string): Promise<ScratchDatabase> {
  const name = `${prefix}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    const { rows } = await admin.query<{ datname: string }>('select datname from pg_database where datname like $1', [
      `${prefix}\\_%`,
    ]);
    for (const { datname } of rows) {
      const created = Number.parseInt(datname.slice(prefix.length + 1).split('_')[0] ?? '', 36);
      if (Date.now() - created > STALE_AFTER_MS) await admin.query(`drop database if exists "${datname}" with (force)`);
    }
    await admin.query(`create database "${name}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    close: async () => {
      const cleanup = new pg.Client({ connectionString: serverUrl });
      await cleanup.connect();
      try {
        await cleanup.query(`drop database if exists "${name}" with (force)`);
      } finally {
        await cleanup.end();
      }
    },
  };
}
