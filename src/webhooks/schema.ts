// The webhook resource's request bodies, rule by rule as the API contract states them. Messages omit the
// field name: every issue is reported with its path. Anything echoed from the input is cut short.
import * as z from 'zod/mini';
import { WEBHOOK_EVENTS } from '../events/event-types.ts';
import { booleanFlag, pageSize } from '../http/query.ts';
import { excerpt } from '../lib/excerpt.ts';
import { NOT_FIELD_VALUE_CHARACTER, NOT_TOKEN_CHARACTER, reservedHeaderProblem } from './custom-headers.ts';
import { checkWebhookUrl } from './url-policy.ts';

export const LIMITS = {
  urlLength: 2048,
  eventCount: 100,
  nameLength: 255,
  descriptionLength: 1000,
  headerCount: 50,
  headerNameLength: 255,
  headerValueLength: 4096,
  rateLimitPerSecond: { min: 1, max: 1000 },
} as const;

/** Any 8-4-4-4-12 hex UUID, in either case: the forms Postgres' uuid type reads. */
export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** The same, for JSON Schema, which has no case-insensitive flag. */
const UUID_SCHEMA_PATTERN = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';

/** Length in Unicode characters (code points), the way Postgres counts, not UTF-16 units. */
export function characterCount(value: string): number {
  let count = 0;
  for (const _ of value) count++;
  return count;
}

const typeError = (expected: string) => ({
  error: (issue: { input?: unknown }) => (issue.input === undefined ? 'Required' : `Expected ${expected}`),
});

/** A string of min..max characters that Postgres can store and every client can read back. */
function text(min: number, max: number, forbidden?: { pattern: RegExp; message: string }) {
  return z.string(typeError('a string')).check(
    z.superRefine((value, ctx) => {
      const length = value.length <= max && value.length >= min ? value.length : characterCount(value);
      if (length < min)
        ctx.issues.push({
          code: 'custom',
          input: value,
          message: min === 1 ? 'Must not be empty' : `Must be at least ${min} characters`,
        });
      if (length > max)
        ctx.issues.push({ code: 'custom', input: value, message: `Must be at most ${max} characters (got ${length})` });
      if (!value.isWellFormed())
        ctx.issues.push({
          code: 'custom',
          input: value,
          message: 'Must be valid Unicode (it contains a lone surrogate)',
        });
      if (forbidden?.pattern.test(value)) ctx.issues.push({ code: 'custom', input: value, message: forbidden.message });
    }),
    // The same bounds for the OpenAPI document: JSON Schema counts code points too.
    z.meta({ minLength: min, maxLength: max }),
  );
}

/**
 * An array of at most `max` items whose length is checked before any item is: a huge array gets one
 * issue, not one per item (zod would otherwise build, and spread, an issue list as long as the input).
 */
function boundedArray<T extends z.ZodMiniType>(
  item: T,
  { min, max, noun, minMessage }: { min: number; max: number; noun: string; minMessage?: string },
) {
  const tooMany = (issue: { input?: unknown }) =>
    `Must contain at most ${max} ${noun} (got ${(issue.input as unknown[]).length})`;
  const counted = z.array(z.unknown(), typeError(`an array of ${noun}`)).check(z.maxLength(max, { error: tooMany }));
  const items = z.array(item).check(z.maxLength(max, { error: tooMany }));
  return z.pipe(
    counted,
    min > 0 ? items.check(z.minLength(min, minMessage ?? `Must contain at least ${min} ${noun}`)) : items,
  );
}

const NUL = { pattern: /\u0000/, message: 'Must not contain NUL characters' };

// Control characters are the URL policy's to report.
const url = text(1, LIMITS.urlLength).check(
  z.superRefine((value, ctx) => {
    if (value.length === 0 || characterCount(value) > LIMITS.urlLength) return;
    const check = checkWebhookUrl(value);
    if (!check.ok) ctx.issues.push({ code: 'custom', input: value, message: check.problem });
    // What is stored and returned is the serialisation; it must fit the same limit, or reading a webhook
    // back and sending its url again would fail.
    else if (check.url.href.length > LIMITS.urlLength)
      ctx.issues.push({
        code: 'custom',
        input: value,
        message: `Must be at most ${LIMITS.urlLength} characters once normalised (percent-encoding makes it ${check.url.href.length})`,
      });
  }),
  z.meta({ format: 'uri' }),
);

/** One of the event types; refused with a message that lists them, but never echoes more than a glimpse. */
const event = z.string(typeError('an event type')).check(
  z.refine((value) => (WEBHOOK_EVENTS as readonly string[]).includes(value), {
    error: (issue) =>
      `Unknown event type ${JSON.stringify(excerpt(String(issue.input)))}; expected one of ${WEBHOOK_EVENTS.join(', ')}`,
  }),
  z.meta({ enum: [...WEBHOOK_EVENTS] }),
);

const events = boundedArray(event, {
  min: 1,
  max: LIMITS.eventCount,
  noun: 'event types',
  minMessage: 'Must contain at least one event type',
});

const headerName = text(1, LIMITS.headerNameLength, {
  pattern: NOT_TOKEN_CHARACTER,
  message: "Must be a valid HTTP header name (letters, digits and !#$%&'*+-.^_`|~ only)",
}).check(
  z.superRefine((value, ctx) => {
    const problem = reservedHeaderProblem(excerpt(value));
    if (problem) ctx.issues.push({ code: 'custom', input: value, message: problem });
  }),
  z.meta({ pattern: "^[!#$%&'*+\\-.^_`|~0-9A-Za-z]+$", description: 'An RFC 9110 token; reserved names are refused' }),
);

