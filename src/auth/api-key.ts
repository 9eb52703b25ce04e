export const SCOPES = ['write:webhooks', 'read:webhooks'] as const;
export type Scope = (typeof SCOPES)[number];

/** What a request learns about its API key. Plain JSON, so the same shape is cached in KV. */
export interface ApiKey {
  id: string;
  accountId: string;
  scopes: string[];
  /** null: every company of the account; otherwise only these. */
  companyIds: string[] | null;
  /** ISO 8601, or null for a key that never expires. */
  expiresAt: string | null;
  revokedAt: string | null;
}

export function isApiKey(value: unknown): value is ApiKey {
  if (typeof value !== 'object' || value === null) return false;
  const key = value as Record<string, unknown>;
  const isStringArray = (item: unknown) => Array.isArray(item) && item.every((entry) => typeof entry === 'string');
  const isDateOrNull = (item: unknown) =>
    item === null || (typeof item === 'string' && !Number.isNaN(Date.parse(item)));
  return (
    typeof key.id === 'string' &&
    typeof key.accountId === 'string' &&
    isStringArray(key.scopes) &&
    (key.companyIds === null || isStringArray(key.companyIds)) &&
    isDateOrNull(key.expiresAt) &&
    isDateOrNull(key.revokedAt)
  );
}

export type KeyRejection = 'revoked' | 'expired';

export function keyRejection(key: ApiKey, now: number): KeyRejection | undefined {
  if (key.revokedAt !== null) return 'revoked';
  if (key.expiresAt !== null && Date.parse(key.expiresAt) <= now) return 'expired';
  return undefined;
}
