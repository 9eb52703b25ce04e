import { describe, expect, it } from 'vitest';
import { classifyIPv4, classifyIPv6, parseIPv4, parseIPv6 } from '../src/lib/ip-address.ts';

describe('parseIPv6', () => {
  it.each([
    ['::', [0, 0, 0, 0, 0, 0, 0, 0]],
    ['::1', [0, 0, 0, 0, 0, 0, 0, 1]],
    ['1::', [1, 0, 0, 0, 0, 0, 0, 0]],
    ['2001:db8::8a2e:370:7334', [0x2001, 0xdb8, 0, 0, 0, 0x8a2e, 0x370, 0x7334]],
    ['1:2:3:4:5:6:7:8', [1, 2, 3, 4, 5, 6, 7, 8]],
    ['::ffff:1.2.3.4', [0, 0, 0, 0, 0, 0xffff, 0x102, 0x304]],
    ['::ffff:a00:1', [0, 0, 0, 0, 0, 0xffff, 0xa00, 1]],
    ['1:2:3:4:5:6:1.2.3.4', [1, 2, 3, 4, 5, 6, 0x102, 0x304]],
  ])('reads %s', (text, groups) => {
    expect(parseIPv6(text)).toEqual(groups);
  });

  it.each([
    '',
    ':',
    '1:2:3:4:5:6:7:8:9',
    '1::2::3',
    '12345::',
    'g::',
    '::ffff:1.2.3',
    '::ffff:1.2.3.256',
    '1:2:3:4:5:6:7:1.2.3.4',
  ])('refuses %j', (text) => {
    expect(parseIPv6(text)).toBeUndefined();
  });
});

describe('classification', () => {
  it('reads the boundaries of each IPv4 range', () => {
    const kind = (text: string) => classifyIPv4(parseIPv4(text) as number);
    expect([kind('9.255.255.255'), kind('10.0.0.0'), kind('10.255.255.255'), kind('11.0.0.0')]).toEqual([
      'public',
      'private',
      'private',
      'public',
    ]);
    expect([kind('100.63.255.255'), kind('100.64.0.0'), kind('100.127.255.255'), kind('100.128.0.0')]).toEqual([
      'public',
      'shared',
      'shared',
      'public',
    ]);
    expect([kind('126.255.255.255'), kind('127.0.0.0'), kind('127.255.255.255'), kind('128.0.0.0')]).toEqual([
      'public',
      'loopback',
      'loopback',
      'public',
    ]);
    expect([kind('223.255.255.255'), kind('224.0.0.0'), kind('239.255.255.255'), kind('240.0.0.0')]).toEqual([
      'public',
      'multicast',
      'multicast',
      'reserved',
    ]);
  });

  it('classifies IPv6 by the IPv4 address it carries, where it carries one', () => {
    const kind = (text: string) => classifyIPv6(parseIPv6(text) as number[]);
    expect(kind('::ffff:127.0.0.1')).toBe('loopback');
    expect(kind('::ffff:8.8.8.8')).toBe('public');
    expect(kind('64:ff9b::10.0.0.1')).toBe('private');
    expect(kind('2002:0808:0808::')).toBe('public');
    expect(kind('2002:c0a8:0101::')).toBe('private');
    expect(kind('2001:4860:4860::8888')).toBe('public');
    expect(kind('3fff::1')).toBe('reserved');
    expect(kind('5f00::1')).toBe('reserved');
    expect(kind('64:ff9b:1::1')).toBe('private');
  });
});
