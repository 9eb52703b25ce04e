import { toHex } from '../lib/encoding.ts';

/** 32 bytes from the CSPRNG as 64 lowercase hex characters. */
export function generateSigningSecret(): string {
  return toHex(crypto.getRandomValues(new Uint8Array(32)));
}

// Additional data binding each sealed value to its webhook and column.
export const signingSecretContext = (webhookId: string) => `webhook:${webhookId}:signing-secret`;
export const headerValuesContext = (webhookId: string) => `webhook:${webhookId}:header-values`;
