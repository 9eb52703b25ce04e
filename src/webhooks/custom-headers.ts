// The rules for a webhook's custom headers, shared by the request schema (what may be stored) and
// delivery (what is sent). Names are compared lowercase.

/** Set by the delivery itself on every request. */
const MANAGED = ['host', 'content-length', 'content-type', 'transfer-encoding', 'connection', 'user-agent'];
/**
 * Hop-by-hop, proxy and forwarding headers, and ones whose meaning belongs to the transport: a receiver
 * or a proxy in front of it would act on them (RFC 9110 §7.6.1, RFC 7239).
 */
const TRANSPORT = [
  'te',
  'trailer',
  'upgrade',
  'keep-alive',
  'expect',
  'forwarded',
  'x-real-ip',
  'via',
  'date',
  'content-encoding',
];
const RESERVED_NAMES = new Set([...MANAGED, ...TRANSPORT]);
/** Prefixes of names the delivery signs with, or that proxies and Cloudflare give meaning to. */
const RESERVED_PREFIXES = ['webhook-', 'x-instaview-', 'proxy-', 'x-forwarded-', 'cf-'];

/** Why `name` cannot be a custom header, or undefined when it can. */
export function reservedHeaderProblem(name: string): string | undefined {
  const lower = name.toLowerCase();
  if (MANAGED.includes(lower)) return `${name} is set by InstaView on every delivery and cannot be overridden`;
  if (RESERVED_NAMES.has(lower)) return `${name} is a hop-by-hop or forwarding header and cannot be set on deliveries`;
  const prefix = RESERVED_PREFIXES.find((reserved) => lower.startsWith(reserved));
  if (!prefix) return undefined;
  return prefix === 'webhook-'
    ? `Header names starting with "${prefix}" are reserved for delivery signatures`
    : `Header names starting with "${prefix}" are reserved for InstaView, proxies or Cloudflare`;
}

/** Anything outside RFC 9110's token characters, which are all a field name may have. */
export const NOT_TOKEN_CHARACTER = /[^!#$%&'*+\-.^_`|~0-9A-Za-z]/;

/**
 * Anything outside RFC 9110's field-value characters: visible ASCII, space, tab and obs-text
 * (U+0080–U+00FF). Controls could never be delivered (Headers refuses CR, LF and NUL); workerd sends
 * obs-text UTF-8 encoded (é as C3 A9, test/deliveries.test.ts), and would send any character so, but
 * what the contract admits is the field-value rule, which other HTTP stacks (Node's fetch) enforce.
 */
export const NOT_FIELD_VALUE_CHARACTER = /[^\t\x20-\x7e\x80-\xff]/;
