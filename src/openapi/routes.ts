// The API's own description: GET /openapi.json (built from the routes by openapi/document.ts, at build
// time) and GET /docs, an interactive reference (Scalar) whose browser bundle is a static asset of this
// Worker: the page loads nothing from anywhere else. And GET /health.
import type { Context, Hono } from 'hono';
import { Hono as Router } from 'hono/tiny';
import type { AppEnv } from '../http/env.ts';
import { successEnvelope } from '../http/envelope.ts';

export const API_VERSION = '1.0.0';

const SCALAR_CONFIGURATION = {
  url: '/openapi.json',
  // Everything that would reach Scalar's or Google's servers stays off.
  withDefaultFonts: false,
  showDeveloperTools: 'never',
  agent: { disabled: true },
  mcp: { disabled: true },
  hideClientButton: true,
  documentDownloadType: 'json',
  // Every route on the page at once: the deliveries and events would otherwise wait behind a click.
  defaultOpenAllTags: true,
};

const DOCS_PAGE = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>InstaView webhooks API reference</title>
    <style>
      :root { --scalar-font: system-ui, sans-serif; --scalar-font-code: ui-monospace, monospace; }
      /* Scalar's light theme, darkened to WCAG AA contrast (4.5:1 on its backgrounds): axe-core found its
         muted text and method colours at 1.6-3.9:1 (test/integrator/docs-browser.ts). */
      .light-mode {
        --scalar-color-3: #6b6b6b !important;
        --scalar-color-green: #00784c !important;
        --scalar-color-red: #c8000a !important;
        --scalar-color-yellow: #7d5c00 !important;
        --scalar-color-blue: #0064a6 !important;
        --scalar-color-orange: #b03c00 !important;
        --scalar-color-query: #00676b !important;
      }
    </style>
  </head>
  <body>
    <div id="app"></div>
    <script src="/docs/scalar.js"></script>
    <script>Scalar.createApiReference('#app', ${JSON.stringify(SCALAR_CONFIGURATION)});</script>
  </body>
</html>
`;

/** Only this origin, for scripts, styles, data and fonts. */
const DOCS_POLICY =
  "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; " +
  "font-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** The service's own routes: they describe the API or report on the service, and are not part of its contract. */
export const SERVICE_PATHS = [
  '/openapi.json',
  '/docs',
  '/docs/scalar.js',
  '/health',
  // The webhook portal's page and files (portal/page.ts); POST /portal/sessions is an operation.
  '/portal',
  '/portal/portal.js',
  '/portal/portal.css',
] as const;

/**
 * A file of public/, made before every npm script (scripts/docs-assets.mjs): the OpenAPI document is
 * built there from this app's routes so that its generator stays out of the Worker's bundle. A Response
 * made here skips the headers Hono's context holds, so X-Request-Id is set on it by hand.
 */
async function fromAssets(c: Context<AppEnv>, path: string, type: string): Promise<Response> {
  const asset = await c.env.ASSETS.fetch(new Request(new URL(path, c.req.url)));
  if (!asset.ok) return c.text(`${path} is missing from the assets; run any npm script to build it`, 503);
  return new Response(asset.body, {
    headers: { 'Content-Type': type, 'Cache-Control': 'public, max-age=300', 'X-Request-Id': c.get('requestId') },
  });
}

/**
 * The routes that describe the API and report on the service. Left out of the OpenAPI document (no
 * `describe`): a reference of the API should not list its own page and script among the operations.
 * The README documents them.
 */
export function documentationRoutes(): Hono<AppEnv> {
  const routes = new Router<AppEnv>();
  routes.get('/openapi.json', (c) => fromAssets(c, '/openapi.json', 'application/json'));
  routes.get('/docs', (c) => c.html(DOCS_PAGE, 200, { 'Content-Security-Policy': DOCS_POLICY }));
  routes.get('/docs/scalar.js', (c) => fromAssets(c, '/docs/scalar.js', 'text/javascript'));
  // Unauthenticated and touches nothing: for load balancers, uptime checks and npm run dev.
  routes.get('/health', (c) => c.json(successEnvelope({ status: 'ok' })));
  return routes;
}
