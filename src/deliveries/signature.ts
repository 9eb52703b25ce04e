// Standard Webhooks signatures (https://www.standardwebhooks.com): `webhook-signature: v1,<base64
// HMAC-SHA256 of "{webhook-id}.{webhook-timestamp}.{body}">`, space-separated when several secrets are
// valid (a rotation's grace period). The HMAC key is the signing secret base64-decoded, as the
// standardwebhooks and svix libraries decode it: `new Webhook(signingSecret)` verifies unchanged.
import { fromBase64, toBase64 } from '../lib/encoding.ts';

const encoder = new TextEncoder();

async function sign(secret: string, content: Uint8Array<ArrayBuffer>): Promise<string> {
  const key = await crypto.subtle.importKey(
    'raw',
    fromBase64(secret.replace(/^whsec_/, '')),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign'],
  );
  return `v1,${toBase64(new Uint8Array(await crypto.subtle.sign('HMAC', key, content)))}`;
}

/** The webhook-signature header for one attempt: one signature per secret still valid. */
export async function signatureHeader(
  secrets: readonly string[],
  deliveryId: string,
  timestamp: number,
  body: string,
): Promise<string> {
  const content = encoder.encode(`${deliveryId}.${timestamp}.${body}`) as Uint8Array<ArrayBuffer>;
  return (await Promise.all(secrets.map((secret) => sign(secret, content)))).join(' ');
}
