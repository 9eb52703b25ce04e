// The operator secret that lets InstaView's own systems publish events (POST /events): never a customer
// API key. EVENTS_PUBLISH_TOKEN holds one or more tokens, comma-separated, so one can be rotated in
// before the old one is removed.

const encoder = new TextEncoder();

async function digest(value: string): Promise<ArrayBuffer> {
  return crypto.subtle.digest('SHA-256', encoder.encode(value));
}

/**
 * True when `presented` is one of the configured tokens. Compared in constant time on SHA-256 digests,
 * so neither the tokens' contents nor their lengths leak through timing; every configured token is
 * compared, whichever matches.
 */
export async function isPublishToken(presented: string, configured: string | undefined): Promise<boolean> {
  const tokens = (configured ?? '')
    .split(',')
    .map((token) => token.trim())
    .filter((token) => token.length > 0);
  if (tokens.length === 0) return false;
  const wanted = await digest(presented);
  let match = false;
  for (const token of tokens) {
    if (crypto.subtle.timingSafeEqual(wanted, await digest(token))) match = true;
  }
  return match;
}
