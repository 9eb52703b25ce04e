// The local Worker's secrets, in .data/dev.env beside the embedded database whose rows they seal:
// generated on first run, never overwritten, gone with .data when the dev state is reset. Not .dev.vars:
// wrangler would also read that file for the tests, which take their secrets from vitest.config.ts.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dataDir } from './dev-database.ts';

export const devSecretsFile = join(dataDir, 'dev.env');

export function newEncryptionKeys(keyId = 'local'): string {
  return `${keyId}:${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64')}`;
}

const GENERATED: { name: string; comment: string; value: () => string }[] = [
  {
    name: 'ENCRYPTION_KEYS',
    comment: 'AES-256-GCM keys for signing secrets and header values; the first one encrypts.',
    value: () => newEncryptionKeys(),
  },
  {
    name: 'EVENTS_PUBLISH_TOKEN',
    comment: 'The operator token POST /events takes (npm run cli -- events publish sends it).',
    value: () => `pub_${Buffer.from(crypto.getRandomValues(new Uint8Array(24))).toString('base64url')}`,
  },
];

function readDevSecrets(): Map<string, string> {
  const text = existsSync(devSecretsFile) ? readFileSync(devSecretsFile, 'utf8') : '';
  const entries = [...text.matchAll(/^([A-Z_]+)="?([^"\n]*)"?$/gm)].map(([, name, value]) => [name, value]);
  return new Map(entries as [string, string][]);
}

/** Adds whatever secret the file lacks. */
export function ensureDevSecrets(): void {
  mkdirSync(dataDir, { recursive: true });
  const current = existsSync(devSecretsFile) ? readFileSync(devSecretsFile, 'utf8') : '';
  const present = readDevSecrets();
  const missing = GENERATED.filter(({ name }) => !present.has(name));
  if (missing.length === 0) return;
  const lines = missing.map(({ name, comment, value }) => `# ${comment} Generated locally.\n${name}="${value()}"\n`);
  writeFileSync(devSecretsFile, current + (current && !current.endsWith('\n') ? '\n' : '') + lines.join(''), {
    mode: 0o600,
  });
  console.log(`[dev] generated ${missing.map(({ name }) => name).join(' and ')} in .data/dev.env`);
}

/** A secret of the local Worker, for the CLI talking to it; undefined before the first npm run dev. */
export function devSecret(name: string): string | undefined {
  return readDevSecrets().get(name);
}
