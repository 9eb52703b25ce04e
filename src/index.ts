import { app } from './app.ts';
import { purgeIdempotencyKeys } from './jobs/purge-idempotency-keys.ts';

export default {
  fetch: app.fetch,
  scheduled: purgeIdempotencyKeys,
} satisfies ExportedHandler<Env>;
