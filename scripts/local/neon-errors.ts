// Error bodies as Neon's SQL-over-HTTP proxy writes them (neondatabase/neon proxy/src/serverless/
// sql_over_http.rs): always all 17 fields, whatever failed. `code` and `severity` are "" when the error
// did not come from Postgres (a wrong password, a bad header, a body or response over the limit); every
// other field Postgres did not set is null. The driver copies each field onto its NeonDbError, so a
// client that reads `code` sees "" there exactly as it would against Neon.

/** Every field after `message`, in Neon's order. */
const FIELDS = [
  'code',
  'detail',
  'hint',
  'position',
  'internalPosition',
  'internalQuery',
  'severity',
  'where',
  'table',
  'column',
  'schema',
  'dataType',
  'constraint',
  'file',
  'line',
  'routine',
] as const;

export type NeonErrorBody = { message: string } & Record<(typeof FIELDS)[number], string | null>;

/** An HTTP status and the body Neon sends with it. */
export type NeonFailure = [status: number, body: NeonErrorBody];

/** A body for an error Postgres raised (or that stands in for one): its fields, the rest null. */
export function postgresErrorBody(source: Record<string, unknown>): NeonErrorBody {
  const body = proxyErrorBody(String(source.message ?? 'unknown error'));
  for (const field of FIELDS) {
    const value = source[field];
    if (value !== undefined && value !== null) body[field] = String(value);
  }
  return body;
}

/** A body for an error of the proxy's own: no SQLSTATE, no severity. */
export function proxyErrorBody(message: string): NeonErrorBody {
  const body = { message } as NeonErrorBody;
  for (const field of FIELDS) body[field] = field === 'code' || field === 'severity' ? '' : null;
  return body;
}

/** Thrown where Neon answers without running anything: the status and body go back as they are. */
export class NeonRefusal extends Error {
  readonly status: number;
  readonly body: NeonErrorBody;
  constructor(status: number, body: NeonErrorBody) {
    super(body.message);
    this.status = status;
    this.body = body;
  }
}
