// GET /openapi.json: an OpenAPI 3.1 document built from the app's own routes and the zod schemas its
// validators use (openapi/describe.ts), so there is no second copy of the rules to drift.
import type { Hono } from 'hono';
import * as z from 'zod/mini';
import type { $ZodType } from 'zod/v4/core';
import type { AppEnv } from '../http/env.ts';
import { ERROR_STATUS, type ErrorCode } from '../http/errors.ts';
import { IDEMPOTENCY_HEADER } from '../idempotency/idempotency-key.ts';
import { type OperationDoc, type OperationPart, partOf, type ResponseDoc } from './describe.ts';

type JsonSchema = Record<string, unknown>;

/** Errors any operation can answer with. */
const ALWAYS: ErrorCode[] = ['INTERNAL_ERROR'];

const ERROR_DESCRIPTIONS: Record<ErrorCode, string> = {
  VALIDATION_ERROR: 'A rule is broken; details.issues lists every offending field (at most 50, then a count)',
  INVALID_JSON: 'The body is not valid UTF-8, not JSON, or not a JSON object',
  UNAUTHORIZED: 'Missing, malformed, unknown, revoked or expired API key',
  INSUFFICIENT_PERMISSIONS: 'The API key lacks the scope the route needs (details.requiredScope)',
  RESOURCE_ACCESS_DENIED: 'The key cannot reach this company or webhook',
  NOT_FOUND: 'No such route',
  RESOURCE_NOT_FOUND: 'No such webhook (or delivery) for this account (details.resourceType, details.resourceId)',
  METHOD_NOT_ALLOWED: 'The route exists with other methods (Allow header)',
  PAYLOAD_TOO_LARGE: 'The body is over the limit (details.maxBytes)',
  CONFLICT: 'A concurrent change collided in a way a retry resolves',
  PRECONDITION_FAILED: 'If-Match named a revision that is no longer current; nothing changed',
  UNSUPPORTED_MEDIA_TYPE: 'Content-Type is not application/json',
  IDEMPOTENCY_KEY_REUSED: 'The Idempotency-Key was used with a different request in the last 24 hours',
  WEBHOOK_LIMIT_REACHED: 'The account holds its maximum number of webhooks (details.limit)',
  PING_NOT_SUBSCRIBED: 'The webhook is not subscribed to PING, so it cannot be tested',
  RATE_LIMITED: 'Too many requests; Retry-After says when to retry',
  INTERNAL_ERROR: 'Anything else; quote X-Request-Id',
  SERVICE_UNAVAILABLE: 'The database could not be reached or kept conflicting; nothing was written; Retry-After',
};

/** `$ref`s into the schema's own $defs, pointed at the document's components instead. */
function componentRefs(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(componentRefs);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => [
      key,
      key === '$ref' && typeof item === 'string'
        ? item.replace('#/$defs/', '#/components/schemas/')
        : componentRefs(item),
    ]),
  );
}

/** zod → JSON Schema 2020-12, with named schemas (meta id) moved to the document's components. */
function toSchema(schema: $ZodType, io: 'input' | 'output', components: Record<string, JsonSchema>): JsonSchema {
  const json = componentRefs(z.toJSONSchema(schema, { io, unrepresentable: 'any' })) as JsonSchema & {
    $defs?: Record<string, JsonSchema>;
  };
  const { $schema: _dialect, $defs, ...rest } = json;
  Object.assign(components, $defs);
  return rest;
}

function envelope(data: JsonSchema | undefined): JsonSchema {
  return {
    type: 'object',
    required: ['success', 'data', 'error', 'timestamp'],
    properties: {
      success: { const: true },
      data: data ?? {},
      error: { type: 'null' },
      timestamp: { type: 'string', format: 'date-time' },
    },
  };
}

/** A success response's body: as is in its own media type, in the envelope, or none (a 204 without data). */
function responseContent(
  response: ResponseDoc,
  status: string,
  components: Record<string, JsonSchema>,
): JsonSchema | undefined {
  if (response.mediaType) return { [response.mediaType]: {} };
  if (!response.data && status === '204') return undefined;
  return {
    'application/json': { schema: envelope(response.data && toSchema(response.data, 'output', components)) },
  };
}

function errorEnvelope(codes: ErrorCode[]): JsonSchema {
  return {
    type: 'object',
    required: ['success', 'data', 'error', 'timestamp'],
    properties: {
      success: { const: false },
      data: { type: 'null' },
      error: {
        type: 'object',
        required: ['code', 'message', 'details'],
        properties: {
          code: { type: 'string', enum: codes },
          message: { type: 'string' },
          details: { type: 'object' },
        },
      },
      timestamp: { type: 'string', format: 'date-time' },
    },
  };
}

const headerSchema = (description: string) => ({ description, schema: { type: 'string' } });

