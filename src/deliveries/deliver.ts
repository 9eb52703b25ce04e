// The consumer of the three delivery queues (queues.ts). For each message: claim the delivery (one
// statement that decides, under its row locks, whether to send, skip, cancel or leave it), send it,
// record the attempt, and either ack or hand the message back to the queue with the retry schedule's
// delay. A lane moves on to its next message as soon as the receiver has answered; the record follows
// without it. On the main queue the next claims are made while the lanes send. The lanes ready at the
// same moment share their statements (group commit): one claim for all of them, one record for their
// plain successes; a failure is recorded on its own.
// Queues bring a message at least once; the claim makes sure a delivery already succeeded, cancelled
// or deleted is never sent again, and that two copies of a message never send at once.
// A batch does not end with its slowest attempt: once only attempts that have waited long enough for
// their receiver (detachAfterMs) are left, the handler returns and they finish in the background.
import { readConfig } from '../config.ts';
import { createDatabase, type Database } from '../db/client.ts';
import { groupCommit } from '../lib/group-commit.ts';
import { describeError, logError, logInfo } from '../lib/log.ts';
import { type SecretBox, secretBox } from '../lib/secret-box.ts';
import { openHeaders, signingSecretContext } from '../webhooks/secrets.ts';
import { backoffSeconds, type DeliveryMessage, isDeliveryMessage, queueDelay } from './messages.ts';
import { deliveryBody } from './payload.ts';
import { type DeliveryQueue, deliveryQueue } from './queues.ts';
import { retryDelaySeconds } from './retry-schedule.ts';
import { type AttemptOutcome, type FailureKind, sendDelivery } from './send.ts';
import {
  deliverToOperations,
  isOperationsMessage,
  publishStateEvents,
  type StateChangeMessage,
} from './state-events.ts';
import { recordAttempt } from './store/attempts.ts';
import {
  type CircuitSettings,
  type Claim,
  type ClaimedAttempt,
  type ClaimRequest,
  claimDeliveries,
  renewLease,
  SLOW_ATTEMPT_MS,
} from './store/claims.ts';
import { type PlainSuccess, recordPlainSuccesses } from './store/successes.ts';

const PERMANENT_FAILURES: ReadonlySet<FailureKind> = new Set(['gone', 'target', 'header']);

/** Subrequests an invocation may have awaiting response headers at once (the Workers limit). */
export const MAX_IN_FLIGHT = 6;
/**
 * Deliveries an invocation sends at once: one connection fewer than the limit, kept for the database
 * and the queues. A statement (a claim made ahead, a record) then never waits behind the sends for a
 * connection (past the limit the runtime queues a subrequest, and its own timeout runs meanwhile): six
 * hanging receivers would otherwise hold up a record long enough to fail it, and the message, sent back,
 * would send a delivery that had succeeded again.
 */
export const SENDING_LANES = MAX_IN_FLIGHT - 1;

interface Context {
  /** The database for one delivery: named after it, so the local SQL endpoint can count its statements. */
  db: (deliveryId: string) => Database;
  secrets: SecretBox;
  circuit: CircuitSettings;
  schedule: number[];
  allowPrivateTargets: boolean;
  serviceHostnames: readonly string[];
  /** The queue this batch came through (index.ts): a slow webhook's message on the main one moves over. */
  queue: DeliveryQueue;
  /** Claims a message's delivery, with the other lanes' claims of the moment (one statement). */
  claim: (request: ClaimRequest) => Promise<Claim>;
  /** Records a plain success with the other lanes' of the moment; false: recordAttempt's to record. */
  recordSuccess: (success: PlainSuccess) => Promise<boolean>;
  /** Tracks a record still under way: the handler waits for it, unless only long sends are left. */
  settling: (record: Promise<void>) => void;
  /** What the batch's log line counts. */
  tally: { succeeded: number; detached: number };
  /** Watches a send: once it has waited `detachAfterMs` for its receiver, it may outlive the invocation. */
  watchSend: <T>(sending: Promise<T>, detachAfterMs: number) => Promise<T>;
  /** True once the handler has returned: what is left runs in ctx.waitUntil, its batch taken as done. */
  returned: boolean;
  env: Env;
}

