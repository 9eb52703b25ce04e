// The event catalogue and what the create body accepts, both read from GET /openapi.json (public, the
// service's own description): new event types or webhook fields show up here with no change to the page.

export interface EventType {
  type: string;
  summary: string;
  example: unknown;
}

export interface Catalogue {
  events: EventType[];
  /** Whether webhooks take a per-second delivery rate limit (rateLimitPerSecond) on this service. */
  hasRateLimit: boolean;
}

interface OpenApiDocument {
  webhooks?: Record<
    string,
    { post?: { summary?: string; requestBody?: { content?: Record<string, { example?: unknown }> } } }
  >;
  paths?: Record<string, Record<string, { requestBody?: { content?: Record<string, { schema?: unknown }> } }>>;
}

let loading: Promise<Catalogue> | undefined;

export function catalogue(): Promise<Catalogue> {
  loading ??= fetch('/openapi.json', { credentials: 'omit' })
    .then((response) => (response.ok ? (response.json() as Promise<OpenApiDocument>) : {}))
    .then((document: OpenApiDocument) => {
      const events = Object.entries(document.webhooks ?? {}).map(([type, item]) => ({
        type,
        summary: item.post?.summary ?? '',
        example: item.post?.requestBody?.content?.['application/json']?.example ?? null,
      }));
      const createBody = JSON.stringify(document.paths?.['/webhooks']?.post?.requestBody?.content ?? {});
      return { events, hasRateLimit: createBody.includes('"rateLimitPerSecond"') };
    })
    .catch(() => ({ events: [], hasRateLimit: false }));
  return loading;
}
