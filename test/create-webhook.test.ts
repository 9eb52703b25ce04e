import { describe, expect, it } from 'vitest';
import { postWebhook, readSuccess, validBody } from './support/api.ts';
import { storedWebhook, webhookCounts } from './support/database.ts';
import { createTestAccount } from './support/fixtures.ts';

const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

describe('POST /webhooks creates a webhook', () => {
  it('answers 201 with the whole contract, in the envelope', async () => {
    const account = await createTestAccount();
    const response = await postWebhook(
      {
        url: 'https://hooks.example.com/instaview?source=ats',
        events: ['INTERVIEW_COMPLETED', 'ANALYSIS_FAILED'],
        name: 'ATS sync',
        description: 'Pushes finished interviews to our ATS',
        companyId: account.companyId,
        headers: [
          { name: 'Authorization', value: 'Bearer partner-secret' },
          { name: 'X-Partner-Id', value: '42' },
        ],
      },
      { token: account.token },
    );
    expect(response.status).toBe(201);
    expect(response.headers.get('Content-Type')).toMatch(/^application\/json/);
    expect(response.headers.get('X-Request-Id')).toMatch(/^[0-9a-f-]{36}$/);
    const body = await readSuccess(response);
    expect(body).toEqual({
      success: true,
      data: {
        id: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/),
        signingSecret: expect.stringMatching(/^[0-9a-f]{64}$/),
        url: 'https://hooks.example.com/instaview?source=ats',
        events: ['INTERVIEW_COMPLETED', 'ANALYSIS_FAILED'],
        name: 'ATS sync',
        description: 'Pushes finished interviews to our ATS',
        companyId: account.companyId,
        headers: [
          { name: 'Authorization', isMasked: true },
          { name: 'X-Partner-Id', isMasked: true },
        ],
        isActive: true,
        apiKeyId: account.apiKeyId,
        maxRetries: 3,
        timeoutMs: 30000,
        rateLimitPerSecond: null,
        consecutiveFailures: 0,
        circuitOpenedAt: null,
        disabledReason: null,
        disabledAt: null,
        health: { status: 'healthy', failingSince: null, lastSuccessAt: null },
        createdAt: expect.stringMatching(ISO_8601),
        updatedAt: body.data.createdAt,
      },
      error: null,
      timestamp: expect.stringMatching(ISO_8601),
    });
    expect(Object.keys(body.data)).toEqual([
      'id',
      'signingSecret',
      'url',
      'events',
      'name',
      'description',
      'companyId',
      'headers',
      'isActive',
      'apiKeyId',
      'maxRetries',
      'timeoutMs',
      'rateLimitPerSecond',
      'consecutiveFailures',
      'circuitOpenedAt',
      'disabledReason',
      'disabledAt',
      'health',
      'createdAt',
      'updatedAt',
    ]);
    expect(JSON.stringify(body)).not.toContain('partner-secret');
  });

  it('fills in nulls and empty headers when the optional fields are omitted', async () => {
    const account = await createTestAccount();
    const { data } = await readSuccess(await postWebhook(validBody(), { token: account.token }));
    expect(data).toMatchObject({ name: null, description: null, companyId: null, headers: [] });
  });

  it('accepts null for the fields a response shows as null', async () => {
    const account = await createTestAccount();
    const response = await postWebhook(validBody({ name: null, description: null, companyId: null }), {
      token: account.token,
    });
    expect(response.status).toBe(201);
    expect((await readSuccess(response)).data).toMatchObject({ name: null, description: null, companyId: null });
  });

  it('collapses duplicate events, keeping the order of first appearance', async () => {
    const account = await createTestAccount();
    const response = await postWebhook(
      validBody({ events: ['PING', 'ENRICH_FAILED', 'PING', 'SOURCING_COMPLETED', 'ENRICH_FAILED'] }),
      {
        token: account.token,
      },
    );
    expect((await readSuccess(response)).data.events).toEqual(['PING', 'ENRICH_FAILED', 'SOURCING_COMPLETED']);
  });

  it('accepts every event type', async () => {
    const account = await createTestAccount();
    const all = [
      'ANALYSIS_COMPLETED',
      'ANALYSIS_FAILED',
      'PING',
      'INTERVIEW_COMPLETED',
      'INTERVIEW_FAILED',
      'INTERVIEW_STARTED',
      'SOURCING_COMPLETED',
      'SOURCING_FAILED',
      'ENRICH_COMPLETED',
      'ENRICH_FAILED',
    ];
    const response = await postWebhook(validBody({ events: all }), { token: account.token });
    expect((await readSuccess(response)).data.events).toEqual(all);
  });

  it('returns a company id in canonical lowercase whatever case it was sent in', async () => {
    const account = await createTestAccount();
    const response = await postWebhook(validBody({ companyId: account.companyId.toUpperCase() }), {
      token: account.token,
    });
    expect((await readSuccess(response)).data.companyId).toBe(account.companyId);
  });

  it('gives every webhook its own id, secret and request id', async () => {
    const account = await createTestAccount();
    const responses = await Promise.all([1, 2, 3].map(() => postWebhook(validBody(), { token: account.token })));
    const bodies = await Promise.all(responses.map(readSuccess));
    expect(new Set(bodies.map((body) => body.data.id)).size).toBe(3);
    expect(new Set(bodies.map((body) => body.data.signingSecret)).size).toBe(3);
    expect(new Set(responses.map((response) => response.headers.get('X-Request-Id'))).size).toBe(3);
  });

  it('ignores a client-supplied X-Request-Id and mints its own', async () => {
    const account = await createTestAccount();
    const response = await postWebhook(validBody(), {
      token: account.token,
      headers: { 'X-Request-Id': 'client-chosen-id' },
    });
    expect(response.headers.get('X-Request-Id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('stores what it returned, under the key’s account, and counts it', async () => {
    const account = await createTestAccount();
    const { data } = await readSuccess(
      await postWebhook(
        validBody({
          name: 'n',
          description: 'd',
          headers: [{ name: 'X-A', value: 'a' }],
          companyId: account.companyId,
        }),
        { token: account.token },
      ),
    );
    const row = await storedWebhook(data.id);
    expect(row).toMatchObject({
      account_id: account.accountId,
      api_key_id: account.apiKeyId,
      company_id: account.companyId,
      url: data.url,
      events: '{INTERVIEW_COMPLETED}',
      name: 'n',
      description: 'd',
      header_names: ['X-A'],
      is_active: true,
      max_retries: 3,
      timeout_ms: 30000,
      consecutive_failures: 0,
      circuit_opened_at: null,
    });
    expect(new Date(row?.created_at ?? '').toISOString()).toBe(data.createdAt);
    expect(await webhookCounts(account.accountId)).toEqual({ rows: 1, counter: 1 });
  });
});
