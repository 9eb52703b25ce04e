// One JSON object per line, which Workers Logs indexes field by field. Callers pass ids, codes and
// counts, never tokens, secrets or header values.
export type LogFields = Record<string, string | number | boolean | null | undefined>;

export function logInfo(message: string, fields: LogFields = {}): void {
  console.log(JSON.stringify({ level: 'info', message, ...fields }));
}

export function logWarn(message: string, fields: LogFields = {}): void {
  console.warn(JSON.stringify({ level: 'warn', message, ...fields }));
}

export function logError(message: string, fields: LogFields = {}): void {
  console.error(JSON.stringify({ level: 'error', message, ...fields }));
}

/** A loggable description of an error: its class and, for Postgres errors, the SQLSTATE. Never its message. */
export function describeError(error: unknown): LogFields {
  if (!(error instanceof Error)) return { errorType: typeof error };
  const cause = error.cause as { code?: unknown; name?: unknown } | undefined;
  return {
    errorType: error.name,
    ...(typeof cause?.name === 'string' ? { causeType: cause.name } : {}),
    ...(typeof cause?.code === 'string' ? { causeCode: cause.code } : {}),
  };
}
