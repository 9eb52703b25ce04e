// Route documentation lives on the route itself: each middleware that shapes the contract (admission,
// body, query, Idempotency-Key) carries what it adds, and `describe` adds the operation's own summary,
// responses and errors. openapi/document.ts walks the app's routes and reads them, so the document and
// the app cannot drift apart (test/openapi.test.ts checks both ways). Examples, which only the document
// needs, are kept out of the Worker's bundle in openapi/examples.ts, by operationId.
import type { MiddlewareHandler } from 'hono';
import type { $ZodType } from 'zod/v4/core';
import type { Scope } from '../auth/api-key.ts';
import type { AppEnv } from '../http/env.ts';
import type { ErrorCode } from '../http/errors.ts';

export const OPENAPI = Symbol.for('instaview.webhooks.openapi');

export interface ResponseDoc {
  description: string;
  /** The envelope's `data`; absent for a response without a body (204). Its example is in examples.ts. */
  data?: $ZodType;
  /** Headers this response always carries besides X-Request-Id, with what they carry. */
  headers?: Record<string, string>;
}

/** A request header an operation reads. */
export interface HeaderDoc {
  description: string;
}

export interface OperationDoc {
  operationId: string;
  summary: string;
  description?: string;
  tags: string[];
  /** Path parameters by name. */
  params?: Record<string, string>;
  /** Success responses by status. */
  responses: Record<number, ResponseDoc>;
  /** Errors the operation itself may answer with, beyond those of its middleware. */
  errors?: ErrorCode[];
  /** Request headers it reads, besides Authorization and Idempotency-Key. */
  headers?: Record<string, HeaderDoc>;
}

/** What one middleware adds to the operation it is part of. */
export interface OperationPart {
  operation?: OperationDoc;
  scope?: Scope;
  /** Authenticated with the operator's publish token instead of an API key. */
  publisher?: true;
  errors?: ErrorCode[];
  body?: { schema?: $ZodType; required?: boolean };
  query?: $ZodType;
  idempotent?: true;
}

export type Documented<M> = M & { [OPENAPI]: OperationPart };

export function documented<M extends MiddlewareHandler>(middleware: M, part: OperationPart): Documented<M> {
  return Object.assign(middleware, { [OPENAPI]: part });
}

export function partOf(handler: unknown): OperationPart | undefined {
  return typeof handler === 'function' ? (handler as Partial<Documented<unknown>>)[OPENAPI] : undefined;
}

/** The operation's own documentation, as a middleware that does nothing else. */
export function describe(operation: OperationDoc): MiddlewareHandler<AppEnv> {
  return documented<MiddlewareHandler<AppEnv>>(async (_c, next) => next(), { operation });
}
