import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MAX_BODY_BYTES } from '../src/webhooks/routes.ts';
import { expectValidationIssues, postWebhook, readSuccess, validBody } from './support/api.ts';
import { storedWebhook, webhookCounts } from './support/database.ts';
import { createTestAccount, createTestKey, type TestAccount } from './support/fixtures.ts';

let account: TestAccount;
let token: string;
beforeAll(async () => {
  account = await createTestAccount({ maxWebhooks: 1_000 });
});
// A key per test keeps every test under the per-key rate limit.
beforeEach(async () => {
  token = (await createTestKey({ accountId: account.accountId, scopes: ['write:webhooks'] })).token;
});

const repeat = (text: string, times: number) => text.repeat(times);
/** An https URL of exactly `length` characters. */
const urlOfLength = (length: number) => {
  const base = 'https://hooks.example.com/';
  return base + repeat('a', length - base.length);
};
const headers = (count: number) =>
  Array.from({ length: count }, (_, index) => ({ name: `X-Custom-${index}`, value: `v${index}` }));

async function expectAccepted(body: Record<string, unknown>) {
  const response = await postWebhook(body, { token });
  expect(response.status, await response.clone().text()).toBe(201);
  return (await readSuccess(response)).data;
}

/** Refused with exactly these issue paths, and nothing written. */
async function expectRefused(body: Record<string, unknown>, paths: string[]) {
  const before = await webhookCounts(account.accountId);
  const issues = await expectValidationIssues(await postWebhook(body, { token }));
  expect(issues.map((issue) => issue.path).sort()).toEqual([...paths].sort());
  for (const issue of issues) expect(issue.message.length).toBeGreaterThan(3);
  expect(await webhookCounts(account.accountId)).toEqual(before);
  return issues;
}

