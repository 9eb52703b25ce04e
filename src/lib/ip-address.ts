// Classifies IP literals (as the WHATWG URL parser serialises them) so webhook URLs cannot point at
// internal networks. Ranges from the IANA IPv4 and IPv6 special-purpose address registries.

export type AddressKind =
  | 'public'
  | 'loopback'
  | 'private'
  | 'link-local'
  | 'shared'
  | 'unspecified'
  | 'multicast'
  | 'reserved';

type Range4 = readonly [network: string, prefix: number, kind: AddressKind];

const IPV4_RANGES: readonly Range4[] = [
  ['0.0.0.0', 8, 'unspecified'],
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'shared'],
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local'],
  ['172.16.0.0', 12, 'private'],
  ['192.0.0.0', 24, 'reserved'],
  ['192.0.2.0', 24, 'reserved'],
  ['192.88.99.0', 24, 'reserved'],
  ['192.168.0.0', 16, 'private'],
  ['198.18.0.0', 15, 'reserved'],
  ['198.51.100.0', 24, 'reserved'],
  ['203.0.113.0', 24, 'reserved'],
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved'],
];

/** Parses dotted-quad IPv4 into an unsigned 32-bit number, or undefined. */
export function parseIPv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    value = value * 256 + octet;
  }
  return value;
}

const IPV4_TABLE = IPV4_RANGES.map(([network, prefix, kind]) => {
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return { base: (parseIPv4(network) as number) & mask, mask, kind };
});

export function classifyIPv4(address: number): AddressKind {
  for (const { base, mask, kind } of IPV4_TABLE) {
    if ((address & mask) >>> 0 === base >>> 0) return kind;
  }
  return 'public';
}

/** Parses an IPv6 address (no brackets, no zone) into eight 16-bit groups, or undefined. */
export function parseIPv6(text: string): number[] | undefined {
  let head = text;
  let tail: number[] = [];
  // A trailing dotted quad (::ffff:1.2.3.4) stands for the last two groups.
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.', lastColon)) {
    const v4 = parseIPv4(text.slice(lastColon + 1));
    if (v4 === undefined) return undefined;
    tail = [v4 >>> 16, v4 & 0xffff];
    head = text.slice(0, lastColon + 1);
    if (head.endsWith(':') && !head.endsWith('::')) head = head.slice(0, -1);
  }
  const halves = head.split('::');
  if (halves.length > 2) return undefined;
  const toGroups = (part: string) => (part === '' ? [] : part.split(':'));
  const left = toGroups(halves[0] as string);
  const right = halves.length === 2 ? toGroups(halves[1] as string) : [];
  const groups: number[] = [];
  for (const group of [...left, ...right]) {
    if (!/^[0-9a-f]{1,4}$/i.test(group)) return undefined;
    groups.push(Number.parseInt(group, 16));
  }
  const missing = 8 - groups.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  return [...groups.slice(0, left.length), ...Array<number>(missing).fill(0), ...groups.slice(left.length), ...tail];
}

function embeddedIPv4(high: number, low: number): number {
  return (high * 0x10000 + low) >>> 0;
}

export function classifyIPv6(groups: readonly number[]): AddressKind {
  const [g0 = 0, g1 = 0, g2 = 0, g3 = 0, g4 = 0, g5 = 0, g6 = 0, g7 = 0] = groups;
  const firstFive = g0 | g1 | g2 | g3 | g4;
  if (firstFive === 0 && g5 === 0 && g6 === 0) {
    if (g7 === 0) return 'unspecified';
    if (g7 === 1) return 'loopback';
  }
  // IPv4-mapped (::ffff:0:0/96) and the NAT64 well-known prefix (64:ff9b::/96) carry an IPv4 address.
  if (firstFive === 0 && g5 === 0xffff) return classifyIPv4(embeddedIPv4(g6, g7));
  if (g0 === 0x64 && g1 === 0xff9b && (g2 | g3 | g4 | g5) === 0) return classifyIPv4(embeddedIPv4(g6, g7));
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 1) return 'private';
  // 6to4 (2002::/16) embeds the IPv4 address in bits 16–47.
  if (g0 === 0x2002) return classifyIPv4(embeddedIPv4(g1, g2));
  if ((g0 & 0xfe00) === 0xfc00) return 'private';
  if ((g0 & 0xffc0) === 0xfe80) return 'link-local';
  if ((g0 & 0xffc0) === 0xfec0) return 'private';
  if ((g0 & 0xff00) === 0xff00) return 'multicast';
  // Outside global unicast 2000::/3 everything else is reserved (::/96, 100::/64, …).
  if ((g0 & 0xe000) !== 0x2000) return 'reserved';
  if (g0 === 0x2001 && g1 < 0x0200) return 'reserved'; // 2001::/23 IETF protocol assignments, Teredo
  if (g0 === 0x2001 && g1 === 0x0db8) return 'reserved'; // documentation
  if ((g0 & 0xfff0) === 0x3ff0 && g0 <= 0x3fff) return 'reserved'; // 3fff::/20 documentation
  if (g0 === 0x5f00) return 'reserved'; // SRv6 SIDs
  return 'public';
}
