import { cloudflareTest } from '@cloudflare/vitest-plugin';
import { defineConfig } from 'vitest/config';

// A fresh key ring per run: tests must never depend on a particular key.
const encryptionKey = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64');

// wrangler's "Using secrets defined in process.env" is an info line printed once per test file.
process.env.WRANGLER_LOG ??= 'warn';

export default defineConfig({
  plugins: [
    cloudflareTest(({ inject }) => {
      const secrets = {
        DATABASE_URL: inject('databaseUrl'),
        ENCRYPTION_KEYS: `test:${encryptionKey}`,
      };
      // wrangler.toml's [secrets] required list is checked against process.env when each test file's
      // Worker starts; miniflare.bindings (which wins) never enters that check. Without this, every file
      // warns "Missing required secrets" about secrets it has.
      Object.assign(process.env, secrets);
      return {
        wrangler: { configPath: './wrangler.toml' },
        // Without --verbose, workerd does not warn that tests send non-ASCII header bytes (on purpose).
        verbose: false,
        miniflare: {
          bindings: secrets,
        },
      };
    }),
  ],
  test: {
    // The Worker writes one JSON log line per request; thousands of them would bury the results.
    onConsoleLog: (log) => !log.startsWith('{"level":'),
    globalSetup: ['./test/global-setup.ts'],
    include: ['test/**/*.test.ts'],
  },
});
