import { zValidator } from '@hono/zod-validator';
import type { $ZodIssue, $ZodType } from 'zod/v4/core';
import { ApiError } from '../lib/api-error.ts';

export interface ValidationIssue {
  path: string;
  message: string;
}

/** Flattens zod issues to one entry per offending field; unknown fields each get their own path. */
export function toValidationIssues(issues: readonly $ZodIssue[]): ValidationIssue[] {
  return issues.flatMap((issue) => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ path: [...issue.path, key].join('.'), message: `Unknown field "${key}"` }));
    }
    return [{ path: issue.path.join('.'), message: issue.message }];
  });
}

/** Validates the JSON body against `schema`; any failure is a 400 VALIDATION_ERROR listing every issue. */
export const validateJson = <T extends $ZodType>(schema: T) =>
  zValidator('json', schema, (result) => {
    if (!result.success) {
      const issues = toValidationIssues(result.error.issues);
      throw new ApiError(
        'VALIDATION_ERROR',
        `Request body is invalid (${issues.length} issue${issues.length === 1 ? '' : 's'})`,
        {
          details: { issues },
        },
      );
    }
  });
