import { createMiddleware } from 'hono/factory';
import { IDEMPOTENCY_HEADER, isValidIdempotencyKey, requestFingerprint } from '../../idempotency/idempotency-key.ts';
import { documented } from '../../openapi/describe.ts';
import type { AppEnv } from '../env.ts';
import { ApiError } from '../errors.ts';

/**
 * Reads an optional Idempotency-Key and fingerprints the (already parsed and validated) request it came
 * with. The path is lowercased: ids in it are UUIDs, whatever case the client wrote them in.
 */
export const idempotencyKey = () =>
  documented(
    createMiddleware<AppEnv>(async (c, next) => {
      const key = c.req.header(IDEMPOTENCY_HEADER);
      if (key !== undefined) {
        if (!isValidIdempotencyKey(key)) {
          throw new ApiError('VALIDATION_ERROR', 'Idempotency-Key header is invalid', {
            details: { issues: [{ path: IDEMPOTENCY_HEADER, message: 'Must be 1 to 255 printable ASCII characters' }] },
          });
        }
        c.set('idempotency', {
          key,
          fingerprint: await requestFingerprint(c.req.method, c.req.path.toLowerCase(), c.get('body') ?? {}),
        });
      }
      await next();
    }),
    { idempotent: true, errors: ['VALIDATION_ERROR', 'IDEMPOTENCY_KEY_REUSED'] },
  );
