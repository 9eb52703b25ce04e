// The request body of POST /webhooks, rule by rule as the API contract states them. Messages omit the
// field name: every issue is reported with its path.
import * as z from 'zod/mini';
import { WEBHOOK_EVENTS } from './events.ts';
import { webhookUrlProblem } from './url-policy.ts';

export const LIMITS = {
  urlLength: 2048,
  nameLength: 255,
  descriptionLength: 1000,
  headerCount: 50,
  headerNameLength: 255,
  headerValueLength: 4096,
} as const;

/** Names the delivery layer sets itself, compared lowercase. */
const MANAGED_HEADERS = new Set([
  'host',
  'content-length',
  'content-type',
  'transfer-encoding',
  'connection',
  'user-agent',
]);
const RESERVED_HEADER_PREFIXES = ['webhook-', 'x-instaview-'];
/** Anything outside RFC 9110's token characters, which are all a field name may have. */
const NOT_TOKEN_CHARACTER = /[^!#$%&'*+\-.^_`|~0-9A-Za-z]/;
/** Control characters other than horizontal tab: C0, DEL and C1. */
const CONTROL_EXCEPT_TAB = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/;
/** Any 8-4-4-4-12 hex UUID, in either case: the forms Postgres' uuid type reads. */
export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

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
  );
}

const NUL = { pattern: /\u0000/, message: 'Must not contain NUL characters' };

// Control characters are the URL policy's to report.
const url = text(1, LIMITS.urlLength).check(
  z.superRefine((value, ctx) => {
    if (value.length === 0 || characterCount(value) > LIMITS.urlLength) return;
    const problem = webhookUrlProblem(value);
    if (problem) ctx.issues.push({ code: 'custom', input: value, message: problem });
  }),
);

const event = z.string(typeError('an event type')).check(
  z.refine((value) => (WEBHOOK_EVENTS as readonly string[]).includes(value), {
    error: (issue) => `Unknown event type ${JSON.stringify(issue.input)}; expected one of ${WEBHOOK_EVENTS.join(', ')}`,
  }),
);

const headerName = text(1, LIMITS.headerNameLength, {
  pattern: NOT_TOKEN_CHARACTER,
  message: "Must be a valid HTTP header name (letters, digits and !#$%&'*+-.^_`|~ only)",
}).check(
  z.superRefine((value, ctx) => {
    const lower = value.toLowerCase();
    if (MANAGED_HEADERS.has(lower)) {
      ctx.issues.push({
        code: 'custom',
        input: value,
        message: `${value} is set by InstaView on every delivery and cannot be overridden`,
      });
    }
    const prefix = RESERVED_HEADER_PREFIXES.find((reserved) => lower.startsWith(reserved));
    if (prefix) {
      ctx.issues.push({
        code: 'custom',
        input: value,
        message: `Header names starting with "${prefix}" are reserved for delivery signatures`,
      });
    }
  }),
);

const header = z.strictObject(
  {
    name: headerName,
    value: text(1, LIMITS.headerValueLength, {
      pattern: CONTROL_EXCEPT_TAB,
      message: 'Must not contain CR, LF, NUL or other control characters (tab is allowed)',
    }),
  },
  typeError('an object with "name" and "value"'),
);

const headers = z.array(header, typeError('an array of headers')).check(
  z.maxLength(LIMITS.headerCount, {
    error: (issue) => `Must contain at most ${LIMITS.headerCount} headers (got ${(issue.input as unknown[]).length})`,
  }),
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
            message: `Duplicate header name ${JSON.stringify(name)} (names are case-insensitive)`,
          });
        }
        seen.add(lower);
      });
    },
    { when: (payload) => Array.isArray(payload.value) },
  ),
);

export const createWebhookSchema = z.strictObject(
  {
    url,
    events: z
      .array(event, typeError('an array of event types'))
      .check(z.minLength(1, 'Must contain at least one event type')),
    // null is accepted wherever a response shows null, so a client can send back what it read.
    name: z.optional(z.nullable(text(1, LIMITS.nameLength, NUL))),
    description: z.optional(z.nullable(text(0, LIMITS.descriptionLength, NUL))),
    companyId: z.optional(
      z.nullable(z.string(typeError('a UUID string')).check(z.regex(UUID_PATTERN, 'Must be a UUID'))),
    ),
    headers: z.optional(headers),
  },
  typeError('an object'),
);

export type CreateWebhookBody = z.output<typeof createWebhookSchema>;
