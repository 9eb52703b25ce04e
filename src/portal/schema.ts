// POST /portal/sessions' body, under the rules of the webhook bodies (webhooks/schema.ts).
import * as z from 'zod/mini';
import { UUID_PATTERN } from '../webhooks/schema.ts';
import { DEFAULT_SESSION_SECONDS, MAX_SESSION_SECONDS, MIN_SESSION_SECONDS } from './session-token.ts';

const typeError = (expected: string) => ({
  error: (issue: { input?: unknown }) => (issue.input === undefined ? 'Required' : `Expected ${expected}`),
});

export const createSessionSchema = z.strictObject(
  {
    companyId: z.optional(
      z.string(typeError('a UUID string')).check(
        z.regex(UUID_PATTERN, 'Must be a UUID'),
        z.meta({
          format: 'uuid',
          description: 'Narrows the session to this company, which the key must reach',
        }),
      ),
    ),
    readOnly: z.optional(
      z
        .boolean(typeError('true or false'))
        .check(z.meta({ description: 'Only the read:webhooks scope: the page can look but not change' })),
    ),
    expiresInSeconds: z.optional(
      z
        .int(typeError('an integer number of seconds'))
        .check(
          z.minimum(MIN_SESSION_SECONDS, `Must be at least ${MIN_SESSION_SECONDS}`),
          z.maximum(MAX_SESSION_SECONDS, `Must be at most ${MAX_SESSION_SECONDS} (1 hour)`),
          z.meta({ description: `Default ${DEFAULT_SESSION_SECONDS} (15 minutes)` }),
        ),
    ),
  },
  typeError('an object'),
);

export const createdSession = z.object({
  url: z
    .string()
    .check(
      z.meta({ format: 'uri', description: 'The portal page, with the session token in its fragment (#token=…)' }),
    ),
  expiresAt: z.string().check(z.meta({ format: 'date-time' })),
});
