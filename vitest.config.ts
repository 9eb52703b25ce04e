import { cloudflareTest } from '@cloudflare/vitest-plugin';
import { defineConfig } from 'vitest/config';

// A fresh key ring per run: tests must never depend on a particular key.
const encryptionKey = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64');

/** The operator token POST /events takes in tests (test/support/deliveries.ts sends it). */
export const TEST_PUBLISH_TOKEN = 'test-publish-token';

// wrangler's "Using secrets defined in process.env" is an info line printed once per test file.
process.env.WRANGLER_LOG ??= 'warn';

export default defineConfig({
  plugins: [
    cloudflareTest(({ inject }) => {
      const secrets = {
        DATABASE_URL: inject('databaseUrl'),
        ENCRYPTION_KEYS: `test:${encryptionKey}`,
        EVENTS_PUBLISH_TOKEN: TEST_PUBLISH_TOKEN,
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
          bindings: {
            ...secrets,
            // Deliveries in tests: receivers on 127.0.0.1, retries a second apart (a whole series fits in a
            // test), a circuit that opens after 3 failures; tests end its minute of cool-down by backdating.
            DELIVERY_ALLOW_PRIVATE_TARGETS: 'true',
            DELIVERY_RETRY_SCHEDULE: '1,1,1,1,1,1,1',
            CIRCUIT_FAILURE_THRESHOLD: '3',
            CIRCUIT_COOL_DOWN_SECONDS: '60',
          },
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
