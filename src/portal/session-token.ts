// A portal session's token: stateless, sealed with the service's key ring (lib/secret-box.ts, AES-GCM),
// so nobody can read it or make one, and nothing is stored per session. It names the minting key by its
// token hash, the same handle the KV token cache and api_keys use: every request made with it looks the
// key up as a request with the key itself would (http/middleware/admit.ts). So a revoked or expired key
// ends its sessions within the cache's bound, and a session never outlives or outreaches its key.
//
// Form: "ps_" + the sealed value (its own dots included). It travels in the portal link's fragment
// (#token=…), which a browser never sends to a server, and then as a Bearer token.
import type { ApiKey } from '../auth/api-key.ts';
import type { SecretBox } from '../lib/secret-box.ts';

export const PORTAL_TOKEN_PREFIX = 'ps_';
/** Bound into the seal: a sealed cursor or secret cannot pass for a session, nor the other way round. */
const SEAL_CONTEXT = 'portal-session:v1';
/** A sealed session is about 250 characters; anything much longer is not one, and is not decrypted. */
const MAX_TOKEN_LENGTH = 1024;

export const MIN_SESSION_SECONDS = 60;
export const MAX_SESSION_SECONDS = 3600;
export const DEFAULT_SESSION_SECONDS = 900;

export interface PortalSession {
  /** SHA-256 (hex) of the minting key's token. */
  keyTokenHash: string;
  /** Narrows the session to this company of the key's; null: whatever the key reaches. */
  companyId: string | null;
  readOnly: boolean;
  /** Epoch milliseconds. */
  expiresAt: number;
}

export function isPortalToken(token: string): boolean {
  return token.startsWith(PORTAL_TOKEN_PREFIX);
}

export async function sealPortalSession(secrets: SecretBox, session: PortalSession): Promise<string> {
  const payload = [session.keyTokenHash, session.companyId, session.readOnly, session.expiresAt];
  return PORTAL_TOKEN_PREFIX + (await secrets.seal(JSON.stringify(payload), SEAL_CONTEXT));
}

/** The session a token holds, or null when it is not one this service sealed (expiry is the caller's). */
export async function openPortalSession(secrets: SecretBox, token: string): Promise<PortalSession | null> {
  if (!isPortalToken(token) || token.length > MAX_TOKEN_LENGTH) return null;
  try {
    const payload: unknown = JSON.parse(await secrets.open(token.slice(PORTAL_TOKEN_PREFIX.length), SEAL_CONTEXT));
    if (!Array.isArray(payload)) return null;
    const [keyTokenHash, companyId, readOnly, expiresAt] = payload as unknown[];
    if (
      typeof keyTokenHash === 'string' &&
      /^[0-9a-f]{64}$/.test(keyTokenHash) &&
      (companyId === null || typeof companyId === 'string') &&
      typeof readOnly === 'boolean' &&
      typeof expiresAt === 'number'
    ) {
      return { keyTokenHash, companyId, readOnly, expiresAt };
    }
  } catch {}
  return null;
}

/**
 * What a session may do: its key, narrowed. Read-only drops every scope but read:webhooks; a company
 * narrows the key's companies to that one (to none, if the key has since lost it). Same id as the key,
 * so ownership, cursors and Idempotency-Keys are the key's.
 */
export function sessionKey(key: ApiKey, session: PortalSession): ApiKey {
  const scopes = session.readOnly ? key.scopes.filter((scope) => scope === 'read:webhooks') : key.scopes;
  const { companyId } = session;
  const companyIds =
    companyId === null
      ? key.companyIds
      : key.companyIds === null || key.companyIds.includes(companyId)
        ? [companyId]
        : [];
  return { ...key, scopes, companyIds };
}
