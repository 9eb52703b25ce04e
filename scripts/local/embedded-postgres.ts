// The embedded default database: PGlite (Postgres compiled to WebAssembly) served over the Postgres wire
// protocol on a local TCP port, so every tool reaches it exactly as it would reach a real server.
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

export interface EmbeddedPostgres {
  /** postgres://… URL of the server. */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

interface EmbeddedPostgresOptions {
  /** Directory that keeps the data between runs; in memory when absent. */
  dataDir?: string;
  port?: number;
}

export async function startEmbeddedPostgres({
  dataDir,
  port = 0,
}: EmbeddedPostgresOptions = {}): Promise<EmbeddedPostgres> {
  const db = await PGlite.create(dataDir ? { dataDir } : {});
  // PGlite runs one query at a time whatever the connection count; more connections only queue.
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port, maxConnections: 64 });
  await server.start();
  const boundPort = Number(server.getServerConn().split(':').pop());
  return {
    url: `postgres://postgres@127.0.0.1:${boundPort}/postgres`,
    port: boundPort,
    close: async () => {
      await server.stop();
      await db.close();
    },
  };
}