/** The secrets a delivery is signed with: the current one, and the previous one during its grace period. */
export async function signingSecrets(
  secrets: SecretBox,
  claim: Pick<ClaimedAttempt, 'webhookId' | 'signingSecretSealed' | 'previousSigningSecretSealed'>,
) {
  const context = signingSecretContext(claim.webhookId);
  const current = await secrets.open(claim.signingSecretSealed, context);
  return claim.previousSigningSecretSealed === null
    ? [current]
    : [current, await secrets.open(claim.previousSigningSecretSealed, context)];
}

/** What one send of a claimed delivery gave. */
interface Sent {
  outcome: AttemptOutcome;
  startedAt: Date;
}

/**
 * Waits for the rate-limit slot a claimed attempt holds (at most SLOT_WAIT_MS off: claims.ts), so it is
 * not sent early. Its time is absolute (the database's clock), so however long the claim took, slots
 * stay 1/rate apart.
 */
async function waitForSlot(claim: ClaimedAttempt): Promise<void> {
  const waitMs = claim.sendAt === null ? 0 : claim.sendAt - Date.now();
  if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
}

/** Sends a claimed delivery once, now. Records nothing. */
async function send(context: Context, claim: ClaimedAttempt): Promise<Sent> {
  const startedAt = new Date();
  const outcome = await sendDelivery({
    deliveryId: claim.deliveryId,
    url: claim.url,
    body: deliveryBody(claim.deliveryId, claim.event),
    secrets: await signingSecrets(context.secrets, claim),
    headers: await openHeaders(context.secrets, claim.headers),
    timeoutMs: claim.timeoutMs,
    allowPrivateTargets: context.allowPrivateTargets,
    serviceHostnames: context.serviceHostnames,
  });
  return { outcome, startedAt };
}

/** Records a sent attempt; returns the wait before the next, if any, and whether the delivery is still pending. */
async function record(
  context: Context,
  db: Database,
  claim: ClaimedAttempt,
  { outcome, startedAt }: Sent,
): Promise<{ retryIn?: number; pending: boolean }> {
  // A 410 asks for no more; a refused target or an unsendable header will not change by waiting; a test
  // delivery is sent once.
  const final =
    outcome.success || claim.isTest || (outcome.failure !== null && PERMANENT_FAILURES.has(outcome.failure));
  const retryIn = final
    ? undefined
    : retryDelaySeconds(claim.seriesAttempt, claim.maxRetries, context.schedule, outcome.retryAfterSeconds);
  const nextAttemptAt = retryIn === undefined ? null : new Date(Date.now() + retryIn * 1000);
  if (
    outcome.success &&
    !claim.isTest &&
    outcome.httpStatus !== null &&
    outcome.durationMs < SLOW_ATTEMPT_MS &&
    (await context.recordSuccess({
      deliveryId: claim.deliveryId,
      series: claim.series,
      webhookId: claim.webhookId,
      attempt: claim.attempt,
      startedAt,
      httpStatus: outcome.httpStatus,
      durationMs: outcome.durationMs,
      responseExcerpt: outcome.responseExcerpt,
    }))
  ) {
    return { pending: false };
  }
  const { pending, stateEvents } = await recordAttempt(
    db,
    claim,
    {
      startedAt,
      httpStatus: outcome.httpStatus,
      durationMs: outcome.durationMs,
      error: outcome.error,
      responseExcerpt: outcome.responseExcerpt,
      success: outcome.success,
      gone: outcome.failure === 'gone',
      nextAttemptAt,
      timedOut: outcome.failure === 'timeout',
    },
    context.circuit,
  );
  await publishStateEvents(context.env.WEBHOOK_EVENTS as Queue<StateChangeMessage>, stateEvents);
  return retryIn === undefined ? { pending } : { retryIn, pending };
}

