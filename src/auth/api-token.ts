import { toBase64Url, toHex } from '../lib/encoding.ts';

export const API_TOKEN_PREFIX = 'sk_';
const TOKEN_BYTES = 32;
/** "sk_" + 32 random bytes, base64url: 43 characters. */
const API_TOKEN_PATTERN = /^sk_[A-Za-z0-9_-]{43}$/;

export function generateApiToken(): string {
  return API_TOKEN_PREFIX + toBase64Url(crypto.getRandomValues(new Uint8Array(TOKEN_BYTES)));
}

export function isWellFormedApiToken(token: string): boolean {
  return API_TOKEN_PATTERN.test(token);
}

/** Lowercase hex SHA-256: the only form of a token that is ever stored or used as a cache key. */
export async function hashApiToken(token: string): Promise<string> {
  return toHex(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(token))));
}