describe('url', () => {
  it('accepts 2048 characters and refuses 2049', async () => {
    expect((await expectAccepted(validBody({ url: urlOfLength(2048) }))).url).toHaveLength(2048);
    const [issue] = await expectRefused(validBody({ url: urlOfLength(2049) }), ['url']);
    expect(issue?.message).toMatch(/at most 2048/);
  });

  it('refuses a URL whose serialisation (percent-encoded) would pass 2048 characters', async () => {
    // 200 characters as sent; 2400 once each é becomes %C3%A9.
    const [issue] = await expectRefused(validBody({ url: `https://hooks.example.com/${repeat('é', 400)}` }), ['url']);
    expect(issue?.message).toMatch(/2048/);
  });

  it('is required and must be a string', async () => {
    await expectRefused({ events: ['PING'] }, ['url']);
    await expectRefused(validBody({ url: 42 }), ['url']);
    await expectRefused(validBody({ url: '' }), ['url']);
  });

  it.each([
    'hooks.example.com/path',
    '/relative/path',
    'https://',
    'https://exa mple.com/',
    ' https://example.com/',
    'https://example.com/\n',
    'https://exa\tmple.com/',
  ])('refuses %j: not an absolute URL', async (url) => {
    await expectRefused(validBody({ url }), ['url']);
  });

  it.each([
    'ftp://example.com/',
    'ws://example.com/',
    'javascript:alert(1)',
    'file:///etc/passwd',
    'data:text/plain,hi',
  ])('refuses the %s scheme', async (url) => {
    await expectRefused(validBody({ url }), ['url']);
  });

  it.each([
    'http://localhost/hook',
    'http://localhost:3000/hook',
    'http://LOCALHOST/hook',
    'http://api.localhost/hook',
    'http://127.0.0.1:8080/hook',
    'http://127.255.255.254/hook',
    'http://[::1]:3000/hook',
    'https://localhost/hook',
  ])('accepts loopback %s, with http too', async (url) => {
    await expectAccepted(validBody({ url }));
  });

  it.each([
    'http://example.com/hook',
    'http://localhost.example.com/hook',
    'http://8.8.8.8/',
    'http://[2606:4700::1]/',
  ])('refuses http for the non-loopback host in %s', async (url) => {
    const [issue] = await expectRefused(validBody({ url }), ['url']);
    expect(issue?.message).toMatch(/https/);
  });

  it.each(['https://user:hunter2@example.com/hook', 'https://user@example.com/hook', 'https://:hunter2@example.com/'])(
    'refuses user-info in %s, points to headers, and does not echo it',
    async (url) => {
      const [issue] = await expectRefused(validBody({ url }), ['url']);
      expect(issue?.message).toMatch(/headers/);
      expect(issue?.message).not.toMatch(/hunter2|user@/);
    },
  );

  it.each([
    ['https://10.1.2.3/', 'private'],
    ['https://172.16.0.1/', 'private'],
    ['https://172.31.255.255/', 'private'],
    ['https://192.168.1.1/', 'private'],
    ['https://169.254.169.254/latest/meta-data', 'link-local'],
    ['https://169.254.0.1/', 'link-local'],
    ['https://100.64.0.1/', 'carrier-grade NAT'],
    ['https://100.127.255.255/', 'carrier-grade NAT'],
    ['https://0.0.0.0/', 'unspecified'],
    ['https://0.1.2.3/', 'unspecified'],
    ['https://224.0.0.1/', 'multicast'],
    ['https://239.255.255.250/', 'multicast'],
    ['https://240.0.0.1/', 'reserved'],
    ['https://255.255.255.255/', 'reserved'],
    ['https://192.0.2.10/', 'reserved'],
    ['https://198.18.0.1/', 'reserved'],
    ['https://198.51.100.7/', 'reserved'],
    ['https://203.0.113.9/', 'reserved'],
    ['https://192.0.0.8/', 'reserved'],
    // Spellings the URL parser turns into the same addresses.
    ['https://0xa9fea9fe/', 'link-local'],
    ['https://2852039166/', 'link-local'],
    ['https://10.1/', 'private'],
    ['https://[fc00::1]/', 'private'],
    ['https://[fd12:3456::1]/', 'private'],
    ['https://[fe80::1]/', 'link-local'],
    ['https://[::]/', 'unspecified'],
    ['https://[ff02::1]/', 'multicast'],
    ['https://[::ffff:10.0.0.1]/', 'private'],
    ['https://[::ffff:169.254.169.254]/', 'link-local'],
    ['https://[64:ff9b::a9fe:a9fe]/', 'link-local'],
    ['https://[2002:a9fe:a9fe::1]/', 'link-local'],
    ['https://[2001:db8::1]/', 'reserved'],
    ['https://[2001::1]/', 'reserved'],
    ['https://[100::1]/', 'reserved'],
    ['https://[::5]/', 'reserved'],
    ['https://[fec0::1]/', 'private'],
  ])('refuses the IP literal in %s (%s)', async (url, kind) => {
    const [issue] = await expectRefused(validBody({ url }), ['url']);
    expect(issue?.message).toContain(kind);
  });

  it.each([
    'https://8.8.8.8/hook',
    'https://100.63.255.255/',
    'https://100.128.0.1/',
    'https://172.15.255.255/',
    'https://172.32.0.1/',
    'https://169.253.255.255/',
    'https://[2606:4700:4700::1111]/dns',
    'https://[::ffff:8.8.8.8]/',
    'https://hooks.example.com:8443/a/b?c=d#frag',
    'https://xn--nxasmq6b.example/',
    'https://bücher.example/',
    // Hostnames, not IP literals: where they resolve is the delivery layer's business.
    'https://10.0.0.1.example.com/',
    'https://0177.0.0.1.nip.example/',
  ])('accepts the public destination %s, returning the serialisation that was checked', async (url) => {
    expect((await expectAccepted(validBody({ url }))).url).toBe(new URL(url).href);
  });

  it.each([
    ['HTTPS://Hooks.EXAMPLE.com:443/a/./b/../c', 'https://hooks.example.com/a/c'],
    ['https://bücher.example/pfad', 'https://xn--bcher-kva.example/pfad'],
    ['https://[::ffff:8.8.8.8]/', 'https://[::ffff:808:808]/'],
    ['https://hooks.example.com', 'https://hooks.example.com/'],
    ['https://hooks.example.com/ä?q=ö#ü', 'https://hooks.example.com/%C3%A4?q=%C3%B6#%C3%BC'],
  ])('stores and returns %s as %s', async (sent, stored) => {
    const webhook = await expectAccepted(validBody({ url: sent }));
    expect(webhook.url).toBe(stored);
    expect((await storedWebhook(webhook.id))?.url).toBe(stored);
  });

  it.each(['https://example.com\\@10.0.0.1/', 'https://example.com/a\\b', 'https:\\\\example.com/'])(
    'refuses a backslash anywhere (%s): parsers disagree on what it means',
    async (url) => {
      const [issue] = await expectRefused(validBody({ url }), ['url']);
      expect(issue?.message).toMatch(/backslash/);
    },
  );

  it.each([
    'https://intranet/',
    'https://intranet./hook',
    'https://metadata.google.internal/computeMetadata/v1/',
    'https://printer.local/',
    'https://router.home.arpa/',
    'https://1.0.0.127.in-addr.arpa/',
    'https://hooks.example.invalid/',
    'https://duskgytldkxiuqc6.onion/',
  ])('refuses %s: a host that cannot be public', async (url) => {
    const [issue] = await expectRefused(validBody({ url }), ['url']);
    expect(issue?.message).toMatch(/cannot resolve on the public internet/);
  });
});

