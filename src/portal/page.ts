// GET /portal and its script and styles: files of public/portal/ (built by scripts/portal-assets.ts),
// served with the page's policy. The page runs no inline script and talks to nothing but this origin;
// where it may be framed is a setting (PORTAL_FRAME_ANCESTORS), so InstaView's dashboard can embed it.
import type { Context } from 'hono';
import type { AppEnv } from '../http/env.ts';

/** 'none', 'self' or https origins (a leading *. allowed), space-separated: nothing that could end the directive. */
const FRAME_SOURCE = /^(?:'none'|'self'|https:\/\/(?:\*\.)?[a-z0-9.-]+(?::\d{1,5})?)$/i;

/** The setting, when every source in it is one; otherwise 'none' (a typo must not open the page to framing). */
export function frameAncestors(setting: string | undefined): string {
  const sources = (setting ?? '').trim().split(/\s+/).filter(Boolean);
  if (sources.length === 0 || !sources.every((source) => FRAME_SOURCE.test(source))) return "'none'";
  return sources.join(' ');
}

function pagePolicy(env: Env): string {
  return (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    `base-uri 'none'; form-action 'none'; frame-ancestors ${frameAncestors(env.PORTAL_FRAME_ANCESTORS)}`
  );
}

/** Sent with the page and its files: nothing leaks through a Referer, nothing is sniffed. */
const COMMON_HEADERS = { 'Referrer-Policy': 'no-referrer', 'X-Content-Type-Options': 'nosniff' };

const TYPES: Record<string, string> = { js: 'text/javascript', css: 'text/css', html: 'text/html; charset=utf-8' };

async function fromAssets(c: Context<AppEnv>, path: string, headers: Record<string, string>): Promise<Response> {
  const asset = await c.env.ASSETS.fetch(new Request(new URL(path, c.req.url)));
  if (!asset.ok) return c.text(`${path} is missing from the assets; run any npm script to build it`, 503);
  const type = TYPES[path.slice(path.lastIndexOf('.') + 1)] ?? 'application/octet-stream';
  return new Response(asset.body, {
    headers: { 'Content-Type': type, 'X-Request-Id': c.get('requestId'), ...COMMON_HEADERS, ...headers },
  });
}

export function portalPage(c: Context<AppEnv>): Promise<Response> {
  return fromAssets(c, '/portal/index.html', {
    'Content-Security-Policy': pagePolicy(c.env),
    // The page holds no data (that comes from the API with the session's token), but a new build must show.
    'Cache-Control': 'no-cache',
  });
}

/** What the page loads besides itself, each a file of public/portal/. */
export const PORTAL_FILES = ['portal.js', 'portal.css'] as const;

export function portalAsset(c: Context<AppEnv>, file: (typeof PORTAL_FILES)[number]): Promise<Response> {
  return fromAssets(c, `/portal/${file}`, { 'Cache-Control': 'no-cache' });
}
