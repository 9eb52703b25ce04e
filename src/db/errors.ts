import { DrizzleQueryError } from 'drizzle-orm/errors';

/**
 * SQLSTATE classes meaning "the database cannot serve you right now", not "your query is wrong":
 * connection exceptions, invalid authorization (28000, 28P01: the role or its password), transaction
 * rollbacks (serialization, deadlock) left after retries, invalid catalog name (3D000: DATABASE_URL
 * names a database that is not there), insufficient resources, operator intervention (shutdown,
 * statement timeout, 57P01–57P03), system errors. None of them is the request's fault
 * (test/platform-faults.test.ts).
 */
const UNAVAILABLE_CLASSES = ['08', '28', '3D', '40', '53', '57', '58'];
/** Worth running the same statement again at once: serialization failure, deadlock. */
const TRANSIENT_CODES = new Set(['40001', '40P01']);

export interface PostgresError {
  code: string;
  constraint?: string;
}

/** The Postgres error behind a failed query, when the server answered with one. */
export function postgresErrorOf(error: unknown): PostgresError | undefined {
  const cause = error instanceof DrizzleQueryError ? error.cause : error;
  if (typeof cause !== 'object' || cause === null) return undefined;
  const { code, constraint } = cause as { code?: unknown; constraint?: unknown };
  if (typeof code !== 'string' || !/^[0-9A-Z]{5}$/.test(code)) return undefined;
  return { code, ...(typeof constraint === 'string' ? { constraint } : {}) };
}

/** True for a conflict that running the statement again may resolve. */
export function isTransientConflict(error: unknown): boolean {
  return TRANSIENT_CODES.has(postgresErrorOf(error)?.code ?? '');
}

/** The constraint a unique (23505) or foreign-key (23503) violation names, when it is one. */
export function violatedConstraint(error: unknown, kind: 'unique' | 'foreign-key'): string | undefined {
  const postgresError = postgresErrorOf(error);
  if (postgresError?.code !== (kind === 'unique' ? '23505' : '23503')) return undefined;
  return postgresError.constraint ?? '';
}

/**
 * True when a query failed because the database was unreachable, timed out, dropped the connection or
 * refused the service's own credentials. Anything the driver raises without a SQLSTATE is the
 * platform's: a fetch that failed or timed out ("Error connecting to database"), a status other than
 * 400 from Neon's endpoint (413 request or 507 response over its 10 MiB limits, a 5xx), or a 400
 * whose `code` is "" (Neon's own refusals: a wrong password, a connection string it cannot use).
 * TypeError and RangeError are the exceptions: those are our code's bugs, not the platform's.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (!(error instanceof DrizzleQueryError)) return false;
  const postgresError = postgresErrorOf(error);
  if (!postgresError) return !(error.cause instanceof TypeError || error.cause instanceof RangeError);
  return UNAVAILABLE_CLASSES.some((prefix) => postgresError.code.startsWith(prefix));
}

/** True when Postgres refused the values themselves (SQLSTATE class 22): running it again cannot help. */
export function isDataException(error: unknown): boolean {
  return postgresErrorOf(error)?.code.startsWith('22') ?? false;
}
