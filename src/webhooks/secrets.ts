// What a webhook keeps sealed (lib/secret-box.ts): its signing secret and its custom headers. Each value
// is bound, as additional data, to its webhook and to what it is, so a sealed value copied to another
// webhook, or from secrets to headers, fails to open. The current and the previous signing secret share
// one context on purpose: a rotation moves the sealed current one to the previous column as it is.
import { toHex } from '../lib/encoding.ts';
import type { SecretBox } from '../lib/secret-box.ts';
import type { CustomHeader } from './schema.ts';

/** 32 bytes from the CSPRNG as 64 lowercase hex characters. */
export function generateSigningSecret(): string {
  return toHex(crypto.getRandomValues(new Uint8Array(32)));
}

export const signingSecretContext = (webhookId: string) => `webhook:${webhookId}:signing-secret`;
/** Name/value pairs sealed together: nobody able to write the table can move a value under another name. */
export const headersContext = (webhookId: string) => `webhook:${webhookId}:headers`;
/** Rows written before headers were sealed as pairs: values only, in header_names order. */
export const legacyHeaderValuesContext = (webhookId: string) => `webhook:${webhookId}:header-values`;

export function sealHeaders(secrets: SecretBox, webhookId: string, headers: CustomHeader[]): Promise<string | null> {
  if (headers.length === 0) return Promise.resolve(null);
  const pairs = headers.map(({ name, value }) => [name, value]);
  return secrets.seal(JSON.stringify(pairs), headersContext(webhookId));
}

export interface SealedHeaders {
  id: string;
  headerNames: string[];
  headersSealed: string | null;
  /** Legacy: values only, bound to the webhook but not to the names. */
  headerValuesSealed: string | null;
}

/** The webhook's custom headers in clear, for delivery. */
export async function openHeaders(secrets: SecretBox, row: SealedHeaders): Promise<CustomHeader[]> {
  if (row.headersSealed !== null) {
    const pairs = JSON.parse(await secrets.open(row.headersSealed, headersContext(row.id))) as [string, string][];
    return pairs.map(([name, value]) => ({ name, value }));
  }
  if (row.headerValuesSealed === null) return [];
  const values = JSON.parse(await secrets.open(row.headerValuesSealed, legacyHeaderValuesContext(row.id))) as string[];
  return row.headerNames.map((name, index) => ({ name, value: values[index] ?? '' }));
}
