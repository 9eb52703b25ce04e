import { excerpt } from '../lib/excerpt.ts';
import { type AddressKind, classifyIPv4, classifyIPv6, parseIPv4, parseIPv6 } from '../lib/ip-address.ts';

type HostKind = AddressKind | 'non-public-name';

const KIND_DESCRIPTION: Record<Exclude<HostKind, 'public' | 'loopback'>, string> = {
  private: 'a private network address',
  'link-local': 'a link-local address',
  shared: 'a shared (carrier-grade NAT) address',
  unspecified: 'an unspecified address',
  multicast: 'a multicast address',
  reserved: 'a reserved address',
  'non-public-name': 'a name that cannot resolve on the public internet',
};

// The parser silently drops tabs and newlines and trims spaces: refuse them so what is stored is what is called.
const WHITESPACE_OR_CONTROL = /[\u0000-\u0020\u007f-\u009f]/;
/**
 * Special-use names (RFC 6761, 6762, 7686, 8375) and ICANN's private-use .internal: never public. With
 * single-label names, what they resolve to depends on the resolver's search list, so they go too.
 */
const NON_PUBLIC_SUFFIXES = ['local', 'internal', 'arpa', 'invalid', 'onion'];

/** Host kind for a hostname as URL#hostname gives it: IPv4 canonical, IPv6 in brackets, names lowercased. */
function hostKind(hostname: string): HostKind {
  if (hostname.startsWith('[')) return classifyIPv6(parseIPv6(hostname.slice(1, -1)) ?? []);
  const v4 = parseIPv4(hostname);
  if (v4 !== undefined) return classifyIPv4(v4);
  const name = hostname.endsWith('.') ? hostname.slice(0, -1) : hostname;
  if (name === 'localhost' || name.endsWith('.localhost')) return 'loopback';
  const labels = name.split('.');
  if (labels.length < 2 || NON_PUBLIC_SUFFIXES.includes(labels.at(-1) as string)) return 'non-public-name';
  return 'public';
}

export type UrlCheck = { ok: true; url: URL; loopback: boolean } | { ok: false; problem: string };

/**
 * Checks a webhook URL. On success `url.href` is the serialisation the policy judged: that is what is
 * stored and returned, so what is delivered to is what was validated.
 */
export function checkWebhookUrl(value: string): UrlCheck {
  const refuse = (problem: string): UrlCheck => ({ ok: false, problem });
  if (WHITESPACE_OR_CONTROL.test(value)) return refuse('Must not contain spaces or control characters');
  // WHATWG reads "\" as "/" in http(s) URLs, other parsers (curl, Python's urlsplit) do not: the same text
  // would name two different hosts.
  if (value.includes('\\')) return refuse('Must not contain backslashes');
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return refuse('Must be an absolute URL, such as https://example.com/webhooks');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    return refuse(`Must use https (got ${excerpt(url.protocol)})`);
  if (url.username !== '' || url.password !== '') {
    return refuse('Must not contain credentials (user:password@); send them as custom headers instead');
  }
  const kind = hostKind(url.hostname);
  if (kind !== 'public' && kind !== 'loopback') {
    return refuse(`Host ${excerpt(url.hostname)} is ${KIND_DESCRIPTION[kind]}; webhooks must reach a public host`);
  }
  if (url.protocol === 'http:' && kind !== 'loopback') {
    return refuse('Must use https; http is allowed only for localhost and loopback addresses');
  }
  return { ok: true, url, loopback: kind === 'loopback' };
}

/** Every *.workers.dev host is a Worker, this service's own deployment among them: never a webhook target. */
const WORKERS_DEV = 'workers.dev';

/**
 * Why `url` is this service itself, or undefined when it is not: a webhook pointed at the API would
 * make each delivery an API call (a redeliver or a test calling itself, for ever). `ownHosts` are
 * host[:port] forms (the request's own origin, compared with its port); `ownHostnames` the configured
 * public names, any port. Names compare lowercase, without a trailing dot.
 */
export function selfTargetProblem(url: URL, ownHostnames: readonly string[], ownHosts: readonly string[] = []) {
  const bare = (name: string) => name.toLowerCase().replace(/\.$/, '');
  const hostname = bare(url.hostname);
  const host = url.port === '' ? hostname : `${hostname}:${url.port}`;
  const isSelf =
    hostname === WORKERS_DEV ||
    hostname.endsWith(`.${WORKERS_DEV}`) ||
    ownHostnames.some((own) => bare(own) === hostname) ||
    ownHosts.some((own) => bare(own) === host);
  return isSelf
    ? `Host ${excerpt(hostname)} is this webhooks service itself; a webhook must point at your own endpoint`
    : undefined;
}
