// Operator CLI against the database of a running `npm run dev`, the embedded one, or DATABASE_URL.
//   npm run cli -- --help
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { createAccount, createCompany } from '../src/admin/accounts.ts';
import { AdminError, createApiKey, revokeApiKey } from '../src/admin/api-keys.ts';
import { SCOPES } from '../src/auth/api-key.ts';
import { tokenCacheKey } from '../src/auth/token-cache-key.ts';
import { UUID_PATTERN } from '../src/webhooks/schema.ts';
import { migrateDatabase } from './db/migrate.ts';
import { openDevDatabase, projectRoot } from './local/dev-database.ts';
import { withNodeDatabase } from './local/node-database.ts';
import { wranglerBin } from './local/wrangler.ts';

const USAGE = `Usage: npm run cli -- <command> [options] [--json]

  accounts create --name NAME [--max-webhooks N]
  companies create --account ID --name NAME [--subdomain S]
  keys create --account ID --scopes ${SCOPES.join(',')} [--companies ID,ID] [--expires-in-seconds N] [--name NAME]
  keys revoke ID [--remote]

Database: DATABASE_URL if set, else the embedded one of npm run dev (running or not).
keys revoke also deletes the key's TOKEN_CACHE entry: in local dev state, or with --remote in the
deployed namespace (needs wrangler login).`;

class UsageError extends Error {}

function required(value: string | undefined, flag: string): string {
  if (value === undefined || value.trim() === '') throw new UsageError(`--${flag} is required`);
  return value;
}

function uuid(value: string | undefined, flag: string): string {
  const id = required(value, flag);
  if (!UUID_PATTERN.test(id)) throw new UsageError(`--${flag} must be a UUID, got ${JSON.stringify(id)}`);
  return id.toLowerCase();
}

function positiveInteger(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1) throw new UsageError(`--${flag} must be a positive integer`);
  return number;
}

function list(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
}

/** Deletes the key's cache entry with wrangler, locally (dev state) or in the deployed namespace. */
function evictCachedKey(tokenHash: string, remote: boolean): void {
  const args = [
    'kv',
    'key',
    'delete',
    '--binding',
    'TOKEN_CACHE',
    remote ? '--remote' : '--local',
    tokenCacheKey(tokenHash),
  ];
  const result = spawnSync(wranglerBin, args, { cwd: projectRoot, encoding: 'utf8' });
  if (result.status !== 0) {
    throw new Error(`revoked in the database, but evicting the cached key failed:\n${result.stderr || result.stdout}`);
  }
}

function describePostgresError(error: unknown): string | undefined {
  const code =
    (error as { code?: unknown; cause?: { code?: unknown } }).cause?.code ?? (error as { code?: unknown }).code;
  if (code === '23503') return 'the account or company does not exist';
  if (code === '23505') return 'that value is already taken (subdomains are unique)';
  return undefined;
}

async function main(argv: string[]): Promise<unknown> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      name: { type: 'string' },
      account: { type: 'string' },
      subdomain: { type: 'string' },
      scopes: { type: 'string' },
      companies: { type: 'string' },
      'expires-in-seconds': { type: 'string' },
      'max-webhooks': { type: 'string' },
      remote: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [resource, action, target] = positionals;
  if (values.help || !resource) throw new UsageError('');

  const database = await openDevDatabase();
  try {
    if (database.embedded) await migrateDatabase(database.url);
    return await withNodeDatabase(database.url, async (db) => {
      switch (`${resource} ${action}`) {
        case 'accounts create':
          return createAccount(db, {
            name: required(values.name, 'name'),
            maxWebhooks: positiveInteger(values['max-webhooks'], 'max-webhooks') ?? null,
          });
        case 'companies create':
          return createCompany(db, {
            accountId: uuid(values.account, 'account'),
            name: required(values.name, 'name'),
            subdomain: values.subdomain ?? null,
          });
        case 'keys create': {
          const scopes = list(values.scopes);
          const unknown = scopes.filter((scope) => !(SCOPES as readonly string[]).includes(scope));
          if (scopes.length === 0 || unknown.length > 0) {
            throw new UsageError(
              `--scopes must list some of ${SCOPES.join(', ')}${unknown.length ? `; unknown: ${unknown.join(', ')}` : ''}`,
            );
          }
          const companyIds =
            values.companies === undefined ? undefined : list(values.companies).map((id) => uuid(id, 'companies'));
          return createApiKey(db, {
            accountId: uuid(values.account, 'account'),
            scopes,
            ...(companyIds ? { companyIds } : {}),
            ...(values['expires-in-seconds']
              ? { expiresInSeconds: positiveInteger(values['expires-in-seconds'], 'expires-in-seconds') }
              : {}),
            ...(values.name ? { name: values.name } : {}),
          });
        }
        case 'keys revoke': {
          const { id, revokedAt, tokenHash } = await revokeApiKey(db, uuid(target, 'id'));
          evictCachedKey(tokenHash, values.remote);
          return { id, revokedAt: revokedAt.toISOString() };
        }
        default:
          throw new UsageError(`unknown command: ${positionals.join(' ')}`);
      }
    });
  } finally {
    await database.close();
  }
}

const json = process.argv.includes('--json');
try {
  const result = await main(process.argv.slice(2));
  console.log(
    json
      ? JSON.stringify(result)
      : Object.entries(result as object)
          .map(([key, value]) => `${key}: ${value}`)
          .join('\n'),
  );
} catch (error) {
  if (error instanceof UsageError && error.message === '') {
    console.log(USAGE);
  } else {
    const known = error instanceof UsageError || error instanceof AdminError;
    const message = known ? (error as Error).message : (describePostgresError(error) ?? (error as Error).message);
    if (json) console.error(JSON.stringify({ error: message }));
    else console.error(`error: ${message}${error instanceof UsageError ? `\n\n${USAGE}` : ''}`);
    process.exitCode = 1;
  }
}
