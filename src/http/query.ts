// Query parameters arrive as text. These take the forms the API has always accepted and hand the route
// what they mean (a number, a boolean); the OpenAPI document shows what they mean too (it describes the
// output side), so a generated client sends `limit: 2` and `isActive: true`, which serialise to the
// accepted text.
import * as z from 'zod/mini';

/** A page size: 1 to `max` written in decimal digits (up to 3), as a number. */
export function pageSize(max: number, fallback: number) {
  const error = `Must be an integer from 1 to ${max}`;
  return z.pipe(
    z.pipe(
      z.string('Expected an integer').check(z.regex(/^\d{1,3}$/, error)),
      z.transform((text) => Number(text)),
    ),
    z
      .int()
      .check(
        z.minimum(1, error),
        z.maximum(max, error),
        z.meta({ default: fallback, description: `Page size, 1 to ${max} (default ${fallback})` }),
      ),
  );
}

/** `true` or `false`, as a boolean. */
export function booleanFlag(description: string) {
  return z.pipe(
    z.pipe(
      z.enum(['true', 'false'], { error: 'Must be true or false' }),
      z.transform((text) => text === 'true'),
    ),
    z.boolean().check(z.meta({ description })),
  );
}
