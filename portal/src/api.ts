// The portal's only way to the service: the public API, with the session's token as the Bearer token,
// under the same rules as any client. A 401 means the session is over (expired, malformed, its key
// revoked): the page then shows why and drops every piece of data it had.

export interface ApiErrorBody {
  code: string;
  message: string;
  details: Record<string, unknown>;
}

export class ApiFailure extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: Record<string, unknown>;
  constructor(status: number, error: ApiErrorBody) {
    super(error.message);
    this.status = status;
    this.code = error.code;
    this.details = error.details;
  }
}

let token = '';
let endedWith: string | null = null;
let onSessionEnd: (message: string) => void = () => undefined;

export function startSession(sessionToken: string): void {
  token = sessionToken;
}

/** Calls `ended` when the session is over, at once if it already is (a request can beat the first render). */
export function whenSessionEnds(ended: (message: string) => void): void {
  onSessionEnd = ended;
  if (endedWith !== null) ended(endedWith);
}

export interface Answer<T> {
  data: T;
  etag: string | null;
  status: number;
}

export async function api<T>(
  method: string,
  path: string,
  { body, headers = {} }: { body?: unknown; headers?: Record<string, string> } = {},
): Promise<Answer<T>> {
  const response = await fetch(path, {
    method,
    headers: {
      Authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      ...headers,
    },
    body: body === undefined ? null : JSON.stringify(body),
    cache: 'no-store',
    credentials: 'omit',
    referrerPolicy: 'no-referrer',
  });
  if (response.status === 204) return { data: undefined as T, etag: null, status: 204 };
  const envelope = (await response.json().catch(() => null)) as { data: T; error: ApiErrorBody | null } | null;
  if (!response.ok || !envelope) {
    const error = envelope?.error ?? {
      code: 'UNREADABLE',
      message: `The service answered HTTP ${response.status}`,
      details: {},
    };
    if (response.status === 401) {
      token = '';
      endedWith = error.message;
      onSessionEnd(error.message);
    }
    throw new ApiFailure(response.status, error);
  }
  return { data: envelope.data, etag: response.headers.get('ETag'), status: response.status };
}

/** The list of issues of a 400, or the message of any other failure, for a person to read. */
export function explain(error: unknown): string {
  if (error instanceof ApiFailure) {
    const issues = (error.details.issues as { path: string; message: string }[] | undefined) ?? [];
    if (issues.length > 0) return `${error.message}: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`;
    return error.message;
  }
  return error instanceof Error ? error.message : String(error);
}
