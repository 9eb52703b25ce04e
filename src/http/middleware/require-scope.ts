import { createMiddleware } from 'hono/factory';
import type { Scope } from '../../auth/api-key.ts';
import type { AppEnv } from '../env.ts';
import { ApiError } from '../errors.ts';

export const requireScope = (scope: Scope) =>
  createMiddleware<AppEnv>(async (c, next) => {
    if (!c.var.apiKey.scopes.includes(scope)) {
      throw new ApiError('INSUFFICIENT_PERMISSIONS', `API key lacks the ${scope} scope`, {
        details: { requiredScope: scope },
      });
    }
    await next();
  });
