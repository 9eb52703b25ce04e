// The webhook portal: POST /portal/sessions opens a short-lived session for a key (session-token.ts),
// and GET /portal serves the page that uses it. The page and its script are static assets built from
// portal/ by scripts/portal-assets.ts; the Worker only adds the headers that hold them to their policy.

import { and, eq, sql } from 'drizzle-orm';
import type { Context } from 'hono';
import { Hono } from 'hono/tiny';
import { hashApiToken } from '../auth/api-token.ts';
import { companies } from '../db/schema.ts';
import type { AppEnv } from '../http/env.ts';
import { successEnvelope } from '../http/envelope.ts';
import { ApiError } from '../http/errors.ts';
import { admit } from '../http/middleware/admit.ts';
import { jsonBody } from '../http/middleware/json-body.ts';
import { validateBody } from '../http/middleware/validate.ts';
import { secretBox } from '../lib/secret-box.ts';
import { describe } from '../openapi/describe.ts';
import { canReachCompany } from '../webhooks/access.ts';
import { PORTAL_FILES, portalAsset, portalPage } from './page.ts';
import { createdSession, createSessionSchema } from './schema.ts';
import { DEFAULT_SESSION_SECONDS, sealPortalSession } from './session-token.ts';

const MAX_SESSION_BODY_BYTES = 1024;

function companyDenied(companyId: string): ApiError {
  return new ApiError('RESOURCE_ACCESS_DENIED', 'This API key cannot access the given company', {
    details: { companyId },
  });
}

/** Whether the key's account has this company: one statement, only for a key that reaches all of them. */
async function accountHasCompany(c: Context<AppEnv>, accountId: string, companyId: string): Promise<boolean> {
  const rows = await c
    .get('db')()
    .select({ found: sql<number>`1` })
    .from(companies)
    .where(and(eq(companies.accountId, accountId), eq(companies.id, companyId)))
    .limit(1);
  return rows.length > 0;
}

export const portal = new Hono<AppEnv>();

portal.post(
  '/sessions',
  describe({
    operationId: 'createPortalSession',
    summary: 'Open a webhook portal session',
    description:
      'A link to the webhook portal, a page where the people who receive the events manage their webhooks and ' +
      'read their deliveries. It carries a short-lived token in its fragment (never sent to a server by a ' +
      'browser) that works as a Bearer token with at most what this key can do: only its companies (`companyId` ' +
      'narrows to one), only reads with `readOnly`, never this operation. Revoking the key ends its sessions ' +
      'within the key cache’s bound.',
    tags: ['Portal'],
    responses: { 201: { description: 'The link and when it stops working', data: createdSession } },
    errors: ['API_KEY_REQUIRED', 'RESOURCE_ACCESS_DENIED'],
  }),
  admit({ scope: 'write:webhooks', rateLimit: 'write' }),
  jsonBody(MAX_SESSION_BODY_BYTES, { optional: true }),
  validateBody(createSessionSchema),
  async (c) => {
    if (c.get('portalSession')) {
      throw new ApiError('API_KEY_REQUIRED', 'A portal session cannot open portal sessions; use an API key', {
        details: {},
      });
    }
    const body = c.req.valid('json');
    const apiKey = c.get('apiKey');
    const companyId = body.companyId?.toLowerCase() ?? null;
    if (companyId !== null) {
      if (!canReachCompany(apiKey, companyId)) throw companyDenied(companyId);
      if (apiKey.companyIds === null && !(await accountHasCompany(c, apiKey.accountId, companyId)))
        throw companyDenied(companyId);
    }
    const expiresAt = Date.now() + (body.expiresInSeconds ?? DEFAULT_SESSION_SECONDS) * 1000;
    const token = await sealPortalSession(secretBox(c.env.ENCRYPTION_KEYS), {
      keyTokenHash: await bearerTokenHash(c),
      companyId,
      readOnly: body.readOnly ?? false,
      expiresAt,
    });
    const url = new URL('/portal', c.req.url);
    url.hash = `token=${token}`;
    return c.json(successEnvelope({ url: url.toString(), expiresAt: new Date(expiresAt).toISOString() }), 201, {
      'Cache-Control': 'no-store',
    });
  },
);

/** The hash of the API key the request came with (admit accepted it, so it is well formed). */
function bearerTokenHash(c: Context<AppEnv>): Promise<string> {
  const token = (c.req.header('Authorization') ?? '').replace(/^Bearer\s+/i, '').trim();
  return hashApiToken(token);
}

// Listed in SERVICE_PATHS (openapi/routes.ts): the service's own pages, not operations of the API.
portal.get('/', portalPage);
for (const file of PORTAL_FILES) portal.get(`/${file}`, (c) => portalAsset(c, file));
