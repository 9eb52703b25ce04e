// npm run dev: the whole service on this machine. Embedded Postgres (or DATABASE_URL), migrations, the
// WebSocket relay the Worker's Neon driver connects through, wrangler dev on 127.0.0.1:8787, and a dev
// API key with a curl example to try it.
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { migrateDatabase } from './db/migrate.ts';
import { ensureDevCredentials } from './local/dev-credentials.ts';
import { dataDir, projectRoot, serveEmbeddedDatabase } from './local/dev-database.ts';
import { ensureDevVars } from './local/dev-vars.ts';
import { startNeonRelay } from './local/neon-relay.ts';
import { waitUntilServing, wranglerBin } from './local/wrangler.ts';

const HOST = '127.0.0.1';
const PORT = Number(process.env.PORT ?? 8787);

mkdirSync(dataDir, { recursive: true });
ensureDevVars();

const external = process.env.DATABASE_URL;
const embedded = external ? undefined : await serveEmbeddedDatabase();
const databaseUrl = external ?? (embedded as { url: string }).url;
console.log(`[dev] database: ${external ? 'DATABASE_URL' : 'embedded PGlite in .data/pglite'}`);

await migrateDatabase(databaseUrl);
const relay = await startNeonRelay({ databaseUrl });
const credentials = await ensureDevCredentials(databaseUrl, !external);

const wrangler = spawn(
  wranglerBin,
  [
    'dev',
    '--ip',
    HOST,
    '--port',
    String(PORT),
    '--var',
    `NEON_WS_PROXY:${relay.wsProxy}`,
    // With --env-file, wrangler takes secrets from that file and from the environment (DATABASE_URL).
    '--env-file',
    '.dev.vars',
  ],
  { cwd: projectRoot, stdio: 'inherit', env: { ...process.env, DATABASE_URL: databaseUrl } },
);

let stopping = false;
async function stop(exitCode: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    wrangler.kill('SIGTERM');
    await relay.close();
    await embedded?.close();
  }
  process.exit(exitCode);
}
process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));
wrangler.on('exit', (code) => void stop(code ?? 0));
wrangler.on('error', (error) => {
  console.error(`[dev] could not start wrangler: ${error.message}`);
  void stop(1);
});

const base = `http://${HOST}:${PORT}`;
await waitUntilServing(`${base}/`, wrangler);
const example = JSON.stringify({
  url: 'https://example.com/webhooks/instaview',
  events: ['INTERVIEW_COMPLETED', 'PING'],
});
console.log(`
InstaView webhooks API is running on ${base}
${credentials.created ? 'Created' : 'Using'} the dev account ${credentials.accountId} (company ${credentials.companyId})
API key (write:webhooks, read:webhooks): ${credentials.token}

Try it:
  curl -sS -X POST ${base}/webhooks \\
    -H 'Authorization: Bearer ${credentials.token}' \\
    -H 'Content-Type: application/json' \\
    -d '${example}'

Operator CLI (in another terminal): npm run cli -- --help
`);
