// Operator CLI against the database of a running `npm run dev`, the embedded one, or DATABASE_URL; and two
// commands for trying deliveries out: publish an event to the running API, and listen for deliveries.
//   npm run cli -- --help
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { createAccount, createCompany } from '../src/admin/accounts.ts';
import { AdminError, apiKeyTokenHash, createApiKey, revokeApiKey } from '../src/admin/api-keys.ts';
import { listAccountWebhooks } from '../src/admin/webhooks.ts';
import { SCOPES } from '../src/auth/api-key.ts';
import { API_TOKEN_PREFIX } from '../src/auth/api-token.ts';
import { tokenCacheKey } from '../src/auth/token-cache-key.ts';
import type { AnyDatabase } from '../src/db/client.ts';
import { UUID_PATTERN } from '../src/webhooks/schema.ts';
import { migrateDatabase } from './db/migrate.ts';
import { devServerApiUrl, openDevDatabase, projectRoot } from './local/dev-database.ts';
import { devSecret } from './local/dev-secrets.ts';
import { listen } from './local/listen.ts';
import { withNodeDatabase } from './local/node-database.ts';
import { openPortalLink } from './local/portal-link.ts';
import { UserError } from './local/user-error.ts';
import { wranglerBin } from './local/wrangler.ts';

const USAGE = `Usage: npm run cli -- <command> [options] [--json]

  accounts create --name NAME [--max-webhooks N]
  companies create --account ID --name NAME [--subdomain S]
  keys create --account ID --scopes ${SCOPES.join(',')} [--companies ID,ID] [--expires-in-seconds N] [--name NAME]
  keys revoke KEY_ID [--local | --remote]
  webhooks list --account ID
  portal open --account ID [--company ID] [--read-only] [--expires-in-seconds 60-3600] [--url URL]
  events publish --account ID --type TYPE [--company ID] [--data JSON] [--id EVENT_ID] [--url URL]
  listen [--port 4000] [--fail | --status N]     (the signing secret in WEBHOOK_SECRET, or --secret)

Database: DATABASE_URL if set, else the embedded one of npm run dev (running or not).
Pipe --json output with npm's banner off: npm run -s cli -- … --json | jq

keys revoke deletes the key's TOKEN_CACHE entry before and after marking it revoked. For the dev
database (the embedded one, or the DATABASE_URL a running npm run dev serves) that is wrangler's local
state; for any other database it is the deployed namespace (needs wrangler login), and when that cannot
be done nothing is revoked. --local forces the local cache, for your own local DATABASE_URL.

portal open prints a webhook portal link for the account (or one company of it): it makes an API key that
expires with the link (revoke it with keys revoke to end the link sooner) and asks the running npm run dev
(or --url) for a session, POST /portal/sessions.

events publish posts to POST /events of the running npm run dev (or --url: https, or http to this
machine only) with the operator token: EVENTS_PUBLISH_TOKEN if set, else the one npm run dev generated
in .data/dev.env.

listen serves http://localhost:4000/ (any path): it verifies each delivery with the webhook's signingSecret
(WEBHOOK_SECRET, which keeps it out of ps and your shell history, or --secret; comma-separated during a rotation),
prints it and answers 200, 500 with --fail (watch the retries and the circuit), or --status N (410: see
the webhook deactivated). A delivery that does not verify gets 401.`;

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

function httpStatus(value: string | undefined): number {
  const status = Number(value ?? '200');
  if (!Number.isInteger(status) || status < 200 || status > 599) {
    throw new UsageError('--status must be an HTTP status from 200 to 599');
  }
  return status;
}

/** This machine, by name or address: the only hosts the operator token may travel to in clear text. */
const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/i;

/** --url gets the operator token: only over https, or to this machine. */
function checkPublishUrl(url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(
      `--url must be an absolute URL such as https://webhooks.example.com, got ${JSON.stringify(url)}`,
    );
  }
  if (parsed.protocol === 'https:' || (parsed.protocol === 'http:' && LOOPBACK.test(parsed.hostname))) return;
  throw new UsageError(
    `--url must be https (or http to localhost, 127.0.0.1 or [::1]): the operator token would travel in clear text to ${parsed.host || url}`,
  );
}

