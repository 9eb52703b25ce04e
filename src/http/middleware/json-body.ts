import { bodyLimit } from 'hono/body-limit';
import { createMiddleware } from 'hono/factory';
import type { AppEnv } from '../env.ts';
import { ApiError } from '../lib/api-error.ts';

/** application/json, with no charset or UTF-8 (the only encoding JSON allows, RFC 8259 §8.1). */
function isJsonContentType(header: string | undefined): boolean {
  if (!header) return false;
  const [mediaType = '', ...parameters] = header.split(';');
  if (mediaType.trim().toLowerCase() !== 'application/json') return false;
  return parameters.every((parameter) => {
    const [name = '', value = ''] = parameter.split('=');
    if (name.trim().toLowerCase() !== 'charset') return true;
    return ['utf-8', 'utf8'].includes(value.trim().replace(/^"|"$/g, '').toLowerCase());
  });
}

/**
 * Content-Type, size, then syntax: refuses with 415, 413 or INVALID_JSON before validation runs, and
 * leaves the parsed body where `c.req.json()` (and so the validator) finds it.
 */
export const jsonBody = (maxBytes: number) => {
  const limit = bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw new ApiError('PAYLOAD_TOO_LARGE', `Request body must be at most ${maxBytes} bytes`, {
        details: { maxBytes },
      });
    },
  });
  return createMiddleware<AppEnv>(async (c, next) => {
    if (!isJsonContentType(c.req.header('Content-Type'))) {
      throw new ApiError('UNSUPPORTED_MEDIA_TYPE', 'Content-Type must be application/json', {
        details: { supportedMediaTypes: ['application/json'] },
      });
    }
    await limit(c, async () => {
      let body: unknown;
      try {
        body = await c.req.json();
      } catch {
        throw new ApiError('INVALID_JSON', 'Request body is not valid JSON');
      }
      if (typeof body !== 'object' || body === null || Array.isArray(body)) {
        throw new ApiError('INVALID_JSON', 'Request body must be a JSON object');
      }
      await next();
    });
  });
};