const header = z.strictObject(
  {
    name: headerName,
    value: text(1, LIMITS.headerValueLength, {
      pattern: NOT_FIELD_VALUE_CHARACTER,
      message:
        'Must contain only visible ASCII, spaces, tabs and characters U+0080–U+00FF (RFC 9110 field values); no CR, LF or other control characters',
    }).check(z.meta({ pattern: '^[\\t\\x20-\\x7e\\x80-\\xff]+$', writeOnly: true })),
  },
  typeError('an object with "name" and "value"'),
);

const headers = boundedArray(header, { min: 0, max: LIMITS.headerCount, noun: 'headers' }).check(
  // Runs even when some headers are invalid, so one response lists every problem.
  z.superRefine(
    (list, ctx) => {
      const seen = new Set<string>();
      list.forEach((item: unknown, index) => {
        const name = (item as { name?: unknown } | null)?.name;
        if (typeof name !== 'string') return;
        const lower = name.toLowerCase();
        if (seen.has(lower)) {
          ctx.issues.push({
            code: 'custom',
            input: name,
            path: [index, 'name'],
            message: `Duplicate header name ${JSON.stringify(excerpt(name))} (names are case-insensitive)`,
          });
        }
        seen.add(lower);
      });
    },
    { when: (payload) => Array.isArray(payload.value) && payload.value.length <= LIMITS.headerCount },
  ),
);

const name = text(1, LIMITS.nameLength, NUL);
/** Deliveries a second at most; over it they wait their turn (never fail). null: no limit. */
const rateLimitPerSecond = z.nullable(
  z
    .int(typeError('an integer number of deliveries a second'))
    .check(
      z.minimum(LIMITS.rateLimitPerSecond.min, `Must be at least ${LIMITS.rateLimitPerSecond.min}`),
      z.maximum(LIMITS.rateLimitPerSecond.max, `Must be at most ${LIMITS.rateLimitPerSecond.max}`),
    ),
);
const description = text(0, LIMITS.descriptionLength, NUL);
const companyId = z
  .string(typeError('a UUID string'))
  .check(z.regex(UUID_PATTERN, 'Must be a UUID'), z.meta({ pattern: UUID_SCHEMA_PATTERN, format: 'uuid' }));

export const createWebhookSchema = z.strictObject(
  {
    url,
    events,
    // null is accepted wherever a response shows null, so a client can send back what it read.
    name: z.optional(z.nullable(name)),
    description: z.optional(z.nullable(description)),
    companyId: z.optional(z.nullable(companyId)),
    headers: z.optional(headers),
    rateLimitPerSecond: z.optional(rateLimitPerSecond),
  },
  typeError('an object'),
);

export type CreateWebhookBody = z.output<typeof createWebhookSchema>;
export type CustomHeader = { name: string; value: string };

/** PATCH: any non-empty subset of the fields a webhook's owner may change, under the create rules. */
export const updateWebhookSchema = z
  .strictObject(
    {
      url: z.optional(url),
      events: z.optional(events),
      name: z.optional(z.nullable(name)),
      description: z.optional(z.nullable(description)),
      headers: z.optional(headers),
      isActive: z.optional(z.boolean(typeError('true or false'))),
      rateLimitPerSecond: z.optional(rateLimitPerSecond),
      // Named, so the answer says why rather than "unknown field".
      companyId: z.optional(
        z
          .custom<never>(() => false, 'Cannot be changed; create a new webhook for another company')
          .check(z.meta({ not: {}, description: 'Cannot be changed: create a new webhook for another company' })),
      ),
    },
    typeError('an object'),
  )
  .check(
    z.refine((body) => Object.keys(body).length > 0, {
      error: 'Send at least one of url, events, name, description, headers, isActive, rateLimitPerSecond',
      // An unknown field is already its own issue; an empty body is the only other way to get here.
      when: (payload) => payload.issues.length === 0,
    }),
    z.meta({ minProperties: 1 }),
  );

export type UpdateWebhookBody = z.output<typeof updateWebhookSchema>;

export const MAX_GRACE_PERIOD_SECONDS = 7 * 24 * 60 * 60;
export const DEFAULT_GRACE_PERIOD_SECONDS = 24 * 60 * 60;

/** POST /webhooks/{id}/rotate-secret; the body is optional. */
export const rotateSecretSchema = z.strictObject(
  {
    gracePeriodSeconds: z.optional(
      z
        .int(typeError('an integer number of seconds'))
        .check(
          z.minimum(0, 'Must be at least 0'),
          z.maximum(MAX_GRACE_PERIOD_SECONDS, `Must be at most ${MAX_GRACE_PERIOD_SECONDS} (7 days)`),
        ),
    ),
  },
  typeError('an object'),
);

export const MAX_PAGE_SIZE = 100;

/** GET /webhooks query parameters: each a single string, as URLs carry them. */
export const listWebhooksQuery = z.strictObject({
  companyId: z.optional(companyId),
  isActive: z.optional(booleanFlag('Only active (true) or only inactive (false) webhooks')),
  event: z.optional(event),
  limit: z.optional(pageSize(MAX_PAGE_SIZE, MAX_PAGE_SIZE)),
  cursor: z.optional(
    z.string(typeError('a cursor from nextCursor')).check(z.maxLength(1024, 'Is not a cursor this API issued')),
  ),
});