describe('events', () => {
  it('is required, an array, and not empty', async () => {
    await expectRefused({ url: 'https://example.com/' }, ['events']);
    await expectRefused(validBody({ events: 'PING' }), ['events']);
    await expectRefused(validBody({ events: [] }), ['events']);
  });

  it('names each unknown event by its index', async () => {
    const issues = await expectRefused(validBody({ events: ['PING', 'ping', 'NOPE', 7, null] }), [
      'events.1',
      'events.2',
      'events.3',
      'events.4',
    ]);
    expect(issues[0]?.message).toContain('INTERVIEW_COMPLETED');
  });
});

describe('name and description', () => {
  it('name: 1 to 255 characters', async () => {
    await expectAccepted(validBody({ name: 'a' }));
    expect((await expectAccepted(validBody({ name: repeat('n', 255) }))).name).toHaveLength(255);
    await expectRefused(validBody({ name: repeat('n', 256) }), ['name']);
    await expectRefused(validBody({ name: '' }), ['name']);
    await expectRefused(validBody({ name: 5 }), ['name']);
  });

  it('counts characters, not UTF-16 units: 255 emoji fit, 256 do not', async () => {
    const emoji = '😀';
    expect((await expectAccepted(validBody({ name: repeat(emoji, 255) }))).name).toBe(repeat(emoji, 255));
    await expectRefused(validBody({ name: repeat(emoji, 256) }), ['name']);
  });

  it('description: at most 1000 characters, empty allowed', async () => {
    expect((await expectAccepted(validBody({ description: '' }))).description).toBe('');
    expect((await expectAccepted(validBody({ description: repeat('d', 1000) }))).description).toHaveLength(1000);
    await expectRefused(validBody({ description: repeat('d', 1001) }), ['description']);
  });

  it('refuses text Postgres cannot store or a client cannot read back', async () => {
    await expectRefused(validBody({ name: 'a\u0000b' }), ['name']);
    await expectRefused(validBody({ description: 'lone \ud800 surrogate' }), ['description']);
  });

  it('keeps other unicode exactly, line breaks in descriptions included', async () => {
    const description = 'Ünïcödé ✓ 日本語 🎉\nsecond line\ttabbed';
    expect((await expectAccepted(validBody({ name: 'Zürich 🚀', description }))).description).toBe(description);
  });
});

describe('companyId', () => {
  it.each(['not-a-uuid', '1234', 'g0000000-0000-0000-0000-000000000000', '{00000000-0000-0000-0000-000000000000}', 42])(
    'refuses %j',
    async (companyId) => {
      await expectRefused(validBody({ companyId }), ['companyId']);
    },
  );
});