function operationObject(
  method: string,
  operation: OperationDoc,
  parts: OperationPart[],
  components: Record<string, JsonSchema>,
): JsonSchema {
  const scope = parts.find((part) => part.scope)?.scope;
  const publisher = parts.some((part) => part.publisher);
  const bodyParts = parts.filter((part) => part.body);
  const bodySchema = bodyParts.find((part) => part.body?.schema)?.body?.schema;
  const bodyRequired = bodyParts.find((part) => part.body?.required !== undefined)?.body?.required ?? true;
  const query = parts.find((part) => part.query)?.query;
  const idempotent = parts.some((part) => part.idempotent);
  const codes = [...new Set([...parts.flatMap((part) => part.errors ?? []), ...(operation.errors ?? []), ...ALWAYS])];

  const parameters: JsonSchema[] = Object.entries(operation.params ?? {}).map(([name, description]) => ({
    name,
    in: 'path',
    required: true,
    description,
    schema: { type: 'string' },
  }));
  if (query) {
    const schema = toSchema(query, 'input', components) as {
      properties?: Record<string, JsonSchema>;
      required?: string[];
    };
    for (const [name, property] of Object.entries(schema.properties ?? {})) {
      parameters.push({ name, in: 'query', required: schema.required?.includes(name) ?? false, schema: property });
    }
  }
  for (const [name, description] of Object.entries(operation.headers ?? {})) {
    parameters.push({ name, in: 'header', required: false, ...headerSchema(description) });
  }
  if (idempotent) {
    parameters.push({
      name: IDEMPOTENCY_HEADER,
      in: 'header',
      required: false,
      description:
        'Makes the request safe to retry for 24 hours: the same key with the same body replays the first response',
      schema: { type: 'string', minLength: 1, maxLength: 255, pattern: '^[\\x20-\\x7e]+$' },
    });
  }

  const responses: JsonSchema = {};
  for (const [status, response] of Object.entries(operation.responses)) {
    const headers = Object.fromEntries(
      Object.entries({ 'X-Request-Id': 'The request id; quote it when reporting a problem', ...response.headers }).map(
        ([name, description]) => [name, headerSchema(description)],
      ),
    );
    const content = responseContent(response, status, components);
    responses[status] = { description: response.description, headers, ...(content ? { content } : {}) };
  }
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) byStatus.set(ERROR_STATUS[code], [...(byStatus.get(ERROR_STATUS[code]) ?? []), code]);
  for (const [status, statusCodes] of [...byStatus].sort(([a], [b]) => a - b)) {
    responses[String(status)] = {
      description: statusCodes.map((code) => `${code}: ${ERROR_DESCRIPTIONS[code]}`).join('; '),
      content: { 'application/json': { schema: errorEnvelope(statusCodes) } },
    };
  }

  return {
    operationId: operation.operationId,
    summary: operation.summary,
    ...(operation.description ? { description: operation.description } : {}),
    tags: operation.tags,
    security: scope ? [{ ApiKey: [scope] }] : publisher ? [{ PublishToken: [] }] : [],
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(bodyParts.length > 0 && method !== 'get'
      ? {
          requestBody: {
            required: bodyRequired,
            content: {
              'application/json': {
                schema: bodySchema ? toSchema(bodySchema, 'output', components) : { type: 'object' },
              },
            },
          },
        }
      : {}),
    responses,
  };
}

/** The document for `app`: every routed operation that carries a `describe`, and nothing else. */
export function buildOpenApiDocument(app: Hono<AppEnv>, info: { version: string }): JsonSchema {
  const operations = new Map<string, { method: string; path: string; parts: OperationPart[] }>();
  for (const route of app.routes) {
    if (route.method === 'ALL') continue;
    const key = `${route.method} ${route.path}`;
    const entry = operations.get(key) ?? { method: route.method.toLowerCase(), path: route.path, parts: [] };
    const part = partOf(route.handler);
    if (part) entry.parts.push(part);
    operations.set(key, entry);
  }
  const components: Record<string, JsonSchema> = {};
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const { method, path, parts } of operations.values()) {
    const operation = parts.find((part) => part.operation)?.operation;
    if (!operation) continue;
    const openApiPath = path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
    paths[openApiPath] ??= {};
    (paths[openApiPath] as Record<string, JsonSchema>)[method] = operationObject(method, operation, parts, components);
  }
  const codes = Object.keys(ERROR_STATUS) as ErrorCode[];
  return {
    openapi: '3.1.0',
    info: {
      title: 'InstaView webhooks API',
      version: info.version,
      description:
        'Register HTTPS endpoints for signed, real-time event notifications. Every response is a JSON envelope ' +
        '`{success, data, error, timestamp}` with an `X-Request-Id` header. Errors carry one of these codes:\n\n' +
        codes.map((code) => `- \`${code}\` (${ERROR_STATUS[code]}): ${ERROR_DESCRIPTIONS[code]}`).join('\n'),
    },
    servers: [{ url: '/' }],
    tags: [
      { name: 'Webhooks', description: 'The webhook resource' },
      { name: 'Deliveries', description: 'Test a webhook, read its delivery log, send again' },
      { name: 'Events', description: 'For InstaView’s own systems: publish an event to deliver' },
      { name: 'Service', description: 'This document, the reference page, liveness' },
    ],
    paths,
    components: {
      securitySchemes: {
        ApiKey: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'sk_ followed by 43 characters',
          description: 'An API key; each route names the scope it needs (write:webhooks or read:webhooks)',
        },
        PublishToken: {
          type: 'http',
          scheme: 'bearer',
          description: 'The operator token (EVENTS_PUBLISH_TOKEN) with which InstaView’s own systems publish events',
        },
      },
      schemas: {
        ...components,
        ErrorCode: { type: 'string', enum: codes },
        ErrorEnvelope: errorEnvelope(codes),
      },
    },
  };
}
