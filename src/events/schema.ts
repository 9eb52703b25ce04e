// An event as InstaView's systems publish it, through POST /events or straight onto the webhook-events
// queue: the same rules either way (the queue's consumer checks messages with this schema too).
import * as z from 'zod/mini';
import { isoDateTime } from '../lib/date-time.ts';
import { UUID_PATTERN } from '../webhooks/schema.ts';
import { PRODUCT_EVENTS } from './event-types.ts';

export const MAX_EVENT_DATA_BYTES = 64 * 1024;
/** Deeper than any real event, and shallow enough for every recursive step after this one (JSON.stringify). */
export const MAX_EVENT_DATA_DEPTH = 64;

/** How deep a parsed JSON value nests, counted without recursion (so a hostile depth cannot overflow it). */
function nestingDepth(value: unknown): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 1]];
  for (let next = stack.pop(); next; next = stack.pop()) {
    const [item, depth] = next;
    if (typeof item !== 'object' || item === null) continue;
    deepest = Math.max(deepest, depth);
    if (deepest > MAX_EVENT_DATA_DEPTH) return deepest;
    for (const child of Object.values(item)) stack.push([child, depth + 1]);
  }
  return deepest;
}
const PRINTABLE_ASCII = /^[\x20-\x7e]{1,255}$/;

const uuid = z.string('Expected a UUID string').check(z.regex(UUID_PATTERN, 'Must be a UUID'));

export const publishedEventSchema = z.strictObject(
  {
    id: z.optional(
      z
        .string('Expected a string')
        .check(z.regex(PRINTABLE_ASCII, 'Must be 1 to 255 printable ASCII characters'), z.meta({ maxLength: 255 })),
    ),
    // The state-change events are the service's own (deliveries/store/state-changes.ts): never published from outside.
    type: z.enum(PRODUCT_EVENTS, { error: `Must be one of ${PRODUCT_EVENTS.join(', ')}` }),
    accountId: uuid,
    companyId: z.optional(z.nullable(uuid)),
    occurredAt: z.optional(isoDateTime('Must be an ISO 8601 date-time')),
    data: z.record(z.string(), z.unknown(), 'Must be a JSON object').check(
      z.refine((data) => nestingDepth(data) <= MAX_EVENT_DATA_DEPTH, {
        error: `Must nest at most ${MAX_EVENT_DATA_DEPTH} levels deep`,
        abort: true,
      }),
      z.refine((data) => new TextEncoder().encode(JSON.stringify(data)).length <= MAX_EVENT_DATA_BYTES, {
        error: `Must be at most ${MAX_EVENT_DATA_BYTES} bytes as JSON`,
      }),
    ),
  },
  'Expected an object',
);

export type PublishedEventInput = z.output<typeof publishedEventSchema>;
