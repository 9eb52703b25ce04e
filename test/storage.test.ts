import { env } from 'cloudflare:workers';
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { secretBox } from '../src/lib/secret-box.ts';
import {
  headersContext,
  legacyHeaderValuesContext,
  openHeaders,
  signingSecretContext,
} from '../src/webhooks/secrets.ts';
import { postWebhook, readSuccess, validBody } from './support/api.ts';
import { storedWebhook, withDatabase } from './support/database.ts';
import { createTestAccount } from './support/fixtures.ts';

const headerValues = ['Bearer partner-token-8f3a', 'tenant=acme; region=eu', 'Ünïcödé value\twith tab'];
const headerNames = ['X-Secret-0', 'X-Secret-1', 'X-Secret-2'];

async function createWithSecrets() {
  const account = await createTestAccount();
  const response = await postWebhook(
    validBody({ headers: headerValues.map((value, index) => ({ name: headerNames[index], value })) }),
    { token: account.token },
  );
  const { data } = await readSuccess(response);
  const row = await storedWebhook(data.id);
  if (!row) throw new Error('webhook row missing');
  return { data, row };
}

const sealed = (row: {
  id: string;
  header_names: string[];
  headers_sealed: string | null;
  header_values_sealed: string | null;
}) => ({
  id: row.id,
  headerNames: row.header_names,
  headersSealed: row.headers_sealed,
  headerValuesSealed: row.header_values_sealed,
});

describe('secrets at rest', () => {
  it('keeps neither the signing secret nor any header value in plaintext', async () => {
    const { data, row } = await createWithSecrets();
    expect(row.dump).not.toContain(data.signingSecret);
    for (const value of headerValues) expect(row.dump).not.toContain(value);
    expect(row.header_names).toEqual(headerNames);
    expect(row.signing_secret_sealed).toMatch(/^v1\.test\.[\w-]{16}\.[\w-]+$/);
    expect(row.headers_sealed).toMatch(/^v1\.test\.[\w-]{16}\.[\w-]+$/);
    expect(row.header_values_sealed).toBeNull();
  });

  it('opens with the service key to exactly what was sent, for delivery', async () => {
    const { data, row } = await createWithSecrets();
    const box = secretBox(env.ENCRYPTION_KEYS);
    expect(await box.open(row.signing_secret_sealed, signingSecretContext(data.id))).toBe(data.signingSecret);
    expect(await openHeaders(box, sealed(row))).toEqual(
      headerValues.map((value, index) => ({ name: headerNames[index], value })),
    );
  });

  it('binds each sealed value to its webhook and column', async () => {
    const first = await createWithSecrets();
    const second = await createWithSecrets();
    const box = secretBox(env.ENCRYPTION_KEYS);
    await expect(box.open(first.row.signing_secret_sealed, signingSecretContext(second.data.id))).rejects.toThrow();
    await expect(box.open(first.row.signing_secret_sealed, headersContext(first.data.id))).rejects.toThrow();
    await expect(box.open(first.row.headers_sealed as string, headersContext(second.data.id))).rejects.toThrow();
  });

  it('seals each value with its name: reordering the stored names moves no value under another name', async () => {
    const { data, row } = await createWithSecrets();
    // Someone able to write the table swaps the names; what delivery opens still pairs them as sealed.
    await withDatabase((db) =>
      db.execute(
        sql`update webhooks set header_names = array['X-Secret-2','X-Secret-1','X-Secret-0'] where id = ${data.id}::uuid`,
      ),
    );
    const tampered = await storedWebhook(data.id);
    expect(tampered?.header_names).toEqual([...headerNames].reverse());
    const opened = await openHeaders(secretBox(env.ENCRYPTION_KEYS), sealed(tampered ?? row));
    expect(opened).toEqual(headerValues.map((value, index) => ({ name: headerNames[index], value })));
  });

  it('still opens headers sealed before names were bound (values only, in header_names order)', async () => {
    const { data } = await createWithSecrets();
    const box = secretBox(env.ENCRYPTION_KEYS);
    const legacy = await box.seal(JSON.stringify(headerValues), legacyHeaderValuesContext(data.id));
    await withDatabase((db) =>
      db.execute(
        sql`update webhooks set headers_sealed = null, header_values_sealed = ${legacy} where id = ${data.id}::uuid`,
      ),
    );
    const row = await storedWebhook(data.id);
    if (!row) throw new Error('webhook row missing');
    expect(await openHeaders(box, sealed(row))).toEqual(
      headerValues.map((value, index) => ({ name: headerNames[index], value })),
    );
  });

  it('does not open under another key', async () => {
    const { data, row } = await createWithSecrets();
    const otherKey = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))));
    await expect(
      secretBox(`test:${otherKey}`).open(row.signing_secret_sealed, signingSecretContext(data.id)),
    ).rejects.toThrow();
  });

  it('stores no header values at all when there are no headers', async () => {
    const account = await createTestAccount();
    const { data } = await readSuccess(await postWebhook(validBody(), { token: account.token }));
    const row = await storedWebhook(data.id);
    expect(row?.headers_sealed).toBeNull();
    expect(row?.header_values_sealed).toBeNull();
  });
});

describe('key rotation', () => {
  const key = () => btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))));

  it('seals with the first key and still opens values sealed with an older one', async () => {
    const oldKey = `old:${key()}`;
    const sealedBefore = await secretBox(oldKey).seal('secret', 'context');
    const rotated = secretBox(`new:${key()},${oldKey}`);
    expect(await rotated.open(sealedBefore, 'context')).toBe('secret');
    expect(await rotated.seal('secret', 'context')).toMatch(/^v1\.new\./);
  });

  it.each([
    ['', /empty/],
    ['nokeyid', /keyId/],
    [`a:${btoa('short')}`, /32 bytes/],
    ['a:***', /base64/],
    [`a:${btoa('x'.repeat(32))},a:${btoa('y'.repeat(32))}`, /twice/],
  ])('refuses the key ring %j without echoing key material', async (spec, message) => {
    const failure = secretBox(spec).seal('x', 'y');
    await expect(failure).rejects.toThrow(message);
    await failure.catch((error: Error) => expect(error.message).not.toContain(btoa('x'.repeat(32))));
  });
});
