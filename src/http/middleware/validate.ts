import type { MiddlewareHandler } from 'hono';
import * as z from 'zod/mini';
import type { $ZodIssue, $ZodType } from 'zod/v4/core';
import { excerpt } from '../../lib/excerpt.ts';
import { documented } from '../../openapi/describe.ts';
import type { AppEnv } from '../env.ts';
import { ApiError } from '../errors.ts';

export interface ValidationIssue {
  path: string;
  message: string;
}

/** Past this many issues a response lists the first ones and says how many more there are. */
export const MAX_REPORTED_ISSUES = 50;

/**
 * One entry per offending field; unknown fields each get their own path. At most MAX_REPORTED_ISSUES
 * (then one saying how many more), and unknown field names cut short: a 4xx stays small whatever came in.
 */
export function toValidationIssues(issues: readonly $ZodIssue[], prefix = ''): ValidationIssue[] {
  const all = issues.flatMap((issue) => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({
        path: prefix + [...issue.path, excerpt(key)].join('.'),
        message: `Unknown field ${JSON.stringify(excerpt(key))}`,
      }));
    }
    return [{ path: prefix + issue.path.join('.'), message: issue.message }];
  });
  if (all.length <= MAX_REPORTED_ISSUES) return all;
  const more = all.length - MAX_REPORTED_ISSUES;
  return [
    ...all.slice(0, MAX_REPORTED_ISSUES),
    { path: prefix.replace(/\.$/, ''), message: `…and ${more} more issue${more === 1 ? '' : 's'}` },
  ];
}

function validationError(what: string, issues: ValidationIssue[]): ApiError {
  const total = issues.length;
  return new ApiError('VALIDATION_ERROR', `${what} is invalid (${total} issue${total === 1 ? '' : 's'})`, {
    details: { issues },
  });
}

/** Validates the parsed JSON body (`jsonBody` first); any failure is a 400 listing the issues. */
export const validateBody = <T extends $ZodType>(schema: T) =>
  documented<MiddlewareHandler<AppEnv, string, { in: { json: z.input<T> }; out: { json: z.output<T> } }>>(
    async (c, next) => {
      const result = z.safeParse(schema, c.get('body'));
      if (!result.success) throw validationError('Request body', toValidationIssues(result.error.issues));
      c.req.addValidatedData('json', result.data as object);
      await next();
    },
    { errors: ['VALIDATION_ERROR'], body: { schema } },
  );

/**
 * Validates the query string: each parameter once, as a string; a repeated one is refused rather than
 * silently taking one of its values. Issues are reported as `query.<name>`.
 */
export const validateQuery = <T extends $ZodType>(schema: T) =>
  documented<MiddlewareHandler<AppEnv, string, { in: { query: z.input<T> }; out: { query: z.output<T> } }>>(
    async (c, next) => {
      const query = Object.fromEntries(
        Object.entries(c.req.queries()).map(([name, values]) => [name, values.length === 1 ? values[0] : values]),
      );
      const result = z.safeParse(schema, query);
      if (!result.success) throw validationError('Query', toValidationIssues(result.error.issues, 'query.'));
      c.req.addValidatedData('query', result.data as object);
      await next();
    },
    { errors: ['VALIDATION_ERROR'], query: schema },
  );
