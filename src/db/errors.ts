import { DrizzleQueryError } from 'drizzle-orm/errors';

/**
 * SQLSTATE classes meaning "the database cannot serve you right now", not "your query is wrong":
 * connection exceptions, transaction rollbacks (serialization, deadlock) left after retries,
 * insufficient resources, operator intervention (shutdown, statement timeout), system errors.
 */
const UNAVAILABLE_CLASSES = ['08', '40', '53', '57', '58'];
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
 * True when a query failed because the database was unreachable, timed out or dropped the connection.
 * Anything the driver raises without a SQLSTATE is a transport failure: the server never answered.
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
