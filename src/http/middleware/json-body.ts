import { createMiddleware } from 'hono/factory';
import { documented } from '../../openapi/describe.ts';
import type { AppEnv } from '../env.ts';
import { ApiError } from '../errors.ts';

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

const tooLarge = (maxBytes: number) =>
  new ApiError('PAYLOAD_TOO_LARGE', `Request body must be at most ${maxBytes} bytes`, { details: { maxBytes } });

/** Thrown when the body stream fails: the client went away (or broke the framing) mid-body. */
class BodyAborted extends Error {
  override name = 'BodyAborted';
}

/** The body's bytes, refusing more than `maxBytes` whatever Content-Length claims, without buffering past it. */
async function readBody(request: Request, maxBytes: number): Promise<Uint8Array> {
  const declared = Number(request.headers.get('Content-Length') ?? Number.NaN);
  if (declared > maxBytes) throw tooLarge(maxBytes);
  if (!request.body) return new Uint8Array();
  // With a Content-Length the runtime delivers exactly that many bytes: read them in one native call.
  if (Number.isInteger(declared)) {
    try {
      return new Uint8Array(await request.arrayBuffer());
    } catch (error) {
      throw new BodyAborted('request body stream failed', { cause: error });
    }
  }
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    let chunk: ReadableStreamReadResult<Uint8Array>;
    try {
      chunk = await reader.read();
    } catch (error) {
      throw new BodyAborted('request body stream failed', { cause: error });
    }
    if (chunk.done) break;
    total += chunk.value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => {});
      throw tooLarge(maxBytes);
    }
    chunks.push(chunk.value);
  }
  if (chunks.length === 1) return chunks[0] as Uint8Array;
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

// fatal: overlong forms, CESU-8 surrogates and stray bytes are refused, never turned into U+FFFD.
// A leading BOM is dropped, as JSON parsers may (RFC 8259 §8.1).
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/**
 * Content-Type, size, encoding, then syntax: refuses with 415, 413 or INVALID_JSON before validation
 * runs, and leaves the parsed object in `c.get('body')`. With `optional`, a request with no body (without
 * a Content-Type, or an empty one with `application/json`) stands for `{}`.
 */
export const jsonBody = (maxBytes: number, { optional = false } = {}) =>
  documented(
    createMiddleware<AppEnv>(async (c, next) => {
      const contentType = c.req.header('Content-Type');
      if (
        optional &&
        contentType === undefined &&
        (c.req.raw.body === null || c.req.header('Content-Length') === '0')
      ) {
        c.set('body', {});
        return next();
      }
      if (!isJsonContentType(contentType)) {
        throw new ApiError('UNSUPPORTED_MEDIA_TYPE', 'Content-Type must be application/json', {
          details: { supportedMediaTypes: ['application/json'] },
        });
      }
      let bytes: Uint8Array;
      try {
        bytes = await readBody(c.req.raw, maxBytes);
      } catch (error) {
        if (!(error instanceof BodyAborted)) throw error;
        c.set('clientAbort', true);
        throw new ApiError('INVALID_JSON', 'Request body ended before it was complete');
      }
      // An empty JSON body is no body: clients (and the /docs page) send `Content-Type: application/json`
      // on every request, with or without one.
      if (optional && bytes.byteLength === 0) {
        c.set('body', {});
        return next();
      }
      let text: string;
      try {
        text = strictUtf8.decode(bytes);
      } catch {
        throw new ApiError('INVALID_JSON', 'Request body is not valid UTF-8');
      }
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        throw new ApiError('INVALID_JSON', 'Request body is not valid JSON');
      }
      if (typeof body !== 'object' || body === null || Array.isArray(body)) {
        throw new ApiError('INVALID_JSON', 'Request body must be a JSON object');
      }
      c.set('body', body);
      await next();
    }),
    { errors: ['UNSUPPORTED_MEDIA_TYPE', 'PAYLOAD_TOO_LARGE', 'INVALID_JSON'], body: { required: !optional } },
  );
