import type { Context } from 'hono';
import { readConfig } from '../config.ts';
import type { AppEnv } from '../http/env.ts';
import { ApiError } from '../http/errors.ts';
import { selfTargetProblem } from './url-policy.ts';

/**
 * 400 when a create or PATCH points the webhook at this service: the origin the request came in on (so a
 * deployment refuses its own address without being told it), the configured public hostnames and any
 * *.workers.dev host. Delivery refuses the configured ones again at send time (deliveries/send.ts).
 */
export function refuseSelfTarget(c: Context<AppEnv>, url: string | undefined): void {
  if (url === undefined) return;
  const problem = selfTargetProblem(new URL(url), readConfig(c.env).delivery.serviceHostnames, [
    new URL(c.req.url).host,
  ]);
  if (problem === undefined) return;
  throw new ApiError('VALIDATION_ERROR', 'Request body is invalid (1 issue)', {
    details: { issues: [{ path: 'url', message: problem }] },
  });
}
