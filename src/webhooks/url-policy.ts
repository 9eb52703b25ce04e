import { type AddressKind, classifyIPv4, classifyIPv6, parseIPv4, parseIPv6 } from '../lib/ip-address.ts';

const KIND_DESCRIPTION: Record<Exclude<AddressKind, 'public' | 'loopback'>, string> = {
  private: 'a private network address',
  'link-local': 'a link-local address',
  shared: 'a shared (carrier-grade NAT) address',
  unspecified: 'an unspecified address',
  multicast: 'a multicast address',
  reserved: 'a reserved address',
};

// The parser silently drops tabs and newlines and trims spaces: refuse them so what is stored is what is called.
const WHITESPACE_OR_CONTROL = /[\u0000-\u0020\u007f-\u009f]/;

/** Host kind for a hostname as URL#hostname gives it: IPv4 canonical, IPv6 in brackets, names lowercased. */
function hostKind(hostname: string): AddressKind {
  if (hostname.startsWith('[')) return classifyIPv6(parseIPv6(hostname.slice(1, -1)) ?? []);
  const v4 = parseIPv4(hostname);
  if (v4 !== undefined) return classifyIPv4(v4);
  const name = hostname.endsWith('.') ? hostname.slice(0, -1) : hostname;
  return name === 'localhost' || name.endsWith('.localhost') ? 'loopback' : 'public';
}

/** Returns why `value` is not an acceptable webhook URL, or undefined when it is. */
export function webhookUrlProblem(value: string): string | undefined {
  if (WHITESPACE_OR_CONTROL.test(value)) return 'Must not contain spaces or control characters';
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'Must be an absolute URL, such as https://example.com/webhooks';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return `Must use https (got ${url.protocol})`;
  if (url.username !== '' || url.password !== '') {
    return 'Must not contain credentials (user:password@); send them as custom headers instead';
  }
  const kind = hostKind(url.hostname);
  if (kind !== 'public' && kind !== 'loopback') {
    return `Host ${url.hostname} is ${KIND_DESCRIPTION[kind]}; webhooks must reach a public host`;
  }
  if (url.protocol === 'http:' && kind !== 'loopback') {
    return 'Must use https; http is allowed only for localhost and loopback addresses';
  }
  return undefined;
}