/** Past this many trips a waiting message is sent afresh: the queue dead-letters one at max_retries (100). */
const FRESH_MESSAGE_AFTER_ATTEMPTS = 90;
/** The longest a delivery waiting for one of its webhook's lanes sleeps before it asks again. */
const MAX_BUSY_WAIT_SECONDS = 30;

/**
 * A delivery whose webhook has every lane busy, or whose rate-limit slot is later, waits its turn: it is
 * never an attempt, a failure or a circuit count. Each wait is one trip through the queue, and a trip
 * spends one of the message's max_retries: a burst behind a slow webhook (1000 deliveries at 3 lanes)
 * waits longer than 100 trips, and its messages would go to the dead-letter queue, failed unsent. So a
 * busy wait grows with the trips taken (1, 2, 3 … 30 s: fewer claims for a long backlog), and a message
 * that has taken many goes back as a new message with a fresh count (one queue send, no statement).
 */
/** Puts a delivery's message on its queue again as a new one (a fresh count of trips). */
async function sendAnew(context: Context, body: DeliveryMessage, delaySeconds: number): Promise<void> {
  await deliveryQueue(context.env, context.queue).send(
    { deliveryId: body.deliveryId, series: body.series } satisfies DeliveryMessage,
    { delaySeconds },
  );
}

async function waitForTurn(
  context: Context,
  message: Message<unknown>,
  body: DeliveryMessage,
  claim: { kind: 'busy' | 'throttled'; retryInSeconds: number },
): Promise<void> {
  const seconds = queueDelay(
    claim.kind === 'busy'
      ? Math.max(claim.retryInSeconds, Math.min(MAX_BUSY_WAIT_SECONDS, message.attempts))
      : claim.retryInSeconds,
  );
  if (message.attempts < FRESH_MESSAGE_AFTER_ATTEMPTS) {
    message.retry({ delaySeconds: seconds });
    return;
  }
  // A new message before the old one goes: if the send fails, the old one still comes back.
  await sendAnew(context, body, seconds);
  message.ack();
}

/**
 * Hands a message back to come again in `delaySeconds`. Once the handler has returned, the queue has
 * taken its batch as done (wrangler.toml: queue_consumer_no_wait_for_wait_until), and a retry would be
 * lost: the message comes again as a new one instead. Should that send fail, the delivery's lease runs
 * out and the minute sweep queues it again (jobs/scheduled.ts).
 */
async function handBack(context: Context, message: Message<unknown>, body: DeliveryMessage, delaySeconds: number) {
  if (!context.returned) {
    message.retry({ delaySeconds });
    return;
  }
  try {
    await sendAnew(context, body, delaySeconds);
  } catch (error) {
    logError('delivery not handed back; the sweep will', { deliveryId: body.deliveryId, ...describeError(error) });
  }
  message.ack();
}

/** The service could not do its part (the database, most likely): nothing is lost, the message comes back. */
async function retryAfterFault(context: Context, message: Message<unknown>, body: DeliveryMessage, error: unknown) {
  // An attempt already sent may be sent again then: at least once, never twice on purpose.
  logError('delivery failed to process; retrying', {
    deliveryId: body.deliveryId,
    attempts: message.attempts,
    ...describeError(error),
  });
  await handBack(context, message, body, backoffSeconds(message.attempts));
}

/** Records a sent attempt, then acks its message or hands it back with the retry schedule's delay. */
async function settle(context: Context, message: Message<unknown>, claim: ClaimedAttempt, sent: Sent): Promise<void> {
  try {
    const { retryIn, pending } = await record(context, context.db(claim.deliveryId), claim, sent);
    // A plain success is counted in the batch's line (consumeDeliveries), not logged alone: the delivery
    // log keeps every attempt, and a line per success cost about 0.4 of the 2.8 ms of Worker CPU per
    // delivery in the bench. Failures, probes and retries keep their line.
    if (sent.outcome.success && !claim.probe) {
      context.tally.succeeded++;
    } else {
      logInfo('delivery attempt', {
        deliveryId: claim.deliveryId,
        webhookId: claim.webhookId,
        accountId: claim.accountId,
        attempt: claim.attempt,
        probe: claim.probe || undefined,
        success: sent.outcome.success,
        httpStatus: sent.outcome.httpStatus,
        failure: sent.outcome.failure,
        durationMs: sent.outcome.durationMs,
        retryInSeconds: retryIn,
      });
    }
    // Cancelled or sent again as a new series meanwhile: this message has nothing left to carry.
    if (retryIn === undefined || !pending) message.ack();
    else await handBack(context, message, claim, queueDelay(retryIn));
  } catch (error) {
    await retryAfterFault(context, message, claim, error);
  }
}

