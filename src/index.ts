import { app } from './app.ts';
import { consumeDeadDeliveries, consumeDeadEvents } from './deliveries/dead-letters.ts';
import { consumeDeliveries } from './deliveries/deliver.ts';
import { consumeEvents } from './deliveries/fan-out.ts';
import { DELIVERY_QUEUE_NAMES } from './deliveries/queues.ts';
import { runScheduledJobs } from './jobs/scheduled.ts';
import { logError } from './lib/log.ts';

export default {
  fetch: app.fetch,
  scheduled: runScheduledJobs,
  // One consumer per queue (wrangler.toml [[queues.consumers]]).
  async queue(batch, env, ctx) {
    switch (batch.queue) {
      case 'webhook-events':
        return consumeEvents(batch, env);
      case 'webhook-deliveries':
      case 'webhook-deliveries-slow':
      case 'webhook-deliveries-paced':
        return consumeDeliveries(batch, env, ctx, DELIVERY_QUEUE_NAMES[batch.queue] ?? 'main');
      case 'webhook-events-dead':
        return consumeDeadEvents(batch);
      case 'webhook-deliveries-dead':
        return consumeDeadDeliveries(batch, env);
      default:
        logError('messages from an unknown queue', { queue: batch.queue, messages: batch.messages.length });
        batch.retryAll();
    }
  },
} satisfies ExportedHandler<Env>;
