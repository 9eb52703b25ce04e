// State-change events on their way out. The statement that decides one stores it (store/state-changes.ts);
// then it goes onto the webhook-events queue as a `state-change` message, fanned out like a product
// event to the account's webhooks subscribed to it (never the one it is about), and, when
// OPERATIONS_WEBHOOK_URL is set, onto the webhook-deliveries queue as an `operations` message: sent,
// signed the same way, to InstaView's own endpoint, with no rows of its own.
import { readConfig } from '../config.ts';
import { STATE_CHANGE_EVENTS } from '../events/event-types.ts';
import { describeError, logError, logInfo } from '../lib/log.ts';
import { backoffSeconds, queueDelay } from './messages.ts';
import { deliveryBody } from './payload.ts';
import { retryDelaySeconds } from './retry-schedule.ts';
import { sendDelivery } from './send.ts';
import type { StateEvent } from './store/state-changes.ts';

export interface StateChangeMessage {
  kind: 'state-change';
  event: StateEvent;
}

export interface OperationsMessage {
  kind: 'operations';
  event: StateEvent;
}

function isStateEvent(value: unknown): value is StateEvent {
  const event = value as Partial<StateEvent> | null;
  return (
    typeof event?.accountId === 'string' &&
    typeof event.id === 'string' &&
    (event.companyId === null || typeof event.companyId === 'string') &&
    (STATE_CHANGE_EVENTS as readonly unknown[]).includes(event.type) &&
    typeof event.occurredAt === 'string' &&
    typeof event.data === 'string'
  );
}

export function isStateChangeMessage(value: unknown): value is StateChangeMessage {
  const message = value as Partial<StateChangeMessage> | null;
  return message?.kind === 'state-change' && isStateEvent(message.event);
}

export function isOperationsMessage(value: unknown): value is OperationsMessage {
  const message = value as Partial<OperationsMessage> | null;
  return message?.kind === 'operations' && isStateEvent(message.event);
}

/**
 * Puts stored state-change events on the fan-out queue. A failed send is logged, not thrown: the event
 * is stored, and the minute sweep (jobs/scheduled.ts) fans out what stays unfanned (fanned_out_at null).
 */
export async function publishStateEvents(queue: Queue<StateChangeMessage>, events: StateEvent[]): Promise<void> {
  if (events.length === 0) return;
  try {
    await queue.sendBatch(events.map((event) => ({ body: { kind: 'state-change', event } })));
    for (const event of events) {
      logInfo('state-change event', { eventId: event.id, accountId: event.accountId, type: event.type });
    }
  } catch (error) {
    logError('state-change events not queued; the sweep will', { events: events.length, ...describeError(error) });
  }
}

/** After the fan-out: the operations endpoint's copy, when there is one. */
export async function queueForOperations(env: Env, event: StateEvent): Promise<void> {
  if (readConfig(env).delivery.operationsWebhook === null) return;
  await (env.WEBHOOK_DELIVERIES as Queue<OperationsMessage>).send({ kind: 'operations', event });
}

/** Operations endpoint attempts: the retry schedule, whole (no webhook row says how many). */
const OPERATIONS_TIMEOUT_MS = 30_000;

/**
 * One attempt to the operations endpoint; a failure comes back through the queue after the retry
 * schedule's wait, until the schedule is spent. The event's id is the webhook-id (the same every time).
 */
export async function deliverToOperations(env: Env, message: Message<unknown>, body: OperationsMessage) {
  const config = readConfig(env).delivery;
  const target = config.operationsWebhook;
  if (target === null) {
    message.ack();
    return;
  }
  const { event } = body;
  try {
    const outcome = await sendDelivery({
      deliveryId: event.id,
      url: target.url,
      body: deliveryBody(event.id, event),
      secrets: [target.secret],
      headers: [],
      timeoutMs: OPERATIONS_TIMEOUT_MS,
      allowPrivateTargets: config.allowPrivateTargets,
      serviceHostnames: config.serviceHostnames,
    });
    const retryIn = outcome.success
      ? undefined
      : retryDelaySeconds(
          message.attempts,
          config.retryScheduleSeconds.length,
          config.retryScheduleSeconds,
          outcome.retryAfterSeconds,
        );
    logInfo('operations delivery attempt', {
      eventId: event.id,
      type: event.type,
      attempt: message.attempts,
      success: outcome.success,
      httpStatus: outcome.httpStatus,
      failure: outcome.failure,
      retryInSeconds: retryIn,
    });
    if (retryIn === undefined) message.ack();
    else message.retry({ delaySeconds: queueDelay(retryIn) });
  } catch (error) {
    logError('operations delivery failed to process; retrying', { eventId: event.id, ...describeError(error) });
    message.retry({ delaySeconds: backoffSeconds(message.attempts) });
  }
}