/** A message with its delivery's claim made, or what stopped the claim: what a lane acts on. */
type Decided =
  | { message: Message<unknown> }
  | { message: Message<unknown>; body: DeliveryMessage; claim: Claim; claimedAt: number }
  | { message: Message<unknown>; body: DeliveryMessage; error: unknown };

/**
 * A claim made ahead (consumeDeliveries) that waited longer than this for a lane is checked and renewed
 * before it is sent (claims.ts renewLease): its lease (the webhook's timeout and 30 s of margin, from the
 * claim) must outlast the attempt it covers, its webhook lane must say when the attempt began (the slow
 * lane's "in flight for 5 s" reads it), and what changed meanwhile (a deactivation, an open circuit, a
 * new URL, secret or headers) must stop it. One statement, and only when every lane was held that long.
 */
export const FRESH_CLAIM_MS = 1_000;

/** Claims a delivery message's delivery (other messages are left to `act`). Never throws. */
async function decide(context: Context, message: Message<unknown>): Promise<Decided> {
  if (!isDeliveryMessage(message.body)) return { message };
  const body = message.body;
  // Before the claim's statement starts (a group may make it wait): the lease is counted from later.
  const claimedAt = Date.now();
  try {
    return { message, body, claim: await context.claim(body), claimedAt };
  } catch (error) {
    return { message, body, error };
  }
}

/**
 * Acts on a message's claim. A send returns once the receiver has answered: its record goes on without
 * the lane (`context.settling`), which takes its next message meanwhile.
 */
async function act(context: Context, decided: Decided): Promise<void> {
  const { message } = decided;
  if (!('body' in decided)) {
    if (isOperationsMessage(message.body)) return deliverToOperations(context.env, message, message.body);
    logError('delivery message refused', { queueMessageId: message.id });
    message.ack();
    return;
  }
  const { body } = decided;
  const { deliveryId } = body;
  try {
    if ('error' in decided) throw decided.error;
    const { claim } = decided;
    if (claim.kind === 'move') {
      // Its webhook's deliveries wait on a queue of their own (queues.ts), where no other webhook's
      // wait behind them. Sent before the ack: if the send fails, this message comes back.
      await deliveryQueue(context.env, claim.to).send(body satisfies DeliveryMessage);
      message.ack();
      return;
    }
    if (claim.kind === 'busy' || claim.kind === 'throttled') {
      await waitForTurn(context, message, body, claim);
      return;
    }
    if (claim.kind === 'leased' || claim.kind === 'early') {
      message.retry({ delaySeconds: queueDelay(claim.retryInSeconds) });
      return;
    }
    if (claim.kind !== 'send') {
      if (claim.kind === 'skipped' || claim.kind === 'cancelled') logInfo(`delivery ${claim.kind}`, { deliveryId });
      message.ack();
      return;
    }
    if (
      Date.now() - decided.claimedAt > FRESH_CLAIM_MS &&
      (await renewLease(context.db(deliveryId), claim.attempt, context.circuit.coolDownSeconds)) !== 'renewed'
    ) {
      // Claimed ahead, then every lane stayed busy, and meanwhile the claim stopped holding, or was
      // undone because its webhook changed (renewLease): not sent. Back in a second, the message is
      // claimed afresh, and the claim says what is left to do. (A lease that ran out, after a wait of
      // the timeout and 30 s, leaves a gap in the attempt numbers: its claim counted one never made.)
      message.retry({ delaySeconds: 1 });
      return;
    }
    await waitForSlot(claim.attempt);
    const sent = await context.watchSend(send(context, claim.attempt), detachAfterMs(claim.attempt.timeoutMs));
    context.settling(settle(context, message, claim.attempt, sent));
  } catch (error) {
    await retryAfterFault(context, message, body, error);
  }
}

