import { describe, expect, it } from 'vitest';
import type { ErrorEnvelope } from '../src/http/envelope.ts';
import { expectError, postWebhook, validBody } from './support/api.ts';
import { webhookCounts } from './support/database.ts';
import { createTestAccount, createTestCompany, createTestKey } from './support/fixtures.ts';

/** The parts of an error a caller could compare: everything but the clock and the id it sent. */
const comparable = ({ error }: ErrorEnvelope) => ({
  code: error.code,
  message: error.message,
  detailKeys: Object.keys(error.details),
});

describe('across accounts', () => {
  it('no key can create for another account’s company, nor tell it apart from a missing one', async () => {
    const [mine, theirs] = await Promise.all([createTestAccount(), createTestAccount()]);
    const theirSecondCompany = await createTestCompany(theirs.accountId);
    const answers: ErrorEnvelope[] = [];
    for (const companyId of [
      theirs.companyId,
      theirSecondCompany,
      crypto.randomUUID(),
      theirs.companyId.toUpperCase(),
    ]) {
      const response = await postWebhook(validBody({ companyId }), { token: mine.token });
      answers.push(await expectError(response, 403, 'RESOURCE_ACCESS_DENIED'));
    }
    expect(new Set(answers.map((answer) => JSON.stringify(comparable(answer)))).size).toBe(1);
    expect(await webhookCounts(mine.accountId)).toEqual({ rows: 0, counter: 0 });
    expect(await webhookCounts(theirs.accountId)).toEqual({ rows: 0, counter: 0 });
  });

  it('a key limited to some companies gets the same answer for its account’s other companies', async () => {
    const account = await createTestAccount();
    const outside = await createTestCompany(account.accountId);
    const limited = await createTestKey({
      accountId: account.accountId,
      scopes: ['write:webhooks'],
      companyIds: [account.companyId],
    });
    const other = await createTestAccount();
    const sameAccount = await expectError(
      await postWebhook(validBody({ companyId: outside }), { token: limited.token }),
      403,
      'RESOURCE_ACCESS_DENIED',
    );
    const otherAccount = await expectError(
      await postWebhook(validBody({ companyId: other.companyId }), { token: limited.token }),
      403,
      'RESOURCE_ACCESS_DENIED',
    );
    expect(comparable(sameAccount)).toEqual(comparable(otherAccount));
  });

  it('a webhook is always written to the key’s own account', async () => {
    const [mine, theirs] = await Promise.all([createTestAccount(), createTestAccount()]);
    expect((await postWebhook(validBody({ companyId: mine.companyId }), { token: mine.token })).status).toBe(201);
    expect(await webhookCounts(mine.accountId)).toEqual({ rows: 1, counter: 1 });
    expect(await webhookCounts(theirs.accountId)).toEqual({ rows: 0, counter: 0 });
  });
});