describe('headers', () => {
  it('accepts 50 headers and refuses 51', async () => {
    expect((await expectAccepted(validBody({ headers: headers(50) }))).headers).toHaveLength(50);
    const [issue] = await expectRefused(validBody({ headers: headers(51) }), ['headers']);
    expect(issue?.message).toMatch(/at most 50/);
  });

  it('accepts an empty list; refuses a non-array or null', async () => {
    expect((await expectAccepted(validBody({ headers: [] }))).headers).toEqual([]);
    await expectRefused(validBody({ headers: { 'X-A': 'b' } }), ['headers']);
    await expectRefused(validBody({ headers: null }), ['headers']);
    await expectRefused(validBody({ headers: ['X-A: b'] }), ['headers.0']);
  });

  it('name: 1 to 255 characters', async () => {
    await expectAccepted(validBody({ headers: [{ name: 'X', value: 'v' }] }));
    await expectAccepted(validBody({ headers: [{ name: `X-${repeat('n', 253)}`, value: 'v' }] }));
    await expectRefused(validBody({ headers: [{ name: `X-${repeat('n', 254)}`, value: 'v' }] }), ['headers.0.name']);
    await expectRefused(validBody({ headers: [{ name: '', value: 'v' }] }), ['headers.0.name']);
  });

  it('name must be an RFC 9110 token', async () => {
    await expectAccepted(validBody({ headers: [{ name: "X-!#$%&'*+.^_`|~09azAZ", value: 'v' }] }));
    for (const name of ['X A', 'X:A', 'X(A)', 'X"A"', 'X/A', 'X\u00e9', 'X@A', 'X,A', 'X\tA']) {
      await expectRefused(validBody({ headers: [{ name, value: 'v' }] }), ['headers.0.name']);
    }
  });

  it.each(['Host', 'content-length', 'Content-Type', 'TRANSFER-ENCODING', 'Connection', 'User-Agent'])(
    'refuses the managed header %s, in any case',
    async (name) => {
      await expectRefused(validBody({ headers: [{ name, value: 'v' }] }), ['headers.0.name']);
    },
  );

  it.each(['webhook-signature', 'Webhook-Id', 'WEBHOOK-', 'x-instaview-signature', 'X-InstaView-Timestamp'])(
    'refuses %s: reserved for delivery signatures',
    async (name) => {
      const [issue] = await expectRefused(validBody({ headers: [{ name, value: 'v' }] }), ['headers.0.name']);
      expect(issue?.message).toMatch(/reserved/);
    },
  );

  it.each([
    'TE',
    'Trailer',
    'Upgrade',
    'Keep-Alive',
    'Proxy-Authorization',
    'proxy-connection',
    'Expect',
    'Forwarded',
    'X-Forwarded-For',
    'x-forwarded-host',
    'X-Real-IP',
    'Via',
    'CF-Connecting-IP',
    'cf-worker',
    'Date',
    'Content-Encoding',
  ])('refuses %s: a hop-by-hop, proxy or forwarding header', async (name) => {
    const [issue] = await expectRefused(validBody({ headers: [{ name, value: 'v' }] }), ['headers.0.name']);
    expect(issue?.message).toMatch(/hop-by-hop|reserved/);
  });

  it('accepts names that only resemble reserved ones', async () => {
    await expectAccepted(
      validBody({
        headers: [
          { name: 'X-Webhook-Source', value: 'v' },
          { name: 'Hosted-By', value: 'v' },
          { name: 'Teapot', value: 'v' },
          { name: 'X-Via', value: 'v' },
          { name: 'Dated', value: 'v' },
        ],
      }),
    );
  });

  it('value: 1 to 4096 characters', async () => {
    const [header] = (await expectAccepted(validBody({ headers: [{ name: 'X-Long', value: repeat('v', 4096) }] })))
      .headers;
    expect(header).toEqual({ name: 'X-Long', isMasked: true });
    await expectRefused(validBody({ headers: [{ name: 'X-Long', value: repeat('v', 4097) }] }), ['headers.0.value']);
    await expectRefused(validBody({ headers: [{ name: 'X-Empty', value: '' }] }), ['headers.0.value']);
    await expectRefused(validBody({ headers: [{ name: 'X-Number', value: 7 }] }), ['headers.0.value']);
  });

  it('value: RFC 9110 field-value characters only (visible ASCII, space, tab, U+0080–U+00FF)', async () => {
    await expectAccepted(
      validBody({
        headers: [
          { name: 'X-Tab', value: 'a\tb c' },
          { name: 'X-Latin1', value: 'Zürich café ÿ\u0080\u00ff' },
          { name: 'X-Printable', value: '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~' },
        ],
      }),
    );
    for (const value of [
      'a\rb',
      'a\nb',
      'a\r\nInjected: yes',
      'a\u0000b',
      'a\u0001b',
      'a\u001fb',
      'a\u007fb',
      '€',
      'a\u0100b',
      '✓',
      '日本',
      '🎉',
    ]) {
      const [issue] = await expectRefused(validBody({ headers: [{ name: 'X-Bad', value }] }), ['headers.0.value']);
      expect(issue?.message).toMatch(/RFC 9110/);
    }
  });

  it('names must be unique regardless of case; the later duplicate is named', async () => {
    const [issue] = await expectRefused(
      validBody({
        headers: [
          { name: 'X-Trace', value: '1' },
          { name: 'X-Other', value: '2' },
          { name: 'x-trace', value: '3' },
        ],
      }),
      ['headers.2.name'],
    );
    expect(issue?.message).toMatch(/Duplicate/);
  });

  it('refuses an unknown field inside a header, naming it', async () => {
    const [issue] = await expectRefused(validBody({ headers: [{ name: 'X-A', value: 'b', secret: true }] }), [
      'headers.0.secret',
    ]);
    expect(issue?.message).toContain('secret');
  });
});

