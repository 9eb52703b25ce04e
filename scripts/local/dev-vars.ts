// .dev.vars holds local secrets (git-ignored). Missing ones are generated on first run, never overwritten.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from './dev-database.ts';

const devVarsFile = join(projectRoot, '.dev.vars');

export function newEncryptionKeys(keyId = 'local'): string {
  return `${keyId}:${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64')}`;
}

export function ensureDevVars(): void {
  const current = existsSync(devVarsFile) ? readFileSync(devVarsFile, 'utf8') : '';
  if (/^ENCRYPTION_KEYS=/m.test(current)) return;
  const line = `# AES-256-GCM keys for signing secrets and header values; first one encrypts. Generated locally.\nENCRYPTION_KEYS="${newEncryptionKeys()}"\n`;
  writeFileSync(devVarsFile, current + (current && !current.endsWith('\n') ? '\n' : '') + line);
  console.log('[dev] generated ENCRYPTION_KEYS in .dev.vars');
}
