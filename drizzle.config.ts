import { defineConfig } from 'drizzle-kit';

// Only `generate` is used: migrations are applied by scripts/migrate.ts, which also runs in tests.
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/db/schema.ts',
  out: './migrations',
  strict: true,
});