describe('the whole body', () => {
  it('refuses unknown top-level fields, naming each', async () => {
    const issues = await expectRefused(validBody({ secret: 'x', isActive: false }), ['secret', 'isActive']);
    expect(issues.map((issue) => issue.message).join(' ')).toMatch(/secret.*isActive|isActive.*secret/);
  });

  it('refuses __proto__ and constructor as unknown fields instead of honouring them', async () => {
    const raw = '{"url":"https://example.com/","events":["PING"],"__proto__":{"isActive":false},"constructor":{}}';
    const issues = await expectValidationIssues(await postWebhook(null, { token, rawBody: raw }));
    expect(issues.map((issue) => issue.path).sort()).toEqual(['__proto__', 'constructor']);
  });

  it('lists every offending field at once', async () => {
    await expectRefused(
      {
        url: 'http://example.com/',
        events: ['NOPE'],
        name: '',
        description: repeat('d', 1001),
        companyId: 'x',
        headers: [
          { name: 'Host', value: 'v' },
          { name: 'X-A', value: 'line\nbreak' },
          { name: 'X-B', value: 'ok' },
          { name: 'x-b', value: '' },
        ],
        extra: true,
      },
      [
        'url',
        'events.0',
        'name',
        'description',
        'companyId',
        'headers.0.name',
        'headers.1.value',
        'headers.3.name',
        'headers.3.value',
        'extra',
      ],
    );
  });

  it('accepts the largest valid body, every field at its maximum in bytes (about 425 KiB)', async () => {
    // JSON.stringify's serialisation: characters it must escape (\u0001 → 6 bytes) in name and
    // description, two-byte characters in every header value, the longest event names.
    const body = {
      url: urlOfLength(2048),
      events: Array.from({ length: 100 }, (_, index) => (index % 2 ? 'INTERVIEW_COMPLETED' : 'SOURCING_COMPLETED')),
      name: repeat('\u0001', 255),
      description: repeat('\u0001', 1000),
      companyId: account.companyId,
      headers: Array.from({ length: 50 }, (_, index) => ({
        name: `X-${index}-${repeat('h', 250)}`.slice(0, 255),
        value: repeat('ÿ', 4096),
      })),
    };
    const size = new TextEncoder().encode(JSON.stringify(body)).length;
    expect(size).toBeGreaterThan(420 * 1024);
    expect(size).toBeLessThan(MAX_BODY_BYTES);
    const data = await expectAccepted(body);
    expect(data.headers).toHaveLength(50);
    console.log(
      `[validation] largest valid body: ${size} bytes (${(size / 1024).toFixed(1)} KiB); limit ${MAX_BODY_BYTES}`,
    );
  });

  it('checks an array’s length before its elements: 175,000 events are one issue, not a 500', async () => {
    const rawBody = `{"url":"https://example.com/","events":[${Array(175_000).fill('1').join(',')}]}`;
    const response = await postWebhook(null, { token, rawBody });
    const text = await response.clone().text();
    const issues = await expectValidationIssues(response);
    expect(issues).toEqual([{ path: 'events', message: 'Must contain at most 100 event types (got 175000)' }]);
    expect(text.length).toBeLessThan(1024);
  });

  it('accepts 100 events and refuses 101', async () => {
    await expectAccepted(validBody({ events: Array(100).fill('PING') }));
    const [issue] = await expectRefused(validBody({ events: Array(101).fill('PING') }), ['events']);
    expect(issue?.message).toMatch(/at most 100/);
  });

  it('reports at most 50 issues, then says how many more, and never echoes long input', async () => {
    const longKey = repeat('k', 1000);
    const fields = Object.fromEntries(Array.from({ length: 200 }, (_, index) => [`${longKey}${index}`, index]));
    const body = { ...validBody({ events: Array(100).fill(repeat('E', 1000)) }), ...fields };
    const response = await postWebhook(body, { token });
    const text = await response.clone().text();
    const issues = await expectValidationIssues(response);
    expect(issues).toHaveLength(51);
    expect(issues[50]).toEqual({ path: '', message: '…and 250 more issues' });
    // Each unknown-event message lists the 14 event types.
    expect(text.length).toBeLessThan(20 * 1024);
    expect(text).not.toContain(repeat('k', 100));
    expect(text).not.toContain(repeat('E', 100));
  });
});