/**
 * Claims for a group of lanes in one statement. Two copies of one message in a group: the second comes
 * back a second later (the first's claim decides; then it finds the delivery leased or settled).
 */
async function claimGroup(
  db: Database,
  requests: ClaimRequest[],
  circuit: CircuitSettings,
  queue: DeliveryQueue,
): Promise<Claim[]> {
  const distinct = [...new Map(requests.map((request) => [request.deliveryId, request])).values()];
  const claims = await claimDeliveries(db, distinct, circuit, queue);
  const byRequest = new Map(distinct.map((request, index) => [request, claims[index]]));
  return requests.map((request) => byRequest.get(request) ?? { kind: 'leased', retryInSeconds: 1 });
}

/**
 * How long an attempt waits for its receiver before it may outlive its invocation. When every lane left
 * is in such a send and nothing else of the batch is left, the handler returns (the queue takes the batch
 * as done: wrangler.toml's queue_consumer_no_wait_for_wait_until) and the sends, their records and their
 * hand-backs go on in the background (ctx.waitUntil). So a receiver that hangs until its timeout holds
 * its lane, not the queue: the queue's next batch need not wait for it (locally, where Miniflare runs one
 * invocation of a queue at a time, it comes at once). Far above a healthy receiver's answer here (a few
 * ms), far below a hang's. Detaching costs little (the work goes on as it would; only a retry becomes a
 * new message): in the bench, 250 ms left the healthy p99 beside hanging webhooks at 2.6× its figure
 * without them, 100 ms at 1.4× (docs/performance.md).
 */
export const DETACH_AFTER_MS = 100;
/**
 * What a send may still need after the handler has returned: the attempt, its record and its hand-back
 * must end within it. Cloudflare lets ctx.waitUntil work run about 30 s past an event's end and then
 * cancels it; 5 s of that are kept for the record. A cancelled attempt is not lost (its lease runs out
 * and the sweep queues it again) but goes unrecorded, so a send detaches only once the rest of its
 * timeout fits: a 30 s timeout (the default) after 5 s, when the slow lane has it anyway (SLOW_ATTEMPT_MS).
 */
export const DETACHED_BUDGET_MS = 25_000;

/** How long a send with this timeout waits for its receiver before it may outlive the handler. */
export function detachAfterMs(timeoutMs: number): number {
  return Math.max(DETACH_AFTER_MS, timeoutMs - DETACHED_BUDGET_MS);
}

