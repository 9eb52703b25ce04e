import { toHex } from '../lib/encoding.ts';

export const IDEMPOTENCY_HEADER = 'Idempotency-Key';
/** How long a key holds its first response. Records past this are ignored and purged by the cron. */
export const IDEMPOTENCY_WINDOW_MS = 24 * 60 * 60 * 1000;
const PRINTABLE_ASCII = /^[\x20-\x7e]{1,255}$/;

export interface IdempotentRequest {
  key: string;
  /** SHA-256 of method, path and the canonical JSON body. */
  fingerprint: string;
}

export function isValidIdempotencyKey(key: string): boolean {
  return PRINTABLE_ASCII.test(key);
}

/** JSON with object keys sorted at every level, so key order and whitespace do not change a fingerprint. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export async function requestFingerprint(method: string, path: string, body: unknown): Promise<string> {
  const text = `${method} ${path}\n${canonicalJson(body)}`;
  return toHex(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text))));
}

/** Who an Idempotency-Key belongs to: one API key of one account. Another key never sees its records. */
export interface IdempotencyOwner {
  accountId: string;
  apiKeyId: string;
}

/** Additional data binding a sealed response to its owner and key. */
export const idempotentResponseContext = (owner: IdempotencyOwner, key: string) =>
  `idempotency:${owner.accountId}:${owner.apiKeyId}:${key}`;
