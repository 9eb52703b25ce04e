// Envelope for secrets kept in Postgres: AES-256-GCM with a random 96-bit IV, the record it belongs to
// bound as additional data (a sealed value copied to a context it was not sealed for fails to open), and the id
// of the key that sealed it, so keys can rotate: new values use the first key, old ones still open.
//
// Stored form: "v1.<keyId>.<base64url iv>.<base64url ciphertext+tag>"
import { fromBase64, fromBase64Url, toBase64Url } from './encoding.ts';

const FORMAT = 'v1';
const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;

export interface SecretBox {
  seal(plaintext: string, context: string): Promise<string>;
  open(sealed: string, context: string): Promise<string>;
}

export class KeyRingError extends Error {
  override name = 'KeyRingError';
}

interface KeyRing {
  currentId: string;
  keys: Map<string, CryptoKey>;
}

const encoder = new TextEncoder();
// ignoreBOM: a value that starts with U+FEFF must come back with it.
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Parses ENCRYPTION_KEYS: comma-separated "keyId:base64(32 random bytes)" entries, the first one current.
 * Never puts key material in an error message.
 */
async function importKeyRing(spec: string): Promise<KeyRing> {
  const entries = spec
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  if (entries.length === 0) throw new KeyRingError('ENCRYPTION_KEYS is empty');
  const keys = new Map<string, CryptoKey>();
  for (const [index, entry] of entries.entries()) {
    const colon = entry.indexOf(':');
    const id = entry.slice(0, colon);
    if (colon < 0 || !KEY_ID.test(id))
      throw new KeyRingError(`ENCRYPTION_KEYS entry ${index + 1} needs a "keyId:" prefix`);
    if (keys.has(id)) throw new KeyRingError(`ENCRYPTION_KEYS has key id "${id}" twice`);
    let raw: Uint8Array<ArrayBuffer>;
    try {
      raw = fromBase64(entry.slice(colon + 1));
    } catch {
      throw new KeyRingError(`ENCRYPTION_KEYS key "${id}" is not valid base64`);
    }
    if (raw.length !== 32) throw new KeyRingError(`ENCRYPTION_KEYS key "${id}" must be 32 bytes, not ${raw.length}`);
    keys.set(id, await crypto.subtle.importKey('raw', raw, 'AES-GCM', false, ['encrypt', 'decrypt']));
  }
  return { currentId: entries[0]?.split(':')[0] as string, keys };
}

// Importing keys costs CPU on every request otherwise; CryptoKeys are safe to share across requests.
const ringCache = new Map<string, Promise<KeyRing>>();

export function secretBox(spec: string): SecretBox {
  let ring = ringCache.get(spec);
  if (!ring) {
    ring = importKeyRing(spec);
    ringCache.set(spec, ring);
    ring.catch(() => ringCache.delete(spec));
  }
  const keyRing = ring;
  return {
    async seal(plaintext, context) {
      const { currentId, keys } = await keyRing;
      const iv = crypto.getRandomValues(new Uint8Array(12));
      const ciphertext = await crypto.subtle.encrypt(
        { name: 'AES-GCM', iv, additionalData: encoder.encode(context) },
        keys.get(currentId) as CryptoKey,
        encoder.encode(plaintext),
      );
      return `${FORMAT}.${currentId}.${toBase64Url(iv)}.${toBase64Url(new Uint8Array(ciphertext))}`;
    },
    async open(sealed, context) {
      const { keys } = await keyRing;
      const [format, keyId = '', iv = '', ciphertext = ''] = sealed.split('.');
      const key = keys.get(keyId);
      if (format !== FORMAT || !key)
        throw new KeyRingError(`cannot open a value sealed with format "${format}" and key "${keyId}"`);
      const plaintext = await crypto.subtle.decrypt(
        { name: 'AES-GCM', iv: fromBase64Url(iv), additionalData: encoder.encode(context) },
        key,
        fromBase64Url(ciphertext),
      );
      return decoder.decode(plaintext);
    },
  };
}