export async function consumeDeliveries(
  batch: MessageBatch<unknown>,
  env: Env,
  ctx: ExecutionContext,
  queue: DeliveryQueue,
): Promise<void> {
  const started = Date.now();
  const config = readConfig(env).delivery;
  const circuit: CircuitSettings = {
    coolDownSeconds: config.circuitCoolDownSeconds,
    failureThreshold: config.circuitFailureThreshold,
    autoDisableAfterSeconds: config.autoDisableAfterSeconds,
  };
  // Named after the deliveries a statement serves, so the local SQL endpoint can count their statements.
  const db = (deliveryId: string) => createDatabase(env, `webhooks delivery ${deliveryId}`);
  const groupDb = (ids: string[]) => db(ids.join(' '));
  const unsettled = new Set<Promise<void>>();
  const waiting = [...batch.messages];
  const decided: Promise<Decided>[] = [];
  const laneCount = Math.min(SENDING_LANES, waiting.length);
  // The handler may return once every lane has either finished or been sending for its detachAfterMs, at
  // least one of them the latter (tally.detached counts them then), and no message is left to claim or
  // act on.
  let finishedLanes = 0;
  let longSends = 0;
  let detach = () => {};
  const detachable = new Promise<void>((resolve) => {
    detach = resolve;
  });
  const checkDetachable = () => {
    if (context.tally.detached > 0) return;
    if (longSends > 0 && finishedLanes + longSends === laneCount && waiting.length === 0 && decided.length === 0) {
      context.tally.detached = longSends;
      detach();
    }
  };
  const context: Context = {
    db,
    secrets: secretBox(env.ENCRYPTION_KEYS),
    circuit,
    schedule: config.retryScheduleSeconds,
    allowPrivateTargets: config.allowPrivateTargets,
    serviceHostnames: config.serviceHostnames,
    queue,
    claim: groupCommit((requests: ClaimRequest[]) =>
      claimGroup(groupDb(requests.map((request) => request.deliveryId)), requests, circuit, queue),
    ),
    recordSuccess: groupCommit(async (successes: PlainSuccess[]) => {
      try {
        const recorded = await recordPlainSuccesses(groupDb(successes.map((success) => success.deliveryId)), successes);
        return successes.map((success) => recorded.has(success.deliveryId));
      } catch (error) {
        // Each is recorded on its own then: one failed group never sends its lanes' deliveries again.
        logError('group of successes not recorded; one at a time', describeError(error));
        return successes.map(() => false);
      }
    }),
    tally: { succeeded: 0, detached: 0 },
    settling: (record) => {
      unsettled.add(record);
      void record.finally(() => unsettled.delete(record));
    },
    watchSend: async (sending, detachAfter) => {
      let long = false;
      const timer = setTimeout(() => {
        long = true;
        longSends++;
        checkDetachable();
      }, detachAfter);
      try {
        return await sending;
      } finally {
        clearTimeout(timer);
        if (long) longSends--;
      }
    },
    returned: false,
    env,
  };
  // SENDING_LANES deliveries at a time at most: each lane takes its next message once its receiver has
  // answered, while the record of that answer goes on (with the other lanes' records of the moment, one
  // statement), over the connection kept for the database; at most a batch's messages (10) are recorded
  // at once. A webhook's lane stays taken until its record, so its in-flight cap counts the records too.
  // On the main queue the claims are made ahead, up to one per lane, while the lanes send: a lane's turn
  // there is its send alone. Not on the slow and paced queues, where lanes wait (for hangs, for rate-limit
  // slots) and a claim made ahead would wait with them. A claim made ahead takes its webhook's lane from
  // the moment it is made, so while every lane is held it counts as in flight (for the cap, and towards
  // the slow lane's 5 s) until it is sent: at most SENDING_LANES such claims an invocation.
  const claimsAhead = queue === 'main' ? SENDING_LANES : 0;
  const claimAhead = (count: number) => {
    while (decided.length < count) {
      const message = waiting.shift();
      if (message === undefined) return;
      decided.push(decide(context, message));
    }
  };
  const lane = async () => {
    for (;;) {
      claimAhead(Math.max(1, claimsAhead));
      const next = decided.shift();
      if (next === undefined) break;
      const current = await next;
      claimAhead(claimsAhead);
      await act(context, current);
    }
    finishedLanes++;
    checkDetachable();
  };
  // The first claims together, one statement: a message for each lane and, on the main queue, those made
  // ahead (there a whole batch, where lane by lane a full one took two statements; as before elsewhere).
  claimAhead(laneCount + claimsAhead);
  const work = (async () => {
    await Promise.all(Array.from({ length: laneCount }, lane));
    // Every send is over, so every record has been started.
    await Promise.all(unsettled);
    logInfo('delivery batch', {
      queue,
      messages: batch.messages.length,
      succeeded: context.tally.succeeded,
      detached: context.tally.detached || undefined,
      durationMs: Date.now() - started,
    });
  })();
  if ((await Promise.race([work.then(() => false), detachable.then(() => true)])) === false) return;
  // Only long sends are left: they go on after the handler. The records already under way are awaited
  // (their acks and retries still count); whatever hands a message back after this line sends it anew.
  ctx.waitUntil(work);
  await Promise.all(unsettled);
  context.returned = true;
}
