// Runs in Node before the workerd test pool starts: brings up Postgres (embedded PGlite, or a scratch
// database on TEST_DATABASE_URL's server), applies the migrations, and starts the stand-ins for Neon's
// SQL-over-HTTP endpoint the Worker's driver talks to. Their addresses reach vitest.config.ts and the
// tests via provide().
import type { TestProject } from 'vitest/node';
import { migrateDatabase } from '../scripts/db/migrate.ts';
import { startEmbeddedPostgres } from '../scripts/local/embedded-postgres.ts';
import { startNeonHttpEndpoint } from '../scripts/local/neon-http-endpoint.ts';
import { createScratchDatabase } from '../scripts/local/scratch-database.ts';
import { startWebhookReceiver } from '../scripts/local/webhook-receiver.ts';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const serverUrl = process.env.TEST_DATABASE_URL;
  const database = serverUrl ? await createScratchDatabase(serverUrl, 'webhooks_test') : await startEmbeddedPostgres();
  await migrateDatabase(database.url);
  // One endpoint for ordinary traffic, one whose faults a test may switch on without disturbing the others.
  const endpoint = await startNeonHttpEndpoint({ databaseUrl: database.url });
  const faultyEndpoint = await startNeonHttpEndpoint({ databaseUrl: database.url });
  // Where test deliveries go: a real HTTP server verifying each with the standardwebhooks library.
  const receiver = await startWebhookReceiver();

  project.provide('databaseUrl', endpoint.databaseUrl);
  project.provide('databaseKind', serverUrl ? 'postgres' : 'pglite');
  project.provide('sqlEndpoint', { databaseUrl: endpoint.databaseUrl, controlUrl: endpoint.controlUrl });
  project.provide('faultySqlEndpoint', {
    databaseUrl: faultyEndpoint.databaseUrl,
    controlUrl: faultyEndpoint.controlUrl,
  });
  project.provide('receiver', receiver.origin);
  console.log(`[global-setup] database: ${serverUrl ? 'scratch database on TEST_DATABASE_URL' : 'embedded PGlite'}`);

  return async () => {
    await receiver.close();
    await endpoint.close();
    await faultyEndpoint.close();
    await database.close();
  };
}
