import { cloudflareTest } from '@cloudflare/vitest-plugin';
import { defineConfig } from 'vitest/config';

// A fresh key ring per run: tests must never depend on a particular key.
const encryptionKey = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64');

export default defineConfig({
  plugins: [
    cloudflareTest(({ inject }) => ({
      wrangler: { configPath: './wrangler.toml' },
      miniflare: {
        bindings: {
          DATABASE_URL: inject('databaseUrl'),
          NEON_WS_PROXY: inject('relay').wsProxy,
          ENCRYPTION_KEYS: `test:${encryptionKey}`,
        },
      },
    })),
  ],
  test: {
    // The Worker writes one JSON log line per request; thousands of them would bury the results.
    onConsoleLog: (log) => !log.startsWith('{"level":'),
    globalSetup: ['./test/global-setup.ts'],
    include: ['test/**/*.test.ts'],
  },
});
