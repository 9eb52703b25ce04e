// Runs in Node before the workerd test pool starts: brings up Postgres (embedded PGlite, or a scratch
// database on TEST_DATABASE_URL's server), applies the migrations, and starts the WebSocket relays the
// Worker's driver connects through. Their addresses reach vitest.config.ts and the tests via provide().
import type { TestProject } from 'vitest/node';
import { migrateDatabase } from '../scripts/db/migrate.ts';
import { startEmbeddedPostgres } from '../scripts/local/embedded-postgres.ts';
import { startNeonRelay } from '../scripts/local/neon-relay.ts';
import { createScratchDatabase } from '../scripts/local/scratch-database.ts';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const serverUrl = process.env.TEST_DATABASE_URL;
  const database = serverUrl ? await createScratchDatabase(serverUrl, 'webhooks_test') : await startEmbeddedPostgres();
  await migrateDatabase(database.url);
  // One relay for ordinary traffic, one whose faults a test may switch on without disturbing the others.
  const relay = await startNeonRelay({ databaseUrl: database.url });
  const faultyRelay = await startNeonRelay({ databaseUrl: database.url });

  project.provide('databaseUrl', database.url);
  project.provide('databaseKind', serverUrl ? 'postgres' : 'pglite');
  project.provide('relay', { wsProxy: relay.wsProxy, controlUrl: relay.controlUrl });
  project.provide('faultyRelay', { wsProxy: faultyRelay.wsProxy, controlUrl: faultyRelay.controlUrl });
  console.log(`[global-setup] database: ${serverUrl ? 'scratch database on TEST_DATABASE_URL' : 'embedded PGlite'}`);

  return async () => {
    await relay.close();
    await faultyRelay.close();
    await database.close();
  };
}