/** POST /events to the running API: what InstaView's own systems do when something happens. */
async function publishEvent(values: Record<string, string | boolean | undefined>): Promise<unknown> {
  const apiUrl = (values.url as string | undefined) ?? devServerApiUrl();
  if (!apiUrl) throw new UserError('npm run dev is not running: start it, or pass --url');
  if (values.url !== undefined) checkPublishUrl(values.url as string);
  const token = process.env.EVENTS_PUBLISH_TOKEN?.split(',')[0]?.trim() || devSecret('EVENTS_PUBLISH_TOKEN');
  if (!token) {
    throw new UserError('no publish token: set EVENTS_PUBLISH_TOKEN, or run npm run dev once to generate one');
  }
  let data: unknown = {};
  if (values.data !== undefined) {
    try {
      data = JSON.parse(values.data as string);
    } catch {
      throw new UsageError('--data must be a JSON object, such as \'{"interviewId":"i-1"}\'');
    }
  }
  const event = {
    type: required(values.type as string | undefined, 'type'),
    accountId: uuid(values.account as string | undefined, 'account'),
    ...(values.company === undefined ? {} : { companyId: uuid(values.company as string, 'company') }),
    ...(values.id === undefined ? {} : { id: values.id }),
    data,
  };
  let response: Response;
  try {
    response = await fetch(new URL('/events', apiUrl), {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(event),
    });
  } catch {
    throw new UserError(`could not reach ${apiUrl}; is npm run dev running there?`);
  }
  const envelope = (await response.json()) as {
    data: unknown;
    error?: { message: string; details?: { issues?: { path: string; message: string }[] } };
  };
  if (!response.ok) {
    const issues = envelope.error?.details?.issues?.map((issue) => `\n  ${issue.path}: ${issue.message}`) ?? [];
    throw new UserError(`POST /events answered ${response.status}: ${envelope.error?.message}${issues.join('')}`);
  }
  return envelope.data;
}

/**
 * A portal link for an account. The CLI holds no key's token (only their hashes are stored), so it makes
 * one for the session, limited like the session and expiring with it, then asks the API to seal it.
 */
async function openPortal(db: AnyDatabase, values: Record<string, string | boolean | undefined>) {
  const apiUrl = (values.url as string | undefined) ?? devServerApiUrl();
  if (!apiUrl) throw new UserError('npm run dev is not running: start it, or pass --url');
  if (values.url !== undefined) checkPublishUrl(values.url as string);
  const expiresInSeconds =
    positiveInteger(values['expires-in-seconds'] as string | undefined, 'expires-in-seconds') ?? 900;
  if (expiresInSeconds < 60 || expiresInSeconds > 3600) throw new UsageError('--expires-in-seconds must be 60 to 3600');
  const accountId = uuid(values.account as string | undefined, 'account');
  const companyId = values.company === undefined ? undefined : uuid(values.company as string, 'company');
  const readOnly = values['read-only'] === true;
  // write:webhooks even for a read-only link: minting needs it; the session's readOnly drops it.
  const minting = await createApiKey(db, {
    accountId,
    scopes: ['write:webhooks', 'read:webhooks'],
    ...(companyId ? { companyIds: [companyId] } : {}),
    // A little longer than the session, so the key does not end it a moment early.
    expiresInSeconds: expiresInSeconds + 60,
    name: 'webhook portal link (npm run cli -- portal open)',
  });
  const link = await openPortalLink(apiUrl, minting.token, {
    ...(companyId ? { companyId } : {}),
    readOnly,
    expiresInSeconds,
  });
  return { url: link.url, expiresAt: link.expiresAt, keyId: minting.id };
}

/** A DNS label, as a company subdomain must be: lowercase letters, digits and inner hyphens, 1–63 long. */
const SUBDOMAIN = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

function subdomain(value: string | undefined): string | null {
  if (value === undefined) return null;
  if (!SUBDOMAIN.test(value)) {
    throw new UsageError(
      `--subdomain must be a DNS label (lowercase letters, digits and inner hyphens, 1 to 63 characters), got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

function list(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
}

type CacheScope = 'local' | 'remote';

/** Deletes the key's cache entry with wrangler, in local dev state or in the deployed namespace. */
function evictCachedKey(tokenHash: string, scope: CacheScope, when: 'before' | 'after'): void {
  const args = ['kv', 'key', 'delete', '--binding', 'TOKEN_CACHE', `--${scope}`, tokenCacheKey(tokenHash)];
  const result = spawnSync(wranglerBin, args, { cwd: projectRoot, encoding: 'utf8' });
  if (result.status === 0) return;
  const why = (result.stderr || result.stdout || `wrangler exited with ${result.status}`)
    .trim()
    .split('\n')
    .slice(-3)
    .join('\n');
  if (when === 'before') {
    throw new UserError(
      `could not delete the key's entry from the ${scope === 'remote' ? 'deployed' : 'local'} TOKEN_CACHE, so nothing was revoked:\n${why}\n` +
        (scope === 'remote'
          ? 'Log in with `npx wrangler login` (the namespace exists once the Worker is deployed) and run keys revoke again, or pass --local if DATABASE_URL is your own local database.'
          : 'Run keys revoke again.'),
    );
  }
  throw new UserError(
    `revoked in the database, but deleting the cached key afterwards failed:\n${why}\nRun keys revoke again.`,
  );
}

