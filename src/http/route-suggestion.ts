// A 404's hint: the route a mistyped path was probably meant for (`/webhook` → `/webhooks`), found among
// the app's own routes, so it is never out of date. Only the route's template is named, never the
// client's path: nothing the client sent is echoed.

/** Edit distance of two short strings, giving up (Infinity) once it passes `limit`. */
function distance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) > limit) return Number.POSITIVE_INFINITY;
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? Number.POSITIVE_INFINITY;
}

/** At most this many edits, over the whole path, to count as close. */
const MAX_EDITS = 2;

/**
 * The route template (OpenAPI form, `/webhooks/{id}`) closest to `path`: same number of segments, each
 * parameter matching anything, the literal segments within two edits in all (case ignored). Undefined
 * when nothing is that close.
 */
export function closestRoute(path: string, templates: readonly string[]): string | undefined {
  const segments = path.split('/').filter((segment) => segment !== '');
  if (segments.length === 0 || segments.length > 8 || segments.some((segment) => segment.length > 64)) return;
  let best: { template: string; edits: number } | undefined;
  for (const template of new Set(templates)) {
    const parts = template.split('/').filter((part) => part !== '');
    if (parts.length !== segments.length) continue;
    let edits = 0;
    for (const [index, part] of parts.entries()) {
      if (part.startsWith(':')) continue;
      edits += distance((segments[index] ?? '').toLowerCase(), part, MAX_EDITS - edits);
      if (edits > MAX_EDITS) break;
    }
    if (edits <= MAX_EDITS && (!best || edits < best.edits)) best = { template, edits };
  }
  return best?.template.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}
