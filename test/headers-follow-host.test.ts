// Issue 16, finding 3: a webhook's custom header values are write-only. Moving the URL to another
// origin must send them again (or drop them), and a receiver that echoes them never puts them in the
// delivery log.
import { describe, expect, it, vi } from 'vitest';
import { redactHeaderValues } from '../src/deliveries/redact.ts';
import { expectValidationIssues } from './support/api.ts';
import { storedWebhook } from './support/database.ts';
import { consumeOne, received, unqueuedDelivery, webhookWithReceiver } from './support/deliveries.ts';
import { createTestAccount } from './support/fixtures.ts';
import { call, create, data } from './support/routes.ts';

vi.setConfig({ testTimeout: 30_000 });

const SECRET = 'Bearer tok_live_4f9a7c2e1b';
const WITH_HEADERS = {
  headers: [
    { name: 'Authorization', value: SECRET },
    { name: 'X-Quoted', value: 'a "quoted" value' },
  ],
};

describe('PATCH url to another origin', () => {
  it('400 on headers unless they are sent again; nothing changes', async () => {
    const account = await createTestAccount();
    const webhook = await create(account, { url: 'https://hooks.example.com/a', ...WITH_HEADERS });
    const before = await storedWebhook(webhook.id);
    const patch = (body: unknown) => call('PATCH', `/webhooks/${webhook.id}`, { token: account.token, body });
    for (const url of [
      'https://attacker.example.net/a',
      'https://hooks.example.com:8080/a',
      'https://hooks.example.com:444/a',
    ]) {
      const issues = await expectValidationIssues(await patch({ url }));
      expect(issues).toEqual([
        {
          path: 'headers',
          message: expect.stringMatching(/^Required when url moves to another origin.*Authorization, X-Quoted/),
        },
      ]);
    }
    expect((await storedWebhook(webhook.id))?.dump).toBe(before?.dump);
  });

  it('moves with the headers sent again, or with [] (dropping them); a new path on the same origin keeps them', async () => {
    const account = await createTestAccount();
    const webhook = await create(account, { url: 'https://hooks.example.com/a', ...WITH_HEADERS });
    const patch = (body: unknown) => call('PATCH', `/webhooks/${webhook.id}`, { token: account.token, body });
    expect(await data(await patch({ url: 'https://HOOKS.example.com:443/b?x=1' }))).toMatchObject({
      url: 'https://hooks.example.com/b?x=1',
    });
    expect((await storedWebhook(webhook.id))?.header_names).toEqual(['Authorization', 'X-Quoted']);
    await data(await patch({ url: 'https://other.example.com/a', headers: [{ name: 'X-New', value: 'v' }] }));
    expect((await storedWebhook(webhook.id))?.header_names).toEqual(['X-New']);
    await data(await patch({ url: 'https://third.example.com/a', headers: [] }));
    expect((await storedWebhook(webhook.id))?.header_names).toEqual([]);
    // Nothing left to follow the URL: it moves freely.
    expect(await data(await patch({ url: 'https://fourth.example.com/a' }))).toMatchObject({
      url: 'https://fourth.example.com/a',
    });
  });
});

describe('a receiver that echoes the request', () => {
  async function echoing() {
    const account = await createTestAccount();
    const { webhook, endpoint } = await webhookWithReceiver(account.token, WITH_HEADERS, [
      { status: 200, echoHeaders: true },
    ]);
    return { account, webhook, endpoint };
  }

  it('never gets a stored header value into the test’s log entry', async () => {
    const { account, webhook, endpoint } = await echoing();
    const test = await data<{ deliveryId: string }>(
      await call('POST', `/webhooks/${webhook.id}/test`, { token: account.token }),
    );
    const [request] = await received(endpoint.id);
    expect(request?.headers.authorization).toBe(SECRET);
    const detail = await data<{ attemptLog: { responseExcerpt: string | null }[] }>(
      await call('GET', `/webhooks/${webhook.id}/deliveries/${test.deliveryId}`, { token: account.token }),
    );
    const excerpt = detail.attemptLog[0]?.responseExcerpt ?? '';
    expect(excerpt).toContain('"authorization":"[redacted]"');
    expect(excerpt).toContain('"x-quoted":"[redacted]"');
    expect(excerpt).not.toContain('tok_live');
    expect(excerpt).not.toContain('a \\"quoted');
  });

  it('never gets one into a queued delivery’s attempt log', async () => {
    const { account, webhook } = await echoing();
    const { deliveryId } = await unqueuedDelivery(account.accountId);
    expect((await consumeOne('webhook-deliveries', { deliveryId, series: 1 })).acked).toBe(true);
    const detail = await data<{ attemptLog: { responseExcerpt: string | null }[] }>(
      await call('GET', `/webhooks/${webhook.id}/deliveries/${deliveryId}`, { token: account.token }),
    );
    expect(detail.attemptLog[0]?.responseExcerpt).toContain('[redacted]');
    expect(detail.attemptLog[0]?.responseExcerpt).not.toContain('tok_live');
  });

  it('redacts a value cut off by the excerpt’s end, from its first 4 characters', () => {
    expect(redactHeaderValues('x: Bearer tok_li', [SECRET], true)).toBe('x: [redacted]');
    expect(redactHeaderValues('x: Bear', [SECRET], true)).toBe('x: [redacted]');
    expect(redactHeaderValues('x: Bea', [SECRET], true)).toBe('x: Bea');
    // Not cut: the end of the excerpt is the end of the body, a value's beginning there is not the value.
    expect(redactHeaderValues('x: Bearer tok_li', [SECRET], false)).toBe('x: Bearer tok_li');
    expect(redactHeaderValues('ab abc', ['abc', 'ab'], false)).toBe('[redacted] [redacted]');
  });
});