/**
 * Evict, revoke, evict: a request between the revocation and a single later eviction would still be
 * served from cache, and a lookup racing the revocation could re-cache the key before it. What remains
 * (a lookup that read the key before the update and writes the cache after the second eviction) is
 * bounded by the cache TTL, at most an hour (README: "Revoking a key").
 */
async function revokeKey(db: AnyDatabase, id: string, scope: CacheScope) {
  const tokenHash = await apiKeyTokenHash(db, id);
  if (tokenHash === undefined) throw new AdminError(`no API key with id ${id}`);
  evictCachedKey(tokenHash, scope, 'before');
  const { revokedAt } = await revokeApiKey(db, id);
  evictCachedKey(tokenHash, scope, 'after');
  return { id, revokedAt: revokedAt.toISOString(), cache: scope };
}

function describePostgresError(error: unknown): string | undefined {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
  const code = cause?.code ?? (error as { code?: unknown }).code;
  if (code === '23503') return 'the account or company does not exist';
  if (code === '23505') return 'that value is already taken (subdomains are unique)';
  if (code === '42P01') return 'the database has no webhooks schema yet; run npm run db:migrate against it first';
  // drizzle's own message repeats the whole query; what Postgres said is the useful part.
  return typeof cause?.message === 'string' ? `the database refused: ${cause.message}` : undefined;
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
      'read-only': { type: 'boolean', default: false },
      type: { type: 'string' },
      company: { type: 'string' },
      data: { type: 'string' },
      id: { type: 'string' },
      url: { type: 'string' },
      port: { type: 'string' },
      status: { type: 'string' },
      secret: { type: 'string' },
      fail: { type: 'boolean', default: false },
      remote: { type: 'boolean', default: false },
      local: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [resource, action, target] = positionals;
  if (values.help || !resource) throw new UsageError('');
  if (`${resource} ${action}` === 'events publish') return publishEvent(values);
  if (resource === 'listen') {
    const secrets = list(values.secret ?? process.env.WEBHOOK_SECRET);
    if (secrets.length === 0) throw new UsageError("--secret (or WEBHOOK_SECRET) must be the webhook's signingSecret");
    if (values.fail && values.status !== undefined) throw new UsageError('--fail and --status cannot both be given');
    const status = values.fail ? 500 : httpStatus(values.status);
    await listen({ port: positiveInteger(values.port, 'port') ?? 4000, secrets, status });
    return { stopped: true };
  }

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
            subdomain: subdomain(values.subdomain),
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
        case 'portal open':
          return openPortal(db, values);
        case 'webhooks list':
          return listAccountWebhooks(db, uuid(values.account, 'account'));
        case 'keys revoke': {
          if (target?.startsWith(API_TOKEN_PREFIX)) {
            throw new UsageError(
              'keys revoke takes the key\'s id (the UUID keys create printed as "id"), not its token; never paste a token into a command line',
            );
          }
          if (values.local && values.remote) throw new UsageError('--local and --remote cannot both be given');
          const scope: CacheScope = values.remote
            ? 'remote'
            : values.local || database.isDevDatabase
              ? 'local'
              : 'remote';
          return revokeKey(db, uuid(target, 'id'), scope);
        }
        default:
          throw new UsageError(`unknown command: ${positionals.join(' ')}`);
      }
    });
  } finally {
    await database.close();
  }
}

/** Human output: "key: value" lines, and for a list one block per item. */
function describeResult(result: unknown): string {
  const lines = (item: object) =>
    Object.entries(item)
      .map(([key, value]) => `${key}: ${value instanceof Date ? value.toISOString() : value}`)
      .join('\n');
  if (Array.isArray(result)) return result.length === 0 ? '(none)' : result.map(lines).join('\n\n');
  return lines(result as object);
}

const json = process.argv.includes('--json');
try {
  const result = await main(process.argv.slice(2));
  console.log(json ? JSON.stringify(result) : describeResult(result));
} catch (error) {
  if (error instanceof UsageError && error.message === '') {
    console.log(USAGE);
  } else {
    const known = error instanceof UsageError || error instanceof AdminError || error instanceof UserError;
    const message = known ? (error as Error).message : (describePostgresError(error) ?? (error as Error).message);
    if (json) console.error(JSON.stringify({ error: message }));
    else console.error(`error: ${message}${error instanceof UsageError ? `\n\n${USAGE}` : ''}`);
    process.exitCode = 1;
  }
}
